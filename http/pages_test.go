package http_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
	rhttp "github.com/renkei/renkei/http"
	"github.com/renkei/renkei/store"
)

// pagesFixture is a real server on port 0 over a real SQLite file, with
// two users and two merchants made through the store, and a clock the
// test can move forward.
type pagesFixture struct {
	t     testing.TB
	st    *store.Store
	srv   *rhttp.Server
	url   string
	shift atomic.Int64 // added to the store's clock

	aiko, ben      pagesParty // users: Aiko has ¥10,000, Ben ¥100
	cafe, books    pagesParty // terminals of two merchants
	kakeibo        *renkei.RelatedService
	clients        []*http.Client
	clientsMu      sync.Mutex
	cafeDemoIndex  int
	aikoDemoIndex  int
	cafeMerchantID string
}

// pagesParty is a user or a shop terminal, with its token.
type pagesParty struct {
	id, token, name string
}

func newPagesFixture(t testing.TB) *pagesFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	f := &pagesFixture{t: t, st: st}
	st.Now = func() time.Time { return time.Now().Add(time.Duration(f.shift.Load())) }
	st.PayCode, st.ParsePayCode = emvco.NewPayCode, emvco.ParsePayCode
	st.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	st.AdminKeyHash = store.HashToken("admin")

	user := func(name string, yen int64) pagesParty {
		u, tok, err := st.CreateUser(ctx, renkei.CreateUser{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: yen, Currency: "JPY"}); err != nil {
			t.Fatal(err)
		}
		return pagesParty{id: u.ID, token: tok, name: name}
	}
	terminal := func(name, mcc string) (pagesParty, string) {
		m, err := st.CreateMerchant(ctx, renkei.CreateMerchant{Name: name, MCC: mcc})
		if err != nil {
			t.Fatal(err)
		}
		term, key, err := st.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "Register 1"})
		if err != nil {
			t.Fatal(err)
		}
		return pagesParty{id: term.ID, token: key, name: name}, m.ID
	}
	f.aiko, f.ben = user("Aiko", 10_000), user("Ben", 100)
	f.cafe, f.cafeMerchantID = terminal("カフェ ひかり", "5814")
	f.books, _ = terminal("Tsubame Books", "5942")

	// A household account book, as in the demo: proposed from ¥1,000,
	// with a memo of up to 20 characters and three categories.
	f.kakeibo, _, err = st.CreateRelatedService(ctx, pagesKakeiboInput())
	if err != nil {
		t.Fatal(err)
	}
	if f.kakeibo, err = st.SetServiceIcon(ctx, f.kakeibo.ID, "image/png", pagesIcon()); err != nil {
		t.Fatal(err)
	}

	f.srv = &rhttp.Server{Services: st, Demo: true, QRSVG: emvco.QRSVG, FormatPayCode: emvco.FormatPayCode, Now: st.Now,
		DemoLogins: []rhttp.DemoLogin{
			{Kind: renkei.KindTerminal, Name: f.cafe.name, Token: f.cafe.token},
			{Kind: renkei.KindUser, Name: "Aiko", Token: f.aiko.token},
		}}
	f.cafeDemoIndex, f.aikoDemoIndex = 0, 1
	if err := f.srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	f.url = f.srv.URL()
	t.Cleanup(func() {
		// Idle keep-alive connections first, or the graceful shutdown
		// waits for them.
		f.clientsMu.Lock()
		for _, c := range f.clients {
			c.CloseIdleConnections()
		}
		f.clientsMu.Unlock()
		f.srv.Close()
		st.Close()
	})
	return f
}

// balance reads a user's JPY balance straight from the store.
func (f *pagesFixture) balance(u pagesParty) int64 {
	f.t.Helper()
	ws, err := f.st.Wallets(context.Background(), u.id)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, w := range ws {
		if w.Balance.Currency == "JPY" {
			return w.Balance.Amount
		}
	}
	return 0
}

// pagesBrowser is one phone or till: a cookie jar, a language, and no
// automatic redirects, so each 303 can be checked.
type pagesBrowser struct {
	f      *pagesFixture
	c      *http.Client
	accept string
}

