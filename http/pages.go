package http

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// The pages are server-rendered HTML: they work without JavaScript, on a
// 360 px phone, in Japanese and English. The templates and the one style
// sheet and script are embedded, so the binary is still the whole install
// and no page loads anything from another host.

//go:embed templates/*.html
var pageTemplateFS embed.FS

//go:embed static
var pageStaticFS embed.FS

// Cookie names: the payer's phone, the shop terminal and the admin log in
// separately, so one browser can play every part of the demo in tabs.
const (
	appCookie   = "renkei_app"
	shopCookie  = "renkei_shop"
	adminCookie = "renkei_admin"
)

// Page areas: the user terminal, the shop terminal and the admin pages.
const (
	areaApp   = "app"
	areaShop  = "shop"
	areaAdmin = "admin"
)

// areaLogin is how an area logs in: its cookie and the kind of token it
// admits.
type areaLogin struct {
	cookie, kind string
}

var areaLogins = map[string]areaLogin{
	areaApp:     {appCookie, renkei.KindUser},
	areaShop:    {shopCookie, renkei.KindTerminal},
	areaAdmin:   {adminCookie, renkei.KindAdmin},
	areaPartner: {partnerCookie, renkei.KindPartner},
}

// cookiePath scopes a login cookie: the admin key is sent only to the
// admin pages, never to the wallet or the shop.
func cookiePath(name string) string {
	switch name {
	case adminCookie:
		return "/admin"
	case partnerCookie:
		return partnerPath
	}
	return "/"
}

// pageCSP allows only this origin's style sheet and script; the QR codes
// are inline SVG, so no image source is needed.
const pageCSP = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"media-src 'self' blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageStatic is the embedded static folder and pageStaticVersion a hash of
// it, so asset URLs change when their content does and can be cached.
var (
	pageStatic, _      = fs.Sub(pageStaticFS, "static")
	pageStaticVersion  = pageHashAssets(pageStatic)
	pageTemplates      = parsePageTemplates()
	pageCrossOrigin    = http.NewCrossOriginProtection()
	pageTokyo          = mustZone("Asia/Tokyo")
	errPageFormExpired = errors.New("form expired")
)

// mustZone loads a zone the binary needs; cmd/renkei embeds the zone
// database (time/tzdata), so this holds on any host.
func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.FixedZone("JST", 9*60*60) // Japan has no daylight saving time
	}
	return loc
}

// defaultZone is where pages show times for anyone without a choice.
func (s *Server) defaultZone() *time.Location {
	if s.TimeZone != nil {
		return s.TimeZone
	}
	return pageTokyo
}

// userZone is where a user's pages show times: their choice, else the
// server's default.
func (s *Server) userZone(u *renkei.User) *time.Location {
	if u != nil && u.TimeZone != "" {
		if loc, err := time.LoadLocation(u.TimeZone); err == nil {
			return loc
		}
	}
	return s.defaultZone()
}

