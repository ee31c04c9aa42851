package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// The admin pages: register and edit related services, upload their
// icons, watch their endpoints' health and rotate their signing secrets,
// and read and resend the messages queued for them. The admin logs in
// with the admin key into a cookie of its own, sent only to /admin.

func (s *Server) registerAdminPages(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/login", s.pageLogin(areaAdmin))
	mux.HandleFunc("POST /admin/login", s.pageLogin(areaAdmin))
	mux.HandleFunc("/admin/logout", s.pageLogout(areaAdmin))
	mux.HandleFunc("GET /admin", s.adminPage(s.adminServices))
	mux.HandleFunc("GET /admin/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /admin/services/new", s.adminPage(s.adminNewService))
	mux.HandleFunc("POST /admin/services/new", s.adminPage(s.adminCreateService))
	mux.HandleFunc("GET /admin/services/{id}", s.adminPage(s.adminEditService))
	mux.HandleFunc("POST /admin/services/{id}", s.adminPage(s.adminUpdateService))
	mux.HandleFunc("POST /admin/services/{id}/icon", s.adminPage(s.adminUploadIcon))
	mux.HandleFunc("POST /admin/services/{id}/rotate_secret", s.adminPage(s.adminRotateSecret))
	mux.HandleFunc("POST /admin/services/{id}/delete", s.adminPage(s.adminDeleteService))
	mux.HandleFunc("GET /admin/services/{id}/provisions", s.adminPage(s.adminProvisions))
	mux.HandleFunc("GET /admin/deliveries", s.adminPage(s.adminDeliveries))
	mux.HandleFunc("POST /admin/deliveries/replay", s.adminPage(func(pr *pageReq) { s.replaySince(pr, adminMessages) }))
	mux.HandleFunc("GET /admin/deliveries/{id}", s.adminPage(func(pr *pageReq) { s.deliveryPage(pr, adminMessages) }))
	mux.HandleFunc("POST /admin/deliveries/{id}/replay", s.adminPage(func(pr *pageReq) { s.replayOne(pr, adminMessages) }))
}

// adminMessages is the admin's view of messages: every service's.
var adminMessages = deliveryScope{base: "/admin/deliveries"}

// adminPage admits only the admin key.
func (s *Server) adminPage(h pageHandler) http.HandlerFunc {
	return s.authedPage(areaAdmin, adminCookie, renkei.KindAdmin, false, h)
}