func (f *pagesFixture) browser(acceptLanguage string) *pagesBrowser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	f.clientsMu.Lock()
	f.clients = append(f.clients, c)
	f.clientsMu.Unlock()
	return &pagesBrowser{f: f, c: c, accept: acceptLanguage}
}

type pagesResp struct {
	status int
	header http.Header
	body   string
}

func (r pagesResp) location() string { return r.header.Get("Location") }

func (b *pagesBrowser) do(method, path string, form url.Values, headers ...string) pagesResp {
	b.f.t.Helper()
	if form == nil {
		return b.send(method, path, "", nil, headers...)
	}
	return b.send(method, path, "application/x-www-form-urlencoded", []byte(form.Encode()), headers...)
}

// send makes a request with a body of any type (a multipart upload).
func (b *pagesBrowser) send(method, path, contentType string, raw []byte, headers ...string) pagesResp {
	b.f.t.Helper()
	var body io.Reader
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.f.url+path, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b.accept != "" {
		req.Header.Set("Accept-Language", b.accept)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	return pagesResp{status: res.StatusCode, header: res.Header, body: string(got)}
}

func (b *pagesBrowser) get(path string) pagesResp { b.f.t.Helper(); return b.do("GET", path, nil) }

func (b *pagesBrowser) post(path string, form url.Values, headers ...string) pagesResp {
	b.f.t.Helper()
	return b.do("POST", path, form, headers...)
}

// want checks the status of a response and that its page says each of
// texts (compared after HTML unescaping).
func (b *pagesBrowser) want(r pagesResp, status int, texts ...string) pagesResp {
	b.f.t.Helper()
	if r.status != status {
		b.f.t.Fatalf("status %d, want %d (Location %q): %s", r.status, status, r.location(), pagesText(r.body))
	}
	text := html.UnescapeString(r.body)
	for _, s := range texts {
		if !strings.Contains(text, s) {
			b.f.t.Fatalf("page lacks %q:\n%s", s, pagesText(r.body))
		}
	}
	return r
}

// wantRedirect checks a 303 to a path starting with prefix and returns
// the path.
func (b *pagesBrowser) wantRedirect(r pagesResp, prefix string) string {
	b.f.t.Helper()
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), prefix) {
		b.f.t.Fatalf("got %d to %q, want 303 to %s…: %s", r.status, r.location(), prefix, pagesText(r.body))
	}
	return r.location()
}

// login logs in with a token on /app/login or /shop/login.
func (b *pagesBrowser) login(area, token string) {
	b.f.t.Helper()
	b.wantRedirect(b.post("/"+area+"/login", url.Values{"token": {token}}), "/"+area)
}

var (
	pagesTagRe   = regexp.MustCompile(`(?s)<(script|style)[^>]*>.*?</(script|style)>|<[^>]+>`)
	pagesSpaceRe = regexp.MustCompile(`\s+`)
)

// pagesText is the visible text of a page, for failure messages.
func pagesText(body string) string {
	return strings.TrimSpace(pagesSpaceRe.ReplaceAllString(html.UnescapeString(pagesTagRe.ReplaceAllString(body, " ")), " "))
}

// pagesField reads an attribute value from the first tag that has
// name="name" (hidden form fields) or the given data attribute.
func pagesField(t testing.TB, body, attr, name string) string {
	t.Helper()
	re := regexp.MustCompile(`<[^>]*\b` + regexp.QuoteMeta(attr) + `="([^"]*)"`)
	if name != "" {
		re = regexp.MustCompile(`<[^>]*name="` + regexp.QuoteMeta(name) + `"[^>]*value="([^"]*)"`)
	}
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s%s in page:\n%s", attr, name, body)
	}
	return html.UnescapeString(m[1])
}

// pagesPayID finds the payment id in a /…/payments/pay_… path.
func pagesPayID(t testing.TB, path string) string {
	t.Helper()
	m := regexp.MustCompile(`pay_[0-9A-Z]{26}`).FindString(path)
	if m == "" {
		t.Fatalf("no payment id in %q", path)
	}
	return m
}

// showPayCode opens /app/pay and returns the code and the page.
func (b *pagesBrowser) showPayCode() (string, pagesResp) {
	b.f.t.Helper()
	r := b.want(b.get("/app/pay"), 200, `id="paycode"`)
	return pagesField(b.f.t, r.body, "data-code", ""), r
}