func pageHashAssets(fsys fs.FS) string {
	h := sha256.New()
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(fsys, p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// parsePageTemplates parses each page together with the layout. A broken
// template fails at start-up (and in every test), not on a customer's
// phone.
func parsePageTemplates() map[string]*template.Template {
	funcs := template.FuncMap{
		"static": func(name string) string { return "/static/" + name + "?v=" + pageStaticVersion },
		"facts": func(v *pageView, p *renkei.Payment) map[string]any {
			return map[string]any{"V": v, "P": p}
		},
		"has": slices.Contains[[]string],
		// copyOf is the data of a copy button for the field with this id.
		"copyOf": func(v *pageView, id string) map[string]any { return map[string]any{"V": v, "ID": id} },
		// initial is the first letter of a name, for an app without an icon.
		"initial": func(name string) string {
			for _, r := range name {
				return string(r)
			}
			return ""
		},
	}
	pages, err := fs.Glob(pageTemplateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(path.Base(p), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(pageTemplateFS, "templates/layout.html", p))
	}
	return out
}

// pageView is what every template gets: the language, the frame of the
// page and the page's own Data.
type pageView struct {
	L        lang
	Title    string
	Area     string // app or shop
	Nav      string // the current navigation item
	MainID   string // the id of <main>; the completion screen's is "completion"
	LoggedIn bool
	Who      string // the user's or the merchant's name
	Demo     bool
	LangURL  string
	Notice   string
	Error    string
	// Refresh reloads the page every so many seconds where scripts do not
	// run (the shop's QR page waiting for the customer).
	Refresh int
	Data    any
	// Zone is where this page shows times, the same in both languages:
	// the user's own zone on their pages, the server's default elsewhere.
	Zone *time.Location
}

// Money formats an amount of minor units in a currency.
func (v *pageView) Money(amount int64, currency string) string { return formatMoney(amount, currency) }

// Signed formats a history entry: + for money in, a minus sign for out.
func (v *pageView) Signed(m renkei.Money) string {
	if m.Amount > 0 {
		return "+" + formatMoney(m.Amount, m.Currency)
	}
	return formatMoney(m.Amount, m.Currency)
}

// Time shows a time to a person in the page's zone (zone), the same
// whatever the language, with the zone named.
func (v *pageView) Time(t time.Time) string {
	if v.L == langJA {
		return t.In(v.zone()).Format("2006年1月2日 15:04:05 MST")
	}
	return t.In(v.zone()).Format("2 Jan 2006, 15:04:05 MST")
}

// ShortTime is Time without the date and the seconds, for lists.
func (v *pageView) ShortTime(t time.Time) string {
	if v.L == langJA {
		return t.In(v.zone()).Format("1/2 15:04")
	}
	return t.In(v.zone()).Format("2 Jan 15:04")
}

// ZoneName names the page's zone for a person: its abbreviation now and
// its IANA name (JST, Asia/Tokyo).
func (v *pageView) ZoneName() string {
	z := v.zone()
	abbr, _ := time.Now().In(z).Zone()
	if abbr == z.String() {
		return abbr
	}
	return abbr + ", " + z.String()
}

// FailureText says why a recorded payment failed, to the payer on the
// user terminal and to the cashier on the shop terminal.
func (v *pageView) FailureText(p *renkei.Payment) string {
	if v.Area == areaApp {
		if m, ok := payerFailures[p.FailureCode]; ok {
			if v.L == langJA {
				return m[1]
			}
			return m[0]
		}
	}
	return v.L.ErrorText(&renkei.Error{Code: renkei.EDECLINED, Reason: p.FailureCode, Message: p.FailureMessage}, sideShop)
}

// ISO is the machine-readable time of a <time> element.
func (v *pageView) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// pageCurrencySymbols are the signs shown before an amount; other currencies
// show their ISO code.
var pageCurrencySymbols = map[string]string{"JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "KRW": "₩", "CNY": "CN¥"}

// formatMoney writes minor units as a person reads them: ¥1,280, $12.50,
// with a minus sign for negative amounts.
func formatMoney(amount int64, currency string) string {
	digits, ok := renkei.CurrencyInfo(currency)
	if !ok {
		digits = 0
	}
	neg := amount < 0
	u := uint64(amount)
	if neg {
		u = uint64(-amount)
	}
	var scale uint64 = 1
	for range digits {
		scale *= 10
	}
	major := strconv.FormatUint(u/scale, 10)
	var b strings.Builder
	if neg {
		b.WriteString("−")
	}
	if sym, ok := pageCurrencySymbols[currency]; ok {
		b.WriteString(sym)
	} else {
		b.WriteString(currency + " ")
	}
	for i, c := range major {
		if i > 0 && (len(major)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if digits > 0 {
		fmt.Fprintf(&b, ".%0*d", digits, u%scale)
	}
	return b.String()
}

func (s *Server) registerPages(mux *http.ServeMux) {
	static := http.StripPrefix("/static/", http.FileServerFS(pageStatic))
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.pageNotFound(w, r, "")
			return
		}
		if r.URL.Query().Get("v") == pageStaticVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		static.ServeHTTP(w, r)
	})

	// The start page: where the areas are, for whoever opens the bare
	// address the server prints.
	mux.HandleFunc("GET /{$}", s.pageHome)

	// The user terminal: the payer's phone.
	mux.HandleFunc("GET /app/login", s.pageLogin(areaApp))
	mux.HandleFunc("POST /app/login", s.pageLogin(areaApp))
	mux.HandleFunc("/app/logout", s.pageLogout(areaApp))
	mux.HandleFunc("GET /app", s.appPage(s.appWallet))
	mux.HandleFunc("GET /app/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/app", http.StatusMovedPermanently)
	})
	mux.HandleFunc("POST /app/topup", s.appPage(s.appTopUp))
	mux.HandleFunc("POST /app/time_zone", s.appPage(s.appTimeZone))
	mux.HandleFunc("GET /app/pay", s.appPage(s.appPay))
	mux.HandleFunc("GET /app/pay/poll", s.appPoll(s.appPayPoll))
	mux.HandleFunc("GET /app/scan", s.appPage(s.appScan))
	mux.HandleFunc("GET /app/confirm", s.appPage(s.appConfirm))
	mux.HandleFunc("POST /app/confirm", s.appPage(s.appConfirmPay))
	mux.HandleFunc("GET /app/payments", s.appPage(s.appPayments))
	mux.HandleFunc("GET /app/payments/{id}", s.appPage(s.appCompletion))
	mux.HandleFunc("POST /app/payments/{id}/select", s.appPage(s.appSelect))
	mux.HandleFunc("GET /app/payments/{id}/cards", s.appPoll(s.appCards))
	mux.HandleFunc("POST /app/payments/{id}/memo", s.appPage(s.appNote))
	mux.HandleFunc("POST /app/payments/{id}/dismiss", s.appPage(s.appDismiss))
	mux.HandleFunc("GET /app/links", s.appPage(s.appLinks))
	mux.HandleFunc("POST /app/links", s.appPage(s.appLink))
	mux.HandleFunc("POST /app/links/{id}", s.appPage(s.appLinkChange))
	mux.HandleFunc("POST /app/links/{id}/revoke", s.appPage(s.appUnlink))
	mux.HandleFunc("GET /app/privacy", s.appPage(s.appPrivacy))
	mux.HandleFunc("GET /app/privacy/receipts/{id}", s.appPage(s.appReceipt))

	// The shop terminal: the merchant's point of sale.
	mux.HandleFunc("GET /shop/login", s.pageLogin(areaShop))
	mux.HandleFunc("POST /shop/login", s.pageLogin(areaShop))
	mux.HandleFunc("/shop/logout", s.pageLogout(areaShop))
	mux.HandleFunc("GET /shop", s.shopPage(s.shopCharge))
	mux.HandleFunc("GET /shop/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/shop", http.StatusMovedPermanently)
	})
	mux.HandleFunc("POST /shop/charge", s.shopPage(s.shopChargePost))
	mux.HandleFunc("GET /shop/qr", s.shopPage(s.shopQR))
	mux.HandleFunc("POST /shop/qr", s.shopPage(s.shopQRPost))
	mux.HandleFunc("GET /shop/qr/{id}", s.shopPage(s.shopQRStatus))
	mux.HandleFunc("GET /shop/qr/{id}/status", s.shopPoll(s.shopQRStatusJSON))
	mux.HandleFunc("GET /shop/payments", s.shopPage(s.shopPayments))
	mux.HandleFunc("GET /shop/payments/{id}", s.shopPage(s.shopPayment))
	mux.HandleFunc("POST /shop/refund", s.shopPage(s.shopRefund))

	// The admin pages: related services and their messages.
	s.registerAdminPages(mux)

	// The partner pages: a related service's settings and its messages.
	s.registerPartnerPages(mux)

	// Anything else under the pages is a page too, not problem+json.
	mux.HandleFunc("/app/", func(w http.ResponseWriter, r *http.Request) { s.pageNotFound(w, r, areaApp) })
	mux.HandleFunc("/shop/", func(w http.ResponseWriter, r *http.Request) { s.pageNotFound(w, r, areaShop) })
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) { s.pageNotFound(w, r, areaAdmin) })
	mux.HandleFunc("/partner/", func(w http.ResponseWriter, r *http.Request) { s.pageNotFound(w, r, areaPartner) })
}

