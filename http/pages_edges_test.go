package http_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei"
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

var testFormKeys atomic.Int64

// formKeyForTest is a fresh form idempotency key, as a page would embed.
func formKeyForTest() string { return fmt.Sprintf("test-form-%d", testFormKeys.Add(1)) }

// TestRegisterServiceOnce: the admin's "Register" form, sent twice with
// its key (a reload, a double tap), registers one service and says so the
// second time, without showing the key again; the API does the same with
// Idempotency-Key. A form without its key is refused.
func TestRegisterServiceOnce(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	admin := f.browser("en")
	admin.login("admin", "admin")
	form := admin.want(admin.get("/admin/services/new"), 200, `name="idempotency_key"`)
	v := serviceValues()
	v.Set("idempotency_key", pagesField(t, form.body, "", "idempotency_key"))
	first := admin.want(admin.post("/admin/services/new", v), http.StatusCreated, "Registered Points.", `id="api-key"`)
	again := admin.want(admin.post("/admin/services/new", v), http.StatusOK, "This form was already sent: Points is registered once.")
	if regexp.MustCompile(`rk_rsv_\w|whsec_\w`).MatchString(again.body) || strings.Contains(again.body, `id="api-key"`) {
		t.Fatal("the repeated form shows the key or secret again")
	}
	idOf := func(body string) string {
		return regexp.MustCompile(`action="/admin/services/(rsv_[0-9A-Z]{26})"`).FindStringSubmatch(body)[1]
	}
	if idOf(first.body) != idOf(again.body) {
		t.Fatalf("the repeat shows %s, the first %s", idOf(again.body), idOf(first.body))
	}
	v.Del("idempotency_key")
	admin.want(admin.post("/admin/services/new", v), http.StatusUnprocessableEntity, "This form is out of date")
	all, _, err := f.st.ListRelatedServices(ctx, renkei.Page{Limit: 10})
	if err != nil || len(all) != 2 { // Kakeibo of the fixture, and Points once
		t.Fatalf("%d services (%v), want 2", len(all), err)
	}

	// The API: the same key and body, one service; Idempotent-Replayed.
	body := []byte(`{"name":"Savings","app_category":"savings","webhook_url":"https://savings.example/hooks","scopes":["amount"],"policy":{"base_threshold":{"JPY":1000}},"enabled":true}`)
	r1 := admin.send("POST", "/v1/related_services", "application/json", body, "Authorization", "Bearer admin", "Idempotency-Key", "svc-1")
	r2 := admin.send("POST", "/v1/related_services", "application/json", body, "Authorization", "Bearer admin", "Idempotency-Key", "svc-1")
	if r1.status != 201 || r2.status != 201 || r2.header.Get("Idempotent-Replayed") != "true" || !strings.Contains(r1.body, `"api_key":"rk_rsv_`) ||
		strings.Contains(r2.body, "rk_rsv_") {
		t.Fatalf("API create twice: %d %s / %d %v %s", r1.status, r1.body, r2.status, r2.header, r2.body)
	}
	if regexp.MustCompile(`"id":"(rsv_\w+)"`).FindStringSubmatch(r1.body)[1] != regexp.MustCompile(`"id":"(rsv_\w+)"`).FindStringSubmatch(r2.body)[1] {
		t.Fatal("the API replay answered another service")
	}
}