func TestPagesConsumerPresentedFlow(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone, till := f.browser("en-US,en;q=0.9"), f.browser("en")

	phone.login("app", f.aiko.token)
	phone.want(phone.get("/app"), 200, "¥10,000", "Pay (show code)", "Scan a shop's QR", "Top up ¥10,000", "Recent activity")
	code, pay := phone.showPayCode()
	if !strings.Contains(pay.body, "<svg") || !strings.Contains(pay.body, emvco.FormatPayCode(code)) {
		t.Fatalf("pay page lacks the QR image or the grouped code:\n%s", pay.body)
	}
	since := pagesField(t, pay.body, "data-since", "")

	// The till logs in with its demo button and charges the code as typed,
	// with the spaces of the grouped digits.
	login := till.want(till.get("/shop/login"), 200, "Log in as カフェ ひかり")
	if strings.Contains(login.body, f.cafe.token) || strings.Contains(login.body, "Log in as Aiko") {
		t.Fatal("shop login page shows a token or a user's demo button")
	}
	till.wantRedirect(till.post("/shop/login", url.Values{"demo": {"0"}}), "/shop")
	form := till.want(till.get("/shop"), 200, "Charge a pay code", `inputmode="numeric"`)
	charge := url.Values{"amount": {"1,280"}, "code": {emvco.FormatPayCode(code)},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}
	done := till.wantRedirect(till.post("/shop/charge", charge), "/shop/payments/pay_")
	id := pagesPayID(t, done)
	till.want(till.get(done), 200, "Payment complete", "¥1,280", id)

	// A double tap on Charge sends the same form again: the same payment,
	// not a second charge and not a "code already used" decline.
	if again := till.wantRedirect(till.post("/shop/charge", charge), "/shop/payments/"); again != done {
		t.Fatalf("resubmitted charge went to %s, want %s", again, done)
	}
	if got := f.balance(f.aiko); got != 10_000-1_280 {
		t.Fatalf("balance %d after one charge submitted twice, want %d", got, 10_000-1_280)
	}

	// The phone's script learns where the result is, and shows it.
	poll := phone.want(phone.get("/app/pay/poll?since="+since), 200)
	if !strings.Contains(poll.body, `"/app/payments/`+id+`"`) {
		t.Fatalf("poll answered %s, want the payment %s", poll.body, id)
	}
	phone.want(phone.get("/app/payments/"+id), 200, `id="completion"`, `<section id="proposals"`,
		"Payment complete", "カフェ ひかり", "¥1,280", "Restaurants", "Completed", id, "JST", "¥8,720")
	phone.want(phone.get("/app/payments"), 200, "カフェ ひかり", "¥1,280", "/app/payments/"+id)
	phone.want(phone.get("/app"), 200, "¥8,720", "−¥1,280")
}

func TestPagesMerchantPresentedFlow(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone, till := f.browser("en"), f.browser("en")
	phone.login("app", f.aiko.token)
	till.login("shop", f.cafe.token)

	form := till.want(till.get("/shop/qr"), 200, "Show a QR code")
	qrPage := till.wantRedirect(till.post("/shop/qr", url.Values{"amount": {"1500"},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}), "/shop/qr/pay_")
	id := pagesPayID(t, qrPage)
	shown := till.want(till.get(qrPage), 200, "Waiting for the customer to pay", "¥1,500", "<svg", `http-equiv="refresh"`)
	payload := html.UnescapeString(regexp.MustCompile(`(?s)<textarea id="payload"[^>]*>(.*?)</textarea>`).FindStringSubmatch(shown.body)[1])
	till.want(till.get(qrPage+"/status"), 200, `"status":"pending"`)

	phone.want(phone.get("/app/scan"), 200, "QR code contents", "<textarea")
	confirm := phone.want(phone.get("/app/confirm?qr="+url.QueryEscape(payload)), 200,
		"Confirm the payment", "カフェ ひかり", "Restaurants", "Pay ¥1,500")
	pay := url.Values{"qr": {payload}, "idempotency_key": {pagesField(t, confirm.body, "", "idempotency_key")}}
	done := phone.wantRedirect(phone.post("/app/confirm", pay), "/app/payments/"+id)
	// The same form again (a double tap, a reload): the same result.
	if again := phone.wantRedirect(phone.post("/app/confirm", pay), "/app/payments/"); again != done {
		t.Fatalf("resubmitted confirm went to %s, want %s", again, done)
	}
	if got := f.balance(f.aiko); got != 10_000-1_500 {
		t.Fatalf("balance %d, want %d: the QR was paid more than once", got, 10_000-1_500)
	}
	phone.want(phone.get(done), 200, "Payment complete", "¥1,500", "カフェ ひかり", id)

	till.want(till.get(qrPage+"/status"), 200, `"status":"completed"`)
	paid := till.want(till.get(qrPage), 200, "Paid by customer", "¥1,500")
	if strings.Contains(paid.body, `http-equiv="refresh"`) {
		t.Fatal("the paid QR page keeps refreshing")
	}
	// Scanning the paid code again shows the payer its result, no button.
	phone.wantRedirect(phone.get("/app/confirm?qr="+url.QueryEscape(payload)), "/app/payments/"+id)
	// Another payer is told it is gone.
	other := f.browser("en")
	other.login("app", f.ben.token)
	other.want(other.get("/app/confirm?qr="+url.QueryEscape(payload)), http.StatusConflict,
		"This QR code was already used or has expired.")
}