// pageReq is one page request after the checks common to all pages.
type pageReq struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	view *pageView
	p    *renkei.Principal // nil on the login pages
}

// pageStart applies what every page does first: remember a ?lang= choice,
// refuse cross-site form posts, and forbid caching of pages that show
// balances and payments.
func (s *Server) pageStart(w http.ResponseWriter, r *http.Request, area string) (*pageReq, bool) {
	l := pageLang(r)
	if q := r.URL.Query().Get("lang"); q != "" {
		if _, ok := parseLang(q); ok {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, Secure: s.isHTTPS(r), SameSite: http.SameSiteLaxMode})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", pageCSP)
	pr := &pageReq{w: w, r: r, ctx: r.Context(), view: &pageView{L: l, Area: area, Demo: s.Demo, MainID: "main", Zone: s.defaultZone()}}
	pr.view.LangURL = langSwitchURL(r, area, l.Other())
	if err := pageCrossOrigin.Check(r); err != nil {
		s.renderPage(pr, http.StatusForbidden, "error", l.T("err.title"), map[string]string{"Message": l.T("err.crosssite")})
		return nil, false
	}
	// Text that is not text never reaches a handler (see text.go).
	if f := pageTextFault(r); f != "" {
		msg := l.T("err.text", f)
		if f == "path" {
			msg = l.T("err.text.path")
		}
		s.renderPage(pr, http.StatusUnprocessableEntity, "error", l.T("err.title"), map[string]string{"Message": msg})
		return nil, false
	}
	return pr, true
}