// TestDeleteServiceAPIAndPage: DELETE /v1/related_services/{id} (admin
// only) takes the service out of the lists and its key out of use, keeps
// it readable by id with deleted_at; the admin page's button does the
// same and says so.
func TestDeleteServiceAPIAndPage(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	api := f.browser("en")
	points, key, err := f.st.CreateRelatedService(ctx, pagesKakeiboInput())
	if err != nil {
		t.Fatal(err)
	}
	if r := api.send("DELETE", "/v1/related_services/"+points.ID, "", nil, "Authorization", "Bearer "+f.aiko.token); r.status != http.StatusForbidden {
		t.Fatalf("a user deleted a service: %d %s", r.status, r.body)
	}
	if r := api.send("DELETE", "/v1/related_services/"+points.ID, "", nil, "Authorization", "Bearer "+key); r.status != http.StatusForbidden {
		t.Fatalf("a partner deleted itself: %d %s", r.status, r.body)
	}
	r := api.send("DELETE", "/v1/related_services/"+points.ID, "", nil, "Authorization", "Bearer admin")
	if r.status != 200 || !strings.Contains(r.body, `"deleted_at":"`) || !strings.Contains(r.body, `"enabled":false`) {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := api.send("GET", "/v1/related_services/"+points.ID, "", nil, "Authorization", "Bearer "+key); r.status != http.StatusUnauthorized {
		t.Fatalf("the deleted service's key still works: %d %s", r.status, r.body)
	}
	if r := api.send("GET", "/v1/related_services", "", nil, "Authorization", "Bearer admin"); strings.Contains(r.body, points.ID) {
		t.Fatalf("the deleted service is still listed: %s", r.body)
	}
	if r := api.send("GET", "/v1/related_services/"+points.ID, "", nil, "Authorization", "Bearer admin"); r.status != 200 || !strings.Contains(r.body, `"deleted_at"`) {
		t.Fatalf("the admin cannot read the deleted service for the audit trail: %d %s", r.status, r.body)
	}
	if r := api.send("DELETE", "/v1/related_services/"+points.ID, "", nil, "Authorization", "Bearer admin"); r.status != 200 {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}

	// The page: a button with a confirmation, then the list says it.
	for _, lang := range []string{"en", "ja"} {
		admin := f.browser(lang)
		admin.login("admin", "admin")
		edit := admin.want(admin.get("/admin/services/"+f.kakeibo.ID), 200, `action="/admin/services/`+f.kakeibo.ID+`/delete"`, `data-confirm="`,
			map[string]string{"en": "kept for the audit trail", "ja": "監査のために残ります"}[lang])
		_ = edit
		if lang == "ja" {
			back := admin.wantRedirect(admin.post("/admin/services/"+f.kakeibo.ID+"/delete", url.Values{}), "/admin?deleted=")
			admin.want(admin.get(back), 200, "Kakeiboを削除しました。")
			admin.want(admin.get("/admin/services/"+f.kakeibo.ID), http.StatusNotFound)
		}
	}
}

// TestTimeZoneWhateverTheLanguage: pages show times in one zone for a
// user whatever the language (Asia/Tokyo by default), the user can
// choose another on the wallet page or with PATCH /v1/me, the shop keeps
// the server's zone, and the API stays UTC.
func TestTimeZoneWhateverTheLanguage(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	pc, err := f.st.NewPayCode(ctx, f.aiko.id, "JPY")
	if err != nil {
		t.Fatal(err)
	}
	pay, err := f.st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.cafe.id, Code: pc.Code, Amount: 1280, Currency: "JPY"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(zone string, ja bool) string {
		loc, _ := time.LoadLocation(zone)
		if ja {
			return pay.CompletedAt.In(loc).Format("2006年1月2日 15:04:05 MST")
		}
		return pay.CompletedAt.In(loc).Format("2 Jan 2006, 15:04:05 MST")
	}
	en, ja := f.browser("en"), f.browser("ja")
	en.login("app", f.aiko.token)
	ja.login("app", f.aiko.token)
	en.want(en.get("/app/payments/"+pay.ID), 200, at("Asia/Tokyo", false))
	ja.want(ja.get("/app/payments/"+pay.ID), 200, at("Asia/Tokyo", true))

	// The wallet page's form: New York, then both languages show it.
	wallet := en.want(en.get("/app"), 200, "Time zone", `<option value="Asia/Tokyo" selected>`)
	_ = wallet
	en.want(en.get(en.wantRedirect(en.post("/app/time_zone", url.Values{"time_zone": {"America/New_York"}}), "/app?tz=1")), 200,
		"Times are now shown in", "America/New_York")
	en.want(en.get("/app/payments/"+pay.ID), 200, at("America/New_York", false))
	ja.want(ja.get("/app/payments/"+pay.ID), 200, at("America/New_York", true))
	ja.want(ja.post("/app/time_zone", url.Values{"time_zone": {"Mars/Olympus"}}), http.StatusUnprocessableEntity, "このタイムゾーンは使えません")
	// The shop terminal shows the server's zone, not the payer's.
	till := f.browser("en")
	till.login("shop", f.cafe.token)
	till.want(till.get("/shop/payments/"+pay.ID), 200, at("Asia/Tokyo", false))

	// The API: GET and PATCH /v1/me; times stay UTC.
	api := f.browser("")
	me := api.send("GET", "/v1/me", "", nil, "Authorization", "Bearer "+f.aiko.token)
	if !strings.Contains(me.body, `"time_zone":"America/New_York"`) {
		t.Fatalf("GET /v1/me: %s", me.body)
	}
	r := api.send("PATCH", "/v1/me", "application/json", []byte(`{"time_zone":"UTC"}`), "Authorization", "Bearer "+f.aiko.token)
	if r.status != 200 || !strings.Contains(r.body, `"time_zone":"UTC"`) {
		t.Fatalf("PATCH /v1/me: %d %s", r.status, r.body)
	}
	r = api.send("PATCH", "/v1/me", "application/json", []byte(`{"time_zone":"Nowhere/Else"}`), "Authorization", "Bearer "+f.aiko.token)
	if r.status != 422 || !strings.Contains(r.body, `"location":"body.time_zone"`) {
		t.Fatalf("PATCH /v1/me with a bad zone: %d %s", r.status, r.body)
	}
	if r := api.send("PATCH", "/v1/me", "application/json", []byte(`{"time_zone":"UTC"}`), "Authorization", "Bearer "+f.cafe.token); r.status != http.StatusForbidden {
		t.Fatalf("a terminal set a user zone: %d %s", r.status, r.body)
	}
	en.want(en.get("/app/payments/"+pay.ID), 200, at("UTC", false))
	got := api.send("GET", "/v1/payments/"+pay.ID, "", nil, "Authorization", "Bearer "+f.aiko.token)
	if !regexp.MustCompile(`"completed_at":"[0-9T:.-]+Z"`).MatchString(got.body) {
		t.Fatalf("API time not UTC: %s", got.body)
	}
}

// TestCategoryLabels: a service's categories may carry ja/en labels
// (category_labels; the old shape without them still works); the pages
// show the label in their language while the option's value, and so what
// the partner receives, stays the code. The admin form reads and writes
// "code=日本語/English".
func TestCategoryLabels(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	api := f.browser("")
	// API: labels on a new service; a label for no category is refused.
	body := `{"name":"Savings","app_category":"savings","webhook_url":"https://savings.example/hooks","scopes":["amount"],
		"input":{"memo":false,"categories":["rent","fun"],"category_labels":{"rent":{"ja":"家賃","en":"Rent"}}},
		"policy":{"base_threshold":{"JPY":1000}},"enabled":true}`
	r := api.send("POST", "/v1/related_services", "application/json", []byte(body), "Authorization", "Bearer admin")
	if r.status != 201 || !strings.Contains(r.body, `"categories":["rent","fun"]`) || !strings.Contains(r.body, `"category_labels":{"rent":{"ja":"家賃","en":"Rent"}}`) {
		t.Fatalf("create with labels: %d %s", r.status, r.body)
	}
	bad := strings.Replace(body, `"category_labels":{"rent"`, `"category_labels":{"nope"`, 1)
	r = api.send("POST", "/v1/related_services", "application/json", []byte(bad), "Authorization", "Bearer admin")
	if r.status != 422 || !strings.Contains(r.body, `"location":"body.input.category_labels"`) {
		t.Fatalf("a label for no category: %d %s", r.status, r.body)
	}

	// Kakeibo of the fixture gets labels through the admin form.
	admin := f.browser("en")
	admin.login("admin", "admin")
	edit := admin.get("/admin/services/" + f.kakeibo.ID)
	v := serviceValues()
	v.Set("name", "Kakeibo")
	v.Set("categories", "food=食費/Food, daily=日用品/Daily goods, hobby")
	v.Set("scopes", "amount")
	v.Add("scopes", "merchant_name")
	v.Add("scopes", "merchant_category")
	v.Add("scopes", "time")
	v.Set("memo", "1")
	v.Set("memo_max_length", "20")
	v.Set("base_threshold", "1000")
	v.Del("merchant_categories")
	v.Set("ceiling", "")
	v.Set("app_category", "household_budget")
	v.Set("webhook_url", "https://kakeibo.example/hooks/renkei")
	_ = edit
	admin.wantRedirect(admin.post("/admin/services/"+f.kakeibo.ID, v), "/admin/services/"+f.kakeibo.ID+"?saved=1")
	admin.want(admin.get("/admin/services/"+f.kakeibo.ID), 200, `value="food=食費/Food, daily=日用品/Daily goods, hobby"`)
	rs, err := f.st.FindRelatedService(ctx, f.kakeibo.ID)
	if err != nil || rs.Input.CategoryLabels["food"] != (renkei.Localized{JA: "食費", EN: "Food"}) || len(rs.Input.Categories) != 3 {
		t.Fatalf("stored input %+v (%v)", rs.Input, err)
	}

	// A ¥5,000 payment: the card's category list in each language.
	pc, err := f.st.NewPayCode(ctx, f.aiko.id, "JPY")
	if err != nil {
		t.Fatal(err)
	}
	pay, err := f.st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.cafe.id, Code: pc.Code, Amount: 5000, Currency: "JPY"})
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string][]string{
		"ja": {`<option value="food">食費</option>`, `<option value="daily">日用品</option>`, `<option value="hobby">hobby</option>`},
		"en": {`<option value="food">Food</option>`, `<option value="daily">Daily goods</option>`},
	} {
		phone := f.browser(lang)
		phone.login("app", f.aiko.token)
		page := phone.want(phone.get("/app/payments/"+pay.ID), 200)
		for _, w := range want {
			if !strings.Contains(page.body, w) {
				t.Fatalf("%s completion lacks %s:\n%s", lang, w, pagesText(page.body))
			}
		}
	}
	// The partner receives the code.
	sel, err := f.st.Select(renkei.NewContextWithPrincipal(ctx, &renkei.Principal{Kind: renkei.KindUser, ID: f.aiko.id}), f.aiko.id, pay.ID,
		renkei.SelectInput{ServiceID: f.kakeibo.ID, Category: "food"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.st.FindDelivery(ctx, sel.DeliveryID)
	if err != nil || !strings.Contains(d.Body, `"category":"food"`) || strings.Contains(d.Body, "食費") {
		t.Fatalf("delivery body %s (%v)", d.Body, err)
	}
}