// merchantCategories are the merchant categories a service can be about,
// derived from the domain's table of merchant category codes so the two
// never disagree.
var merchantCategories = func() []string {
	seen := map[string]bool{}
	var out []string
	for i := range 10000 {
		if c, ok := renkei.MCCCategory(fmt.Sprintf("%04d", i)); ok && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}()

// appCategories are suggested for a service's app category; others may
// be typed.
var appCategories = []string{"household_budget", "expenses", "points", "savings", "investment"}

// adminServicesData is the list of related services.
type adminServicesData struct {
	Services []*renkei.RelatedService
	Older    string
}

func (s *Server) adminServices(pr *pageReq) {
	svcs, more, err := s.Services.ListRelatedServices(pr.ctx, renkei.Page{Limit: 50, StartingAfter: pr.r.URL.Query().Get("after")})
	if err != nil {
		s.pageFail(pr, err)
		return
	}
	d := &adminServicesData{Services: svcs}
	if id := pr.r.URL.Query().Get("deleted"); id != "" {
		if rs, err := s.Services.FindRelatedService(pr.ctx, id); err == nil && rs.DeletedAt != nil {
			pr.view.Notice = pr.view.L.T("admin.deleted", rs.Name)
		}
	}
	if more && len(svcs) > 0 {
		d.Older = "/admin?after=" + url.QueryEscape(svcs[len(svcs)-1].ID)
	}
	pr.view.Nav = "services"
	s.renderPage(pr, http.StatusOK, "admin_services", pr.view.L.T("admin.services.title"), d)
}

// serviceForm is the form of a related service, as typed: numbers stay
// text, so a mistyped one comes back as it was.
type serviceForm struct {
	ID          string // empty for a new service
	Action      string
	Name        string
	DescJA      string
	DescEN      string
	AppURL      string
	AppCategory string
	WebhookURL  string
	Scopes      []string
	Memo        bool
	MemoMax     string
	Categories  string
	Base        string
	Floor       string
	Ceiling     string
	Merchant    []string
	Statement   bool
	Enabled     bool
	IconURL     string
	// APIKey is the partner's key, shown once, right after creation.
	APIKey string
	// Secret is the endpoint's signing secret, shown once: after creation
	// or a rotation. OldUntil is when a rotated-out secret stops signing.
	Secret   string
	OldUntil time.Time
	// Service is the service as stored, for its endpoint's health; nil on
	// the form of a new one.
	Service *renkei.RelatedService
	// RotateKey is the idempotency key of the rotate-secret form.
	RotateKey string
	// CreateKey is the idempotency key of the new-service form: a reload
	// or a second tap of "Register" registers one service, not two.
	CreateKey string
	// Invalid names the field at fault, for aria-invalid.
	Invalid string
	// Lists to choose from.
	AllScopes          []string
	MerchantCategories []string
	AppCategories      []string
}

func newServiceForm() *serviceForm {
	return &serviceForm{AllScopes: renkei.AllScopes, MerchantCategories: merchantCategories, AppCategories: appCategories}
}

// formOf fills the form with a service's settings.
func formOf(rs *renkei.RelatedService) *serviceForm {
	f := newServiceForm()
	f.ID, f.Action = rs.ID, "/admin/services/"+rs.ID
	f.Name, f.DescJA, f.DescEN, f.AppURL = rs.Name, rs.Description.JA, rs.Description.EN, rs.AppURL
	f.AppCategory, f.WebhookURL, f.Scopes = rs.AppCategory, rs.WebhookURL, rs.Scopes
	f.Memo, f.MemoMax = rs.Input.Memo, strconv.Itoa(rs.Input.MemoMaxLen)
	f.Categories = joinCategories(rs.Input)
	yen := func(m map[string]int64) string {
		if v, ok := m[renkei.DefaultCurrency]; ok {
			return strconv.FormatInt(v, 10)
		}
		return ""
	}
	f.Base, f.Floor, f.Ceiling = yen(rs.Policy.BaseThreshold), yen(rs.Policy.Floor), yen(rs.Policy.Ceiling)
	f.Merchant, f.Statement, f.Enabled, f.IconURL = rs.Policy.MerchantCategories, rs.Policy.WantsStatement, rs.Enabled, rs.IconURL
	f.Service = rs
	return f
}

// parseServiceForm reads the posted form. old is the service being
// edited (nil for a new one): thresholds in currencies the form does not
// show are kept.
func parseServiceForm(l lang, r *http.Request, old *renkei.RelatedService) (*serviceForm, renkei.RelatedServiceInput, error) {
	r.ParseForm()
	f := newServiceForm()
	v := r.PostForm
	f.Name, f.DescJA, f.DescEN = strings.TrimSpace(v.Get("name")), strings.TrimSpace(v.Get("description_ja")), strings.TrimSpace(v.Get("description_en"))
	f.AppURL, f.AppCategory, f.WebhookURL = strings.TrimSpace(v.Get("app_url")), strings.TrimSpace(v.Get("app_category")), strings.TrimSpace(v.Get("webhook_url"))
	f.Scopes, f.Merchant = v["scopes"], v["merchant_categories"]
	f.Memo, f.MemoMax = v.Get("memo") != "", strings.TrimSpace(v.Get("memo_max_length"))
	f.Categories = v.Get("categories")
	f.Base, f.Floor, f.Ceiling = strings.TrimSpace(v.Get("base_threshold")), strings.TrimSpace(v.Get("floor")), strings.TrimSpace(v.Get("ceiling"))
	f.Statement, f.Enabled = v.Get("wants_statement") != "", v.Get("enabled") != ""

	in := renkei.RelatedServiceInput{Name: f.Name, Description: renkei.Localized{JA: f.DescJA, EN: f.DescEN},
		AppURL: f.AppURL, AppCategory: f.AppCategory, WebhookURL: f.WebhookURL, Scopes: f.Scopes,
		Input:  categoriesOf(f.Memo, f.Categories),
		Policy: renkei.ServicePolicy{MerchantCategories: f.Merchant, WantsStatement: f.Statement}, Enabled: f.Enabled}
	if in.AppCategory == "" {
		f.Invalid = "app_category"
		return f, in, renkei.Invalid("body.app_category", "%s", l.T("admin.err.appcategory"))
	}
	if f.MemoMax != "" {
		n, err := strconv.Atoi(f.MemoMax)
		if err != nil {
			f.Invalid = "memo_max_length"
			return f, in, renkei.Invalid("body.input.memo_max_length", "%s", l.T("admin.err.number", l.T("admin.f.memomax")))
		}
		in.Input.MemoMaxLen = n
	}
	copyMap := func(m map[string]int64) map[string]int64 {
		out := map[string]int64{}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	if old != nil {
		in.Policy.BaseThreshold, in.Policy.Floor, in.Policy.Ceiling = copyMap(old.Policy.BaseThreshold), copyMap(old.Policy.Floor), copyMap(old.Policy.Ceiling)
	} else {
		in.Policy.BaseThreshold, in.Policy.Floor, in.Policy.Ceiling = map[string]int64{}, map[string]int64{}, map[string]int64{}
	}
	for _, t := range []struct {
		field, label, text string
		into               map[string]int64
		required           bool
	}{
		{"base_threshold", "admin.f.base", f.Base, in.Policy.BaseThreshold, true},
		{"floor", "admin.f.floor", f.Floor, in.Policy.Floor, false},
		{"ceiling", "admin.f.ceiling", f.Ceiling, in.Policy.Ceiling, false},
	} {
		if t.text == "" && !t.required {
			delete(t.into, renkei.DefaultCurrency)
			continue
		}
		n, msg := wholeYen(t.text)
		if msg == "err.amount.large" {
			f.Invalid = t.field
			e := renkei.TooLarge("body.policy." + t.field)
			e.Message = l.T(msg)
			return f, in, e
		} else if msg != "" {
			f.Invalid = t.field
			return f, in, renkei.Invalid("body.policy."+t.field, "%s", l.T("admin.err.number", l.T(t.label)))
		}
		t.into[renkei.DefaultCurrency] = n
	}
	fl, hasFloor := in.Policy.Floor[renkei.DefaultCurrency]
	cl, hasCeiling := in.Policy.Ceiling[renkei.DefaultCurrency]
	if hasFloor && hasCeiling && fl > cl {
		f.Invalid = "floor"
		return f, in, renkei.Invalid("body.policy.floor", "%s", l.T("admin.err.floorceiling"))
	}
	if len(in.Policy.Floor) == 0 {
		in.Policy.Floor = nil
	}
	if len(in.Policy.Ceiling) == 0 {
		in.Policy.Ceiling = nil
	}
	return f, in, nil
}

// wholeYen reads a threshold in yen: zero is allowed (always propose).
func wholeYen(s string) (int64, string) {
	if t := strings.TrimSpace(s); t == "0" || t == "０" {
		return 0, ""
	}
	return parseYen(s)
}

// splitCategories reads a comma-separated list, Japanese commas too.
func splitCategories(s string) []string {
	var out []string
	for _, c := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '、' || r == '，' || r == '\n' }) {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// categoriesOf reads the categories field: "code" or "code=日本語/English"
// items, so the admin names each category in both page languages while
// the partner keeps receiving the code.
func categoriesOf(memo bool, text string) renkei.InputFields {
	in := renkei.InputFields{Memo: memo}
	for _, item := range splitCategories(text) {
		code, label, hasLabel := strings.Cut(item, "=")
		code = strings.TrimSpace(code)
		if code == "" || slices.Contains(in.Categories, code) {
			continue
		}
		in.Categories = append(in.Categories, code)
		if hasLabel {
			ja, en, _ := strings.Cut(label, "/")
			if l := (renkei.Localized{JA: strings.TrimSpace(ja), EN: strings.TrimSpace(en)}); l != (renkei.Localized{}) {
				if in.CategoryLabels == nil {
					in.CategoryLabels = map[string]renkei.Localized{}
				}
				in.CategoryLabels[code] = l
			}
		}
	}
	return in
}

// joinCategories writes the categories back in the field's syntax.
func joinCategories(in renkei.InputFields) string {
	items := make([]string, 0, len(in.Categories))
	for _, c := range in.Categories {
		if l, ok := in.CategoryLabels[c]; ok {
			c += "=" + l.JA + "/" + l.EN
		}
		items = append(items, c)
	}
	return strings.Join(items, ", ")
}

// serviceFields maps the domain's field locations to the form's fields.
var serviceFields = map[string]string{
	"body.name": "name", "body.webhook_url": "webhook_url", "body.app_url": "app_url", "body.icon_url": "",
	"body.scopes": "scopes", "body.input.memo_max_length": "memo_max_length", "body.input.categories": "categories", "body.input.category_labels": "categories",
	"body.policy.base_threshold": "base_threshold", "body.policy.merchant_categories": "merchant_categories",
}

func (s *Server) renderServiceForm(pr *pageReq, status int, f *serviceForm) {
	pr.view.Nav = "services"
	title := pr.view.L.T("admin.new")
	if f.ID == "" {
		pr.view.Nav = "new"
		f.Action = "/admin/services/new"
		if f.CreateKey == "" {
			f.CreateKey = newFormKey()
		}
	} else {
		title = pr.view.L.T("admin.edit", f.Name)
		f.RotateKey = newFormKey()
	}
	s.renderPage(pr, status, "admin_service", title, f)
}

// formFailed shows the form again with the sentence and the field at
// fault.
func (s *Server) formFailed(pr *pageReq, f *serviceForm, err error) {
	pr.view.Error = pr.view.L.ErrorText(err, sideShop)
	var e *renkei.Error
	if errors.As(err, &e) && len(e.Fields) > 0 && f.Invalid == "" {
		f.Invalid = serviceFields[e.Fields[0].Location]
	}
	s.renderServiceForm(pr, s.errStatus(pr.ctx, err), f)
}

func (s *Server) adminNewService(pr *pageReq) {
	f := newServiceForm()
	f.Scopes = []string{renkei.ScopeAmount, renkei.ScopeMerchantName, renkei.ScopeMerchantCategory, renkei.ScopeTime}
	f.MemoMax, f.Base, f.Enabled = "200", "1000", true
	s.renderServiceForm(pr, http.StatusOK, f)
}

// adminCreateService registers a service and shows its partner API key,
// once: the page is the only place the key ever appears.
//
// The form carries an idempotency key made when it was shown: a reload of
// the answer or a double tap posts the same key and registers nothing
// more; it shows the service the first post registered, without its key
// and secret, which only the first answer had.
func (s *Server) adminCreateService(pr *pageReq) {
	f, in, err := parseServiceForm(pr.view.L, pr.r, nil)
	f.CreateKey = pr.r.PostFormValue("idempotency_key") // an error shows the form again with its key
	if err == nil {
		var formKeyVal string
		if formKeyVal, err = formKey(pr.r); err != nil {
			pr.view.Error = pr.view.L.T("err.form")
			f.CreateKey = ""
			s.renderServiceForm(pr, http.StatusUnprocessableEntity, f)
			return
		}
		ctx, idem, _ := withIdempotency(pr.ctx, pr.p, "page-create-related-service", formKeyVal, in)
		var rs *renkei.RelatedService
		var key string
		if rs, key, err = s.Services.CreateRelatedService(ctx, in); err == nil {
			f = formOf(rs)
			if idem != nil && idem.Replayed {
				pr.view.Notice = pr.view.L.T("admin.created.again", rs.Name)
				s.renderServiceForm(pr, http.StatusOK, f)
				return
			}
			f.APIKey, f.Secret = key, rs.WebhookSecret
			pr.view.Notice = pr.view.L.T("admin.created", rs.Name)
			s.renderServiceForm(pr, http.StatusCreated, f)
			return
		}
	}
	s.formFailed(pr, f, err)
}

// adminDeleteService deletes a service after the browser's confirmation
// (the button asks first where scripts run; the form's own note says what
// happens): see the store's DeleteRelatedService for what is kept.
func (s *Server) adminDeleteService(pr *pageReq) {
	rs := s.adminService(pr)
	if rs == nil {
		return
	}
	if _, err := s.Services.DeleteRelatedService(pr.ctx, rs.ID); err != nil {
		pr.view.Error = pr.view.L.ErrorText(err, sideShop)
		s.renderServiceForm(pr, s.errStatus(pr.ctx, err), formOf(rs))
		return
	}
	http.Redirect(pr.w, pr.r, "/admin?deleted="+url.QueryEscape(rs.ID), http.StatusSeeOther)
}

// adminService finds the service of the path, or answers 404.
func (s *Server) adminService(pr *pageReq) *renkei.RelatedService {
	id := pr.r.PathValue("id")
	if !renkei.HasPrefix(id, renkei.PrefixRelatedService) {
		pr.notFound(s)
		return nil
	}
	rs, err := s.Services.FindRelatedService(pr.ctx, id)
	if renkei.ErrorCode(err) == renkei.ENOTFOUND || (err == nil && rs.DeletedAt != nil) {
		pr.notFound(s)
		return nil
	} else if err != nil {
		s.pageFail(pr, err)
		return nil
	}
	return rs
}

func (s *Server) adminEditService(pr *pageReq) {
	rs := s.adminService(pr)
	if rs == nil {
		return
	}
	switch {
	case pr.r.URL.Query().Get("saved") == "1":
		pr.view.Notice = pr.view.L.T("admin.saved")
	case pr.r.URL.Query().Get("icon") == "1":
		pr.view.Notice = pr.view.L.T("admin.icon.done")
	}
	s.renderServiceForm(pr, http.StatusOK, formOf(rs))
}

func (s *Server) adminUpdateService(pr *pageReq) {
	rs := s.adminService(pr)
	if rs == nil {
		return
	}
	f, in, err := parseServiceForm(pr.view.L, pr.r, rs)
	f.ID, f.IconURL, f.Service = rs.ID, rs.IconURL, rs
	if err == nil {
		if _, err = s.Services.UpdateRelatedService(pr.ctx, rs.ID, in); err == nil {
			http.Redirect(pr.w, pr.r, "/admin/services/"+rs.ID+"?saved=1", http.StatusSeeOther)
			return
		}
	}
	s.formFailed(pr, f, err)
}

// maxIconBytes bounds an uploaded icon, as the store does.
const maxIconBytes = 256 << 10

// adminUploadIcon stores an icon from a multipart form. The part's
// content type must be what the bytes are: a file named .png that holds
// HTML is refused, whatever it claims.
func (s *Server) adminUploadIcon(pr *pageReq) {
	rs := s.adminService(pr)
	if rs == nil {
		return
	}
	l := pr.view.L
	fail := func(status int, msg string) {
		pr.view.Error = msg
		f := formOf(rs)
		f.Invalid = "icon"
		s.renderServiceForm(pr, status, f)
	}
	pr.r.Body = http.MaxBytesReader(pr.w, pr.r.Body, maxIconBytes+16<<10)
	if err := pr.r.ParseMultipartForm(maxIconBytes + 16<<10); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(http.StatusRequestEntityTooLarge, l.T("admin.icon.big", tooBig.Limit>>10))
			return
		}
		fail(http.StatusBadRequest, l.T("admin.icon.none"))
		return
	}
	defer pr.r.MultipartForm.RemoveAll()
	file, hdr, err := pr.r.FormFile("icon")
	if err != nil {
		fail(http.StatusUnprocessableEntity, l.T("admin.icon.none"))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxIconBytes+1))
	if err != nil {
		fail(http.StatusBadRequest, l.T("admin.icon.none"))
		return
	}
	if len(data) > maxIconBytes {
		fail(http.StatusRequestEntityTooLarge, l.T("admin.icon.big", maxIconBytes>>10))
		return
	}
	ct := strings.TrimSpace(strings.SplitN(hdr.Header.Get("Content-Type"), ";", 2)[0])
	sniffed := http.DetectContentType(data)
	if ct == "" || ct == "application/octet-stream" {
		ct = sniffed
	} else if ct != sniffed {
		fail(http.StatusUnprocessableEntity, l.T("admin.icon.type", ct))
		return
	}
	if _, err := s.Services.SetServiceIcon(pr.ctx, rs.ID, ct, data); err != nil {
		fail(s.errStatus(pr.ctx, err), l.ErrorText(err, sideShop))
		return
	}
	http.Redirect(pr.w, pr.r, "/admin/services/"+rs.ID+"?icon=1", http.StatusSeeOther)
}