func TestPagesRefund(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone, till, rival := f.browser("en"), f.browser("en"), f.browser("en")
	phone.login("app", f.aiko.token)
	till.login("shop", f.cafe.token)
	rival.login("shop", f.books.token)

	code, _ := phone.showPayCode()
	form := till.get("/shop")
	done := till.wantRedirect(till.post("/shop/charge", url.Values{"amount": {"2000"}, "code": {code},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}), "/shop/payments/")
	id := pagesPayID(t, done)

	list := till.want(till.get("/shop/payments"), 200, "Recent payments", id, "¥2,000", `action="/shop/refund"`)
	key := regexp.MustCompile(`name="payment_id" value="` + id + `">\s*<input type="hidden" name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(list.body)
	if key == nil {
		t.Fatalf("no refund form for %s:\n%s", id, list.body)
	}
	partial := url.Values{"payment_id": {id}, "amount": {"500"}, "idempotency_key": {key[1]}}

	// Another merchant's terminal cannot refund it, nor see it.
	rival.want(rival.post("/shop/refund", partial), http.StatusNotFound, "Page not found")
	rival.want(rival.get("/shop/payments/"+id), http.StatusNotFound, "Page not found")

	// The refund button first shows what will be refunded; no money moves.
	till.want(till.post("/shop/refund", partial), 200, "Refund ¥500?", "To refund now", "¥500 (part of it)", "Left to refund afterwards", "¥1,500", `name="confirm" value="1"`)
	if got := f.balance(f.aiko); got != 10_000-2_000 {
		t.Fatalf("balance %d after the refund confirmation page, want %d: money moved before the confirmation", got, 10_000-2_000)
	}
	partial.Set("confirm", "1")
	back := till.wantRedirect(till.post("/shop/refund", partial), "/shop/payments/"+id+"?refund=rfd_")
	till.wantRedirect(till.post("/shop/refund", partial), back) // double submit: one refund
	till.want(till.get(back), 200, "Refunded ¥500.", "Partly refunded", "¥1,500 left")
	if got := f.balance(f.aiko); got != 10_000-2_000+500 {
		t.Fatalf("balance %d after a ¥500 refund sent twice, want %d", got, 10_000-2_000+500)
	}

	// The rest, with an empty amount; then nothing is left to refund.
	detail := till.get("/shop/payments/" + id)
	rest := url.Values{"payment_id": {id}, "idempotency_key": {pagesField(t, detail.body, "", "idempotency_key")}}
	till.want(till.post("/shop/refund", rest), 200, "Refund ¥1,500?", "¥1,500 (all that is left)")
	rest.Set("confirm", "1")
	till.want(till.get(till.wantRedirect(till.post("/shop/refund", rest), "/shop/payments/")), 200, "Refunded ¥1,500.", "Refunded")
	rest.Set("idempotency_key", "another-key")
	till.want(till.post("/shop/refund", rest), http.StatusConflict, "Payment "+id+" is already fully refunded.")
	if got := f.balance(f.aiko); got != 10_000 {
		t.Fatalf("balance %d after a full refund, want 10000", got)
	}
	phone.want(phone.get("/app/payments/"+id), 200, "Payment refunded", "Refunded")
}

func TestPagesDeclines(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ben, aiko, till := f.browser("en"), f.browser("en"), f.browser("en")
	ben.login("app", f.ben.token) // ¥100
	aiko.login("app", f.aiko.token)
	till.login("shop", f.cafe.token)
	charge := func(code, amount string) pagesResp {
		form := till.get("/shop")
		return till.post("/shop/charge", url.Values{"amount": {amount}, "code": {code},
			"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}})
	}

	// Too little money: the cashier reads the store's sentence, with the
	// form still filled in; the phone shows the failed payment.
	code, pay := ben.showPayCode()
	since := pagesField(t, pay.body, "data-since", "")
	r := till.want(charge(code, "1280"), http.StatusPaymentRequired,
		"The customer's wallet balance is too low for this payment.", `value="1280"`)
	if !strings.Contains(r.body, `role="alert"`) {
		t.Fatal("decline is not announced as an alert")
	}
	failed := regexp.MustCompile(`/app/payments/(pay_[0-9A-Z]{26})`).FindStringSubmatch(ben.get("/app/pay/poll?since=" + since).body)
	if failed == nil {
		t.Fatal("the phone was not told of the declined payment")
	}
	ben.want(ben.get("/app/payments/"+failed[1]), 200, "Payment failed", "Your wallet balance was too low")

	// Used, unknown, expired codes; a bad amount.
	code, _ = aiko.showPayCode()
	till.wantRedirect(charge(code, "300"), "/shop/payments/")
	till.want(charge(code, "300"), http.StatusPaymentRequired, "This pay code was already used.")
	till.want(charge("8800 0000 0000 0000 0000", "300"), http.StatusUnprocessableEntity)
	till.want(charge(code, "12.5"), http.StatusUnprocessableEntity, "Enter the amount as a whole number of yen")
	code, _ = aiko.showPayCode()
	f.shift.Store(int64(6 * time.Minute))
	till.want(charge(code, "300"), http.StatusPaymentRequired, "This pay code has expired.")
	f.shift.Store(0)

	// Merchant-presented: too little money keeps the request open.
	form := till.get("/shop/qr")
	qrPage := till.wantRedirect(till.post("/shop/qr", url.Values{"amount": {"1500"},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}), "/shop/qr/")
	payload := html.UnescapeString(regexp.MustCompile(`(?s)<textarea id="payload"[^>]*>(.*?)</textarea>`).FindStringSubmatch(till.get(qrPage).body)[1])
	confirm := ben.want(ben.get("/app/confirm?qr="+url.QueryEscape(payload)), 200, "Pay ¥1,500")
	ben.want(ben.post("/app/confirm", url.Values{"qr": {payload}, "idempotency_key": {pagesField(t, confirm.body, "", "idempotency_key")}}),
		http.StatusPaymentRequired, "Your wallet balance is too low for this payment. Top up and scan again.", "Pay ¥1,500")
	// Expired request, and a payload that is not ours.
	f.shift.Store(int64(11 * time.Minute))
	ben.want(ben.get("/app/confirm?qr="+url.QueryEscape(payload)), http.StatusConflict, "already used or has expired")
	f.shift.Store(0)
	ben.want(ben.get("/app/confirm?qr=hello"), http.StatusUnprocessableEntity, "This is not a Renkei payment QR code")
	ben.want(ben.get("/app/confirm?qr="), http.StatusUnprocessableEntity, "Enter the contents of the QR code.")

	// In Japanese, the same declines in Japanese.
	ja := f.browser("ja")
	ja.login("shop", f.cafe.token)
	code, _ = ben.showPayCode()
	form = ja.get("/shop")
	ja.want(ja.post("/shop/charge", url.Values{"amount": {"1280"}, "code": {code},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}), http.StatusPaymentRequired,
		"お客様のウォレット残高が足りません。")
}

func TestPagesAccess(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	anon := f.browser("en")
	for _, p := range []string{"/app", "/app/pay", "/app/payments", "/app/scan"} {
		anon.wantRedirect(anon.get(p), "/app/login?next=")
	}
	for _, p := range []string{"/shop", "/shop/qr", "/shop/payments"} {
		anon.wantRedirect(anon.get(p), "/shop/login?next=")
	}
	anon.wantRedirect(anon.post("/app/topup", url.Values{"idempotency_key": {"k"}}), "/app/login")
	anon.want(anon.get("/app/pay/poll?since=0"), http.StatusUnauthorized)
	anon.want(anon.get("/shop/qr/pay_01M898G687CMTT6FS57E8YP5S0/status"), http.StatusUnauthorized)

	// The login page: a token field with a label and the demo users only.
	login := anon.want(anon.get("/app/login"), 200, `<label for="token">`, "Log in as Aiko")
	if strings.Contains(login.body, f.aiko.token) || strings.Contains(login.body, "ひかり") {
		t.Fatal("user login page shows a token or a terminal's demo button")
	}
	anon.want(anon.post("/app/login", url.Values{"token": {"rk_usr_nonsense"}}), http.StatusUnauthorized, "This token is not valid.")
	anon.want(anon.post("/app/login", url.Values{"token": {f.cafe.token}}), http.StatusForbidden, "This is not a user token.")
	anon.want(anon.post("/shop/login", url.Values{"token": {f.aiko.token}}), http.StatusForbidden, "not a shop terminal's API key")

	// Login by demo button sets a strict, HttpOnly cookie and goes back to
	// where the visitor was sent from.
	r := anon.post("/app/login", url.Values{"demo": {"1"}, "next": {"/app/payments"}})
	anon.wantRedirect(r, "/app/payments")
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"renkei_app=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Fatalf("login cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Fatalf("cookie %q is Secure on plain HTTP", ck)
	}
	// The index of a terminal's demo login does not log in as it.
	anon.want(anon.post("/app/login", url.Values{"demo": {"0"}}), http.StatusUnauthorized, "This token is not valid.")
	anon.wantRedirect(anon.post("/app/login", url.Values{"token": {f.aiko.token}, "next": {"https://evil.example/"}}), "/app")
	if l := anon.post("/app/login", url.Values{"token": {f.aiko.token}, "next": {"//evil.example/app"}}).location(); l != "/app" {
		t.Fatalf("login redirected to %q", l)
	}

	// Aiko's payment is not Ben's to see, nor a terminal's of another shop.
	code, _ := anon.showPayCode()
	till := f.browser("en")
	till.login("shop", f.cafe.token)
	form := till.get("/shop")
	id := pagesPayID(t, till.wantRedirect(till.post("/shop/charge", url.Values{"amount": {"100"}, "code": {code},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}), "/shop/payments/"))
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	nf := ben.want(ben.get("/app/payments/"+id), http.StatusNotFound, "Page not found")
	if ct := nf.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || strings.Contains(nf.body, "¥100") {
		t.Fatalf("someone else's payment: %s %s", ct, nf.body)
	}
	ben.want(ben.get("/app/payments/pay_nope"), http.StatusNotFound, "Page not found")
	ben.want(ben.get("/app/nothing-here"), http.StatusNotFound, "Page not found")
	books := f.browser("en")
	books.login("shop", f.books.token)
	books.want(books.get("/shop/qr/"+id), http.StatusNotFound)
	// A user cookie does not open the shop, nor the other way round.
	ben.wantRedirect(ben.get("/shop"), "/shop/login")
	till.wantRedirect(till.get("/app"), "/app/login")

	// Logging out clears the cookie.
	out := anon.post("/app/logout", url.Values{})
	anon.wantRedirect(out, "/app/login")
	if ck := out.header.Get("Set-Cookie"); !strings.Contains(ck, "renkei_app=;") || !strings.Contains(ck, "Max-Age=0") {
		t.Fatalf("logout cookie %q", ck)
	}
	anon.wantRedirect(anon.get("/app"), "/app/login")
	anon.want(anon.get("/app/login?out=1"), 200, "You are logged out.")

	// Page headers and the embedded assets.
	page := ben.get("/app")
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	if cc := page.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q on a wallet page", cc)
	}
	css := pagesField(t, page.body, "href", "")
	st := anon.want(anon.get(css), 200, "box-sizing")
	if ct := st.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") || !strings.Contains(st.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("style sheet served as %q, %q", ct, st.header.Get("Cache-Control"))
	}
	anon.want(anon.get("/static/app.js"), 200, "BarcodeDetector")
	anon.want(anon.get("/static/"), http.StatusNotFound)
	if strings.Contains(page.body, "http://") || strings.Contains(page.body, "https://") {
		t.Fatal("a page refers to another host")
	}
}

func TestPagesLanguage(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ja, en := f.browser("ja-JP,ja;q=0.9,en;q=0.8"), f.browser("en-GB,en;q=0.9,ja;q=0.5")
	ja.want(ja.get("/app/login"), 200, `<html lang="ja">`, "<h1>ウォレットにログイン</h1>", `hreflang="en"`)
	en.want(en.get("/app/login"), 200, `<html lang="en">`, "<h1>Log in to your wallet</h1>", "日本語")
	fr, none := f.browser("fr, en;q=0.1, ja;q=0.5"), f.browser("")
	fr.want(fr.get("/shop/login"), 200, "<h1>店舗端末にログイン</h1>")
	none.want(none.get("/shop/login"), 200, `<html lang="en">`)

	// ?lang= wins over the header and is remembered.
	en.want(en.get("/app/login?lang=ja"), 200, `<html lang="ja">`)
	en.want(en.get("/app/login"), 200, "<h1>ウォレットにログイン</h1>")
	en.want(en.get("/app/login?lang=en"), 200, "<h1>Log in to your wallet</h1>")

	// The completion screen in Japanese: Japan time, yen.
	ja.login("app", f.aiko.token)
	code, _ := ja.showPayCode()
	till := f.browser("ja")
	till.login("shop", f.cafe.token)
	form := till.want(till.get("/shop"), 200, "<h1>支払いコードで請求</h1>")
	done := till.wantRedirect(till.post("/shop/charge", url.Values{"amount": {"１２８０"}, "code": {code},
		"idempotency_key": {pagesField(t, form.body, "", "idempotency_key")}}), "/shop/payments/")
	till.want(till.get(done), 200, "決済が完了しました", "¥1,280")
	id := pagesPayID(t, done)
	page := ja.want(ja.get("/app/payments/"+id), 200, "<h1>支払いが完了しました</h1>", "¥1,280", "JST", "飲食店", "完了")
	if !regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2} JST`).MatchString(page.body) {
		t.Fatalf("no Japanese date in:\n%s", pagesText(page.body))
	}
	en.login("app", f.aiko.token)
	en.want(en.get("/app/payments/"+id), 200, "<h1>Payment complete</h1>", "JST") // one zone whatever the language
}