// langSwitchURL is this page in the other language. After a form post it
// is the area's home, since the post cannot be repeated by a link.
func langSwitchURL(r *http.Request, area string, to lang) string {
	if r.Method != http.MethodGet {
		return "/" + area + "?lang=" + string(to)
	}
	q := r.URL.Query()
	q.Set("lang", string(to))
	return r.URL.Path + "?" + q.Encode()
}

// pageHandler is a page of a logged-in user or terminal.
type pageHandler func(pr *pageReq)

// appPage admits only a logged-in wallet user; anyone else goes to the
// login page and comes back after.
func (s *Server) appPage(h pageHandler) http.HandlerFunc {
	return s.authedPage(areaApp, appCookie, renkei.KindUser, false, h)
}

// shopPage admits only a logged-in shop terminal.
func (s *Server) shopPage(h pageHandler) http.HandlerFunc {
	return s.authedPage(areaShop, shopCookie, renkei.KindTerminal, false, h)
}

// appPoll and shopPoll are the small JSON answers the pages' script asks
// for; without a login they answer 401 rather than a login page.
func (s *Server) appPoll(h pageHandler) http.HandlerFunc {
	return s.authedPage(areaApp, appCookie, renkei.KindUser, true, h)
}

func (s *Server) shopPoll(h pageHandler) http.HandlerFunc {
	return s.authedPage(areaShop, shopCookie, renkei.KindTerminal, true, h)
}

func (s *Server) authedPage(area, cookie, kind string, poll bool, h pageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pr, ok := s.pageStart(w, r, area)
		if !ok {
			return
		}
		p, err := s.pageAuth(r, cookie, kind)
		if err != nil {
			if c := renkei.ErrorCode(err); (c == renkei.EUNAUTHORIZED || c == renkei.EFORBIDDEN) && hasCookie(r, cookie) {
				s.clearAuthCookie(w, r, cookie) // stale, revoked or of the other kind: forget it
			}
			switch {
			case poll:
				w.WriteHeader(http.StatusUnauthorized)
			case r.Method == http.MethodGet:
				http.Redirect(w, r, "/"+area+"/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			default:
				// A form posted after the login lapsed cannot be replayed
				// through the login page: start again from the area's home.
				http.Redirect(w, r, "/"+area+"/login", http.StatusSeeOther)
			}
			return
		}
		pr.p = p
		pr.view.LoggedIn = true
		pr.ctx = renkei.NewContextWithPrincipal(r.Context(), p)
		if p.Kind == renkei.KindUser {
			if u, err := s.Services.FindUser(pr.ctx, p.ID); err == nil {
				pr.view.Who, pr.view.Zone = u.Name, s.userZone(u)
			}
		}
		h(pr)
	}
}

