package http_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestFavicon: /favicon.ico is a real ICO holding a PNG, and every page
// links the SVG icon, which is served as an image.
func TestFavicon(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	b := f.browser("en")
	ico := b.want(b.get("/favicon.ico"), http.StatusOK)
	if ct := ico.header.Get("Content-Type"); ct != "image/x-icon" {
		t.Fatalf("favicon.ico Content-Type %q", ct)
	}
	raw := []byte(ico.body)
	if len(raw) < 22 || !bytes.Equal(raw[:4], []byte{0, 0, 1, 0}) {
		t.Fatalf("favicon.ico is not an ICO: % x", raw[:min(len(raw), 8)])
	}
	img, err := png.Decode(bytes.NewReader(raw[22:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("favicon.ico image: %v %v", err, img)
	}
	for _, page := range []string{"/app/login", "/shop/login", "/admin/login", "/partner/login"} {
		r := b.want(b.get(page), http.StatusOK, `rel="icon"`)
		href := pagesField(t, r.body, `rel="icon" href`, "")
		svg := b.want(b.get(href), http.StatusOK, "<svg")
		if ct := svg.header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
			t.Fatalf("%s: icon %s served as %q", page, href, ct)
		}
	}
}

// TestAmountTooLarge: an amount above the limit has its own code in the
// API (amount_too_large, the field named) and its own sentence on the
// pages, with the field marked aria-invalid; "1,280" is an amount
// everywhere a page asks for one, as the help text under it says.
func TestAmountTooLarge(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	api := f.browser("en")
	for _, body := range []string{
		`{"user_id":"` + f.aiko.id + `","amount":100000000001,"currency":"JPY"}`,
		`{"user_id":"` + f.aiko.id + `","amount":9000000000000000000,"currency":"JPY"}`,
	} {
		r := api.send("POST", "/v1/topups", "application/json", []byte(body), "Authorization", "Bearer admin")
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"code":"amount_too_large"`) ||
			!strings.Contains(r.body, `"location":"body.amount"`) || !strings.Contains(r.body, "above the limit") {
			t.Fatalf("top-up over the limit: %d %s", r.status, r.body)
		}
	}
	// A malformed amount is still invalid_request, not "too large".
	r := api.send("POST", "/v1/topups", "application/json", []byte(`{"user_id":"`+f.aiko.id+`","amount":0}`), "Authorization", "Bearer admin")
	if r.status != http.StatusUnprocessableEntity || strings.Contains(r.body, "amount_too_large") {
		t.Fatalf("top-up of 0: %d %s", r.status, r.body)
	}
	// The refund API too (the domain's check).
	for _, lang := range []string{"en", "ja"} {
		till := f.browser(lang)
		till.login("shop", f.cafe.token)
		form := till.get("/shop")
		key := pagesField(t, form.body, "", "idempotency_key")
		want := map[string]string{"en": "above the limit of ¥100,000,000,000", "ja": "上限（¥100,000,000,000）を超えています"}[lang]
		page := till.want(till.post("/shop/charge", url.Values{"amount": {"100,000,000,001"}, "code": {"88"}, "idempotency_key": {key}}),
			http.StatusUnprocessableEntity, want)
		if !regexp.MustCompile(`<input id="amount"[^>]*aria-invalid="true"`).MatchString(page.body) ||
			regexp.MustCompile(`<input id="code"[^>]*aria-invalid="true"`).MatchString(page.body) {
			t.Fatalf("%s: the amount is not the one field marked invalid:\n%s", lang, page.body)
		}
		page = till.want(till.post("/shop/charge", url.Values{"amount": {"12x"}, "code": {"88"}, "idempotency_key": {key}}),
			http.StatusUnprocessableEntity, map[string]string{"en": "Enter the amount as a whole number", "ja": "金額は1円以上の整数"}[lang])
		if !regexp.MustCompile(`<input id="amount"[^>]*aria-invalid="true"`).MatchString(page.body) {
			t.Fatalf("%s: a malformed amount is not marked invalid", lang)
		}
		// The help text says 1,280 is fine, and it is: the QR form takes it.
		qr := till.want(till.get("/shop/qr"), 200, map[string]string{"en": "1280 or 1,280", "ja": "1280 または 1,280"}[lang])
		done := till.wantRedirect(till.post("/shop/qr", url.Values{"amount": {"1,280"}, "idempotency_key": {pagesField(t, qr.body, "", "idempotency_key")}}), "/shop/qr/pay_")
		till.want(till.get(done), 200, "¥1,280")
		// A pay code that is wrong marks the code field, not the amount.
		page = till.post("/shop/charge", url.Values{"amount": {"1,280"}, "code": {"88000000000000000000"}, "idempotency_key": {pagesField(t, till.get("/shop").body, "", "idempotency_key")}})
		if !regexp.MustCompile(`<input id="code"[^>]*aria-invalid="true"`).MatchString(page.body) ||
			regexp.MustCompile(`<input id="amount"[^>]*aria-invalid="true"`).MatchString(page.body) {
			t.Fatalf("%s: a bad code is not the field marked invalid (%d):\n%s", lang, page.status, pagesText(page.body))
		}
	}
}