// Logging out ends the login itself, not only this browser's cookie: a
// copy of the cookie taken before is refused, in every area, while the
// same token logs in afresh.
func TestPagesLogoutEndsCopies(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	for _, c := range []struct{ area, token, cookie string }{
		{"app", f.aiko.token, "renkei_app"},
		{"shop", f.cafe.token, "renkei_shop"},
	} {
		phone := f.browser("en")
		phone.login(c.area, c.token)
		phone.want(phone.get("/"+c.area), 200)
		// Someone copies the cookie (a shared computer, a stolen backup).
		copyB := f.browser("en")
		u, _ := url.Parse(f.url + "/" + c.area)
		copyB.c.Jar.SetCookies(u, phone.c.Jar.Cookies(u))
		copyB.want(copyB.get("/"+c.area), 200)

		phone.wantRedirect(phone.post("/"+c.area+"/logout", url.Values{}), "/"+c.area+"/login?out=1")
		copyB.wantRedirect(copyB.get("/"+c.area), "/"+c.area+"/login")
		if len(copyB.c.Jar.Cookies(u)) != 0 {
			t.Fatalf("%s: the refused copy was not told to forget its cookie", c.area)
		}
		// The token itself still works: a new login is a new login.
		phone.login(c.area, c.token)
		phone.want(phone.get("/"+c.area), 200)
	}
}