// pageAuth authenticates the token sealed in a login cookie. Bad tokens count
// against the same budgets as bad API tokens, so cookies are no way around
// them.
func (s *Server) pageAuth(r *http.Request, cookie, kind string) (*renkei.Principal, error) {
	c, err := r.Cookie(cookie)
	if err != nil || c.Value == "" {
		return nil, renkei.Errorf(renkei.EUNAUTHORIZED, "Not logged in.")
	}
	l, ok := s.openLogin(cookie, c.Value, s.Now())
	if !ok {
		// Expired, from before a restart with another key, or not ours.
		// Nothing is looked up, so it costs no budget of bad tokens.
		return nil, renkei.Errorf(renkei.EUNAUTHORIZED, "The login has expired.")
	}
	if ended, err := s.Services.LoginEnded(r.Context(), l.id); err != nil {
		return nil, err
	} else if ended {
		return nil, renkei.Errorf(renkei.EUNAUTHORIZED, "This login was ended by logging out.")
	}
	p, err := s.checkToken(r, l.token)
	if err != nil {
		return nil, err
	}
	if p.Kind != kind {
		return nil, renkei.Errorf(renkei.EFORBIDDEN, "Wrong kind of token.")
	}
	return p, nil
}

func hasCookie(r *http.Request, name string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value != ""
}

// safeNext keeps a post-login destination only if it is a page of the
// same area on this host.
func safeNext(next, area string) string {
	prefix := "/" + area
	if next == prefix || strings.HasPrefix(next, prefix+"/") || strings.HasPrefix(next, prefix+"?") {
		if !strings.ContainsAny(next, "\\\r\n") && !strings.HasPrefix(next, prefix+"/login") && !strings.HasPrefix(next, prefix+"/logout") {
			return next
		}
	}
	return prefix
}

// loginData is the login page of either area.
type loginData struct {
	Action string
	Next   string
	Help   string
	Demos  []demoButton
}

type demoButton struct {
	Index int
	Name  string
}

// pageLogin shows and handles the login form. Demo buttons send the index
// of a demo login, not its token: the token never appears in the page.
func (s *Server) pageLogin(area string) http.HandlerFunc {
	cookie, kind := areaLogins[area].cookie, areaLogins[area].kind
	return func(w http.ResponseWriter, r *http.Request) {
		pr, ok := s.pageStart(w, r, area)
		if !ok {
			return
		}
		l := pr.view.L
		d := &loginData{Action: "/" + area + "/login", Next: safeNext(r.FormValue("next"), area), Help: l.T("login.help." + area)}
		if s.Demo {
			for i, dl := range s.DemoLogins {
				if dl.Kind == kind {
					d.Demos = append(d.Demos, demoButton{Index: i, Name: dl.Name})
				}
			}
		}
		title := l.T("login.title." + area)
		if r.Method == http.MethodGet {
			if _, err := s.pageAuth(r, cookie, kind); err == nil {
				http.Redirect(w, r, d.Next, http.StatusSeeOther)
				return
			}
			if r.URL.Query().Get("out") == "1" {
				pr.view.Notice = l.T("login.loggedout")
			}
			s.renderPage(pr, http.StatusOK, "login", title, d)
			return
		}

		token := strings.TrimSpace(r.PostFormValue("token"))
		if v := r.PostFormValue("demo"); v != "" && s.Demo {
			i, err := strconv.Atoi(v)
			if err == nil && i >= 0 && i < len(s.DemoLogins) && s.DemoLogins[i].Kind == kind {
				token = s.DemoLogins[i].Token
			}
		}
		p, err := s.checkToken(r, token)
		switch {
		case renkei.ErrorCode(err) == renkei.ERATELIMIT:
			pr.view.Error = l.T("login.ratelimited")
			s.renderPage(pr, http.StatusTooManyRequests, "login", title, d)
			return
		case renkei.ErrorCode(err) == renkei.EUNAUTHORIZED:
			pr.view.Error = l.T("login.bad")
			s.renderPage(pr, http.StatusUnauthorized, "login", title, d)
			return
		case err != nil: // logged by checkToken
			pr.view.Error = l.T("err.internal")
			s.renderPage(pr, http.StatusInternalServerError, "login", title, d)
			return
		case p.Kind != kind:
			pr.view.Error = l.T("login.kind." + area)
			s.renderPage(pr, http.StatusForbidden, "login", title, d)
			return
		}
		s.setAuthCookie(w, r, cookie, token)
		http.Redirect(w, r, d.Next, http.StatusSeeOther)
	}
}