// adminRotateSecret gives a service's endpoint a new signing secret and
// shows it, once. The old secret keeps signing for secretGrace, so the
// partner can switch without losing a message; the form's key makes a
// double tap show the same secret instead of rotating twice.
func (s *Server) adminRotateSecret(pr *pageReq) {
	rs := s.adminService(pr)
	if rs == nil {
		return
	}
	type rotated struct {
		Secret   string
		OldUntil time.Time
	}
	res, err := formOnce(pr, "page-rotate-secret", rs.ID, func(ctx context.Context) (rotated, error) {
		sec, err := s.Services.RotateSecret(ctx, rs.ID, secretGrace)
		return rotated{sec, time.Now().Add(secretGrace)}, err
	})
	f := formOf(rs)
	if err != nil {
		pr.view.Error = formErrorText(pr.view.L, err)
		s.renderServiceForm(pr, s.formErrStatus(pr.ctx, err), f)
		return
	}
	f.Secret, f.OldUntil = res.Secret, res.OldUntil
	pr.view.Notice = pr.view.L.T("admin.secret.rotated")
	s.renderServiceForm(pr, http.StatusOK, f)
}

// adminDeliveries lists every service's messages.
func (s *Server) adminDeliveries(pr *pageReq) { s.deliveriesPage(pr, adminMessages, http.StatusOK, "") }