// The bare address the server prints is a start page that leads to the
// four areas, in the reader's language; other unknown paths stay 404.
func TestPagesHome(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	en, ja := f.browser("en"), f.browser("ja")
	en.want(en.get("/"), 200, `<html lang="en">`, `href="/app"`, `href="/shop"`, `href="/admin"`, `href="/docs"`,
		"Wallet", "Shop terminal", "/openapi.json")
	ja.want(ja.get("/"), 200, `<html lang="ja">`, "ウォレット", "店舗端末", `href="/app"`)
	en.want(en.get("/?lang=ja"), 200, `<html lang="ja">`)
	en.want(en.get("/app/login"), 200, `<html lang="ja">`) // the choice is remembered
	en.want(en.get("/nothing-here"), 404)
}

func TestPagesCrossOriginAndDoubleSubmit(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	key := func() string { return pagesField(t, phone.get("/app").body, "", "idempotency_key") }

	// A form posted from another site is refused, whatever its cookies.
	phone.want(phone.post("/app/topup", url.Values{"idempotency_key": {key()}}, "Origin", "http://evil.example"),
		http.StatusForbidden, "sent from another site")
	phone.want(phone.post("/app/topup", url.Values{"idempotency_key": {key()}}, "Sec-Fetch-Site", "cross-site"),
		http.StatusForbidden)
	phone.want(phone.post("/app/login", url.Values{"token": {f.aiko.token}}, "Origin", "https://evil.example"), http.StatusForbidden)
	if got := f.balance(f.aiko); got != 10_000 {
		t.Fatalf("a cross-site top-up went through: balance %d", got)
	}
	// From our own origin it works.
	phone.wantRedirect(phone.post("/app/topup", url.Values{"idempotency_key": {key()}}, "Origin", f.url), "/app?topped=1")
	phone.want(phone.get("/app?topped=1"), 200, "Topped up. Your balance is now ¥20,000.")

	// Five taps on the same top-up form at once add the money once.
	k := key()
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", f.url+"/app/topup", strings.NewReader(url.Values{"idempotency_key": {k}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := phone.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusSeeOther {
			t.Fatalf("concurrent top-ups answered %v", codes)
		}
	}
	if got := f.balance(f.aiko); got != 30_000 {
		t.Fatalf("balance %d after one top-up form sent five times, want 30000", got)
	}
	// A form without its key is refused, not run unprotected.
	phone.want(phone.post("/app/topup", url.Values{}), http.StatusUnprocessableEntity, "This form is out of date")
}