// pageLogout forgets the login. It answers GET too, so a bookmarked or
// typed /app/logout works; the cookie is only ever cleared by it.
func (s *Server) pageLogout(area string) http.HandlerFunc {
	cookie := areaLogins[area].cookie
	return func(w http.ResponseWriter, r *http.Request) {
		pr, ok := s.pageStart(w, r, area)
		if !ok {
			return
		}
		// End the login for good, not only in this browser: a copy of
		// the cookie is refused from now on.
		if c, err := r.Cookie(cookie); err == nil && c.Value != "" {
			if l, ok := s.openLogin(cookie, c.Value, s.Now()); ok {
				if err := s.Services.EndLogin(r.Context(), l.id, l.expires); err != nil {
					s.pageFail(pr, err) // still logged in: say so rather than pretend
					return
				}
			}
		}
		s.clearAuthCookie(w, r, cookie)
		http.Redirect(w, r, "/"+area+"/login?out=1", http.StatusSeeOther)
	}
}

// renderPage writes a page. It renders into a buffer first, so a template
// error becomes a clean 500 instead of half a page.
func (s *Server) renderPage(pr *pageReq, status int, name, title string, data any) {
	t, ok := pageTemplates[name]
	if !ok {
		panic("renkei: no page template " + name)
	}
	pr.view.Title = title
	pr.view.Data = data
	if pr.p != nil && pr.view.Who == "" {
		pr.view.Who = s.pageWho(pr)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", pr.view); err != nil {
		s.Log.ErrorContext(pr.ctx, "render page", "page", name, "err", err)
		http.Error(pr.w, pr.view.L.T("err.internal"), http.StatusInternalServerError)
		return
	}
	h := pr.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", string(pr.view.L))
	h.Set("Vary", "Accept-Language, Cookie")
	pr.w.WriteHeader(status)
	pr.w.Write(buf.Bytes())
}

// pageWho names who is logged in, for the page's header: the user, or the
// terminal's merchant.
func (s *Server) pageWho(pr *pageReq) string {
	switch pr.p.Kind {
	case renkei.KindUser:
		if u, err := s.Services.FindUser(pr.ctx, pr.p.ID); err == nil {
			return u.Name
		}
	case renkei.KindTerminal:
		if m, err := s.Services.FindMerchant(pr.ctx, pr.p.MerchantID); err == nil {
			return m.Name
		}
	case renkei.KindAdmin:
		return pr.view.L.T("admin.who")
	}
	return ""
}

// pageNotFound is the 404 of the pages: a page, not problem+json, and the
// same for a missing object and for someone else's.
func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request, area string) {
	pr := &pageReq{w: w, r: r, ctx: r.Context(), view: &pageView{L: pageLang(r), Area: area, Demo: s.Demo, MainID: "main", Zone: s.defaultZone()}}
	pr.view.LangURL = langSwitchURL(r, area, pr.view.L.Other())
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Cache-Control", "no-store")
	s.renderPage(pr, http.StatusNotFound, "error", pr.view.L.T("err.notfound"),
		map[string]string{"Message": pr.view.L.T("err.notfound.body")})
}