// adminProvisions downloads a service's record of provision (APPI art.
// 29) for the days chosen on its page: from the start of since to the end
// of until (UTC), as CSV or JSON lines.
func (s *Server) adminProvisions(pr *pageReq) {
	rs := s.adminService(pr)
	if rs == nil {
		return
	}
	q := pr.r.URL.Query()
	f := renkei.ProvisionFilter{ServiceID: rs.ID}
	for _, d := range []struct {
		field string
		to    *time.Time
		add   int
	}{{"since", &f.Since, 0}, {"until", &f.Until, 1}} {
		v := q.Get(d.field)
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			pr.view.Error = pr.view.L.T("admin.provisions.baddate")
			s.renderServiceForm(pr, http.StatusUnprocessableEntity, formOf(rs))
			return
		}
		*d.to = t.AddDate(0, 0, d.add)
	}
	format := q.Get("format")
	if format != "jsonl" {
		format = "csv"
	}
	ct := "text/csv; charset=utf-8"
	if format == "jsonl" {
		ct = "application/jsonl"
	}
	pr.w.Header().Set("Content-Type", ct)
	pr.w.Header().Set("Content-Disposition", `attachment; filename="provisions-`+rs.ID+`.`+format+`"`)
	if err := s.writeProvisions(pr.ctx, pr.w, f, format); err != nil {
		s.Log.ErrorContext(pr.ctx, "export provisions", "service", rs.ID, "err", err)
	}
}