func TestPagesLoginRateLimit(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	// Aiko is logged in at the same address as the guesser (a shared NAT).
	aiko := f.browser("en")
	aiko.login("app", f.aiko.token)
	guesser := f.browser("en")
	status := 0
	for i := 0; i < 12 && status != http.StatusTooManyRequests; i++ {
		status = guesser.post("/app/login", url.Values{"token": {"rk_usr_guess"}}).status
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("12 bad tokens in a row answered %d, want 429", status)
	}
	// Bad tokens keep getting 429, on the pages and on the API alike: the
	// budget is shared, and a cookie is no way around it.
	guesser.want(guesser.post("/app/login", url.Values{"token": {"rk_usr_guess2"}}), http.StatusTooManyRequests, "wait a minute")
	apiMe := func(token string) int {
		req, _ := http.NewRequest("GET", f.url+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := guesser.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := apiMe("rk_usr_guess3"); got != http.StatusTooManyRequests {
		t.Fatalf("API bad token after page guesses: %d, want 429", got)
	}
	// The right token still works from the limited address: on the login
	// form, on the API, and as the cookie of a session already open.
	guesser.wantRedirect(guesser.post("/app/login", url.Values{"token": {f.ben.token}}), "/app")
	if got := apiMe(f.aiko.token); got != http.StatusOK {
		t.Fatalf("API with a valid token from a limited address: %d, want 200", got)
	}
	aiko.want(aiko.get("/app"), http.StatusOK, "Aiko")
}

func TestPagesMoneyFormats(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	for _, m := range []renkei.Money{{Amount: 1_234_467, Currency: "JPY"}, {Amount: 1_250, Currency: "USD"}, {Amount: 5, Currency: "EUR"}} {
		if _, err := f.st.TopUp(ctx, renkei.TopUp{UserID: f.ben.id, Amount: m.Amount, Currency: m.Currency}); err != nil {
			t.Fatal(err)
		}
	}
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	ben.want(ben.get("/app"), 200, "¥1,234,567", "$12.50", "€0.05", "+$12.50")
}