// pageHome is the start page: links to the wallet, the shop terminal,
// the admin pages and the API reference.
func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) {
	pr, ok := s.pageStart(w, r, "")
	if !ok {
		return
	}
	s.renderPage(pr, http.StatusOK, "home", pr.view.L.T("home.title"), nil)
}

func (pr *pageReq) notFound(s *Server) {
	pr.view.LoggedIn = pr.p != nil
	s.renderPage(pr, http.StatusNotFound, "error", pr.view.L.T("err.notfound"),
		map[string]string{"Message": pr.view.L.T("err.notfound.body")})
}

// errStatus is the HTTP status of a domain error on a page; internal
// errors are logged here, once.
func (s *Server) errStatus(ctx context.Context, err error) int {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return 499 // the client went away; nothing of ours failed
	}
	code := renkei.ErrorCode(err)
	if code == renkei.EINTERNAL {
		s.Log.ErrorContext(ctx, "page: internal error", "err", err)
	}
	if st, ok := statuses[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// newFormKey is the hidden Idempotency-Key of a money-moving form: made
// when the form is shown, so a double tap or a reload of the post replays
// the first result instead of moving money twice.
func newFormKey() string { return renkei.RandomToken(rand.Reader, "pg_", 20) }

// formKey reads a form's idempotency key. A form without one did not come
// from our page (or is too old to say); it is refused rather than run
// without protection.
func formKey(r *http.Request) (string, error) {
	k := r.PostFormValue("idempotency_key")
	if k == "" || len(k) > 255 {
		return "", errPageFormExpired
	}
	return k, nil
}

// parseYen reads an amount typed at a terminal: whole yen, commas, a yen
// sign and full-width digits tolerated (a Japanese keyboard types those),
// as the help text under every amount field says. The message key says
// what is wrong: "" when the amount is good, err.amount.large above
// renkei.MaxAmount, err.amount for anything else.
func parseYen(s string) (int64, string) {
	n, ok := parseYenDigits(s)
	switch {
	case ok && n > renkei.MaxAmount:
		return 0, "err.amount.large"
	case !ok || n <= 0:
		return 0, "err.amount"
	}
	return n, ""
}

// parseYenDigits reads the digits of an amount; an amount too long for
// int64 is too large, not malformed.
func parseYenDigits(s string) (int64, bool) {
	var b strings.Builder
	for _, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= '０' && c <= '９':
			b.WriteRune('0' + (c - '０'))
		case c == ',' || c == '，' || c == '¥' || c == '￥' || c == '円' || c == ' ':
		default:
			return 0, false
		}
	}
	n, err := strconv.ParseInt(b.String(), 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return renkei.MaxAmount + 1, true
	} else if err != nil {
		return 0, false
	}
	return n, true
}

// writePageJSON answers the small status calls of the pages' script.
func writePageJSON(w http.ResponseWriter, v any) { writePageJSONStatus(w, http.StatusOK, v) }

// writePageJSONStatus is writePageJSON with a status: the cards' script
// reads the sentence of a refused tap from a 4xx answer.
func writePageJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// qrSVG renders a QR code for a page, named by label for screen readers
// in the page's language. The SVG comes from our own encoder, so it is
// trusted HTML; the label is escaped into it here.
func (s *Server) qrSVG(ctx context.Context, text string, size int, label string) template.HTML {
	if s.QRSVG == nil || text == "" {
		return ""
	}
	svg, err := s.QRSVG(text, size)
	if err != nil {
		s.Log.ErrorContext(ctx, "render QR code", "err", err)
		return ""
	}
	svg = strings.Replace(svg, `aria-label="QR code"`, `aria-label="`+template.HTMLEscapeString(label)+`"`, 1)
	return template.HTML(svg)
}
