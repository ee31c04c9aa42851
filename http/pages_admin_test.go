package http_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/renkei/renkei"
)

// upload posts one file in a multipart form, with the part's content type.
func (b *pagesBrowser) upload(path, field, filename, contentType string, data []byte) pagesResp {
	b.f.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	part, err := w.CreatePart(h)
	if err != nil {
		b.f.t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	return b.send("POST", path, w.FormDataContentType(), body.Bytes())
}

// serviceValues is the admin form of a related service, filled in.
func serviceValues() url.Values {
	return url.Values{
		"name":                {"Points"},
		"description_ja":      {"1%をポイント還元"},
		"description_en":      {"1% back in points"},
		"app_url":             {"https://points.example/"},
		"app_category":        {"points"},
		"webhook_url":         {"https://points.example/hooks"},
		"scopes":              {"amount", "merchant_category", "time"},
		"memo_max_length":     {"200"},
		"categories":          {""},
		"base_threshold":      {"500"},
		"floor":               {""},
		"ceiling":             {"20,000"},
		"merchant_categories": {"groceries", "books"},
		"enabled":             {"1"},
		"idempotency_key":     {formKeyForTest()},
	}
}

func TestPagesAdmin(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	admin := f.browser("en")

	// Login: the admin key only, into a strict cookie for /admin alone.
	admin.wantRedirect(admin.get("/admin"), "/admin/login?next=%2Fadmin")
	admin.want(admin.get("/admin/login"), 200, "Log in as the administrator", "Paste the admin key")
	admin.want(admin.post("/admin/login", url.Values{"token": {f.aiko.token}}), http.StatusForbidden, "This is not the admin key.")
	admin.want(admin.post("/admin/login", url.Values{"token": {"rk_adm_wrong"}}), http.StatusUnauthorized, "This token is not valid.")
	r := admin.post("/admin/login", url.Values{"token": {"admin"}, "next": {"/admin/deliveries"}})
	admin.wantRedirect(r, "/admin/deliveries")
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"renkei_admin=", "Path=/admin", "HttpOnly", "SameSite=Strict", "Max-Age=3600"} {
		if !strings.Contains(ck, want) {
			t.Fatalf("admin cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "renkei_admin=admin") {
		t.Fatalf("the admin cookie holds the admin key in the clear: %q", ck)
	}

	// The list: the fixture's Kakeibo with its settings.
	admin.want(admin.get("/admin"), 200, "Related services", "Kakeibo", "Enabled", "¥1,000", "amount paid, shop name, shop category, time of payment",
		"memo (up to 20)", "food, daily, hobby", `href="/admin/services/`+f.kakeibo.ID+`"`, "Administrator")

	// Register a service: the partner API key is shown once.
	form := admin.want(admin.get("/admin/services/new"), 200, "Register a related service", `name="scopes" value="method"`,
		`name="merchant_categories" value="groceries"`, "Groceries", `name="wants_statement"`)
	if !strings.Contains(form.body, `action="/admin/services/new"`) {
		t.Fatal("no create form")
	}
	bad := serviceValues()
	bad.Set("webhook_url", "ftp://points.example/")
	r = admin.want(admin.post("/admin/services/new", bad), http.StatusUnprocessableEntity, `"ftp://points.example/" is not an http(s) URL.`,
		`value="Points"`, `value="20,000"`)
	if !regexp.MustCompile(`id="webhook_url"[^>]*aria-invalid="true"`).MatchString(r.body) {
		t.Fatal("the bad webhook URL is not marked")
	}
	bad = serviceValues()
	bad.Set("base_threshold", "lots")
	admin.want(admin.post("/admin/services/new", bad), http.StatusUnprocessableEntity, "Base threshold (yen): enter a whole number.")
	created := admin.want(admin.post("/admin/services/new", serviceValues()), http.StatusCreated, "Registered Points.", "Partner API key", "shown only this once")
	key := regexp.MustCompile(`rk_rsv_[A-Za-z0-9_-]+`).FindString(created.body)
	id := regexp.MustCompile(`action="/admin/services/(rsv_[0-9A-Z]{26})"`).FindStringSubmatch(created.body)
	if key == "" || id == nil {
		t.Fatalf("created page lacks the key or the edit form:\n%s", pagesText(created.body))
	}
	if p, err := f.st.Authenticate(ctx, key); err != nil || p.Kind != renkei.KindPartner || p.ID != id[1] {
		t.Fatalf("shown key authenticates as %+v, %v", p, err)
	}
	rs, err := f.st.FindRelatedService(ctx, id[1])
	if err != nil {
		t.Fatal(err)
	}
	if rs.Name != "Points" || rs.Description.JA != "1%をポイント還元" || rs.Policy.BaseThreshold["JPY"] != 500 || rs.Policy.Ceiling["JPY"] != 20_000 ||
		rs.Policy.Floor != nil || len(rs.Scopes) != 3 || strings.Join(rs.Policy.MerchantCategories, ",") != "groceries,books" || !rs.Enabled || rs.Input.Memo {
		t.Fatalf("created %+v", rs)
	}
	edit := "/admin/services/" + rs.ID
	if page := admin.want(admin.get(edit), 200, "Edit Points", `value="500"`); strings.Contains(page.body, key) {
		t.Fatal("the partner key is shown again")
	}

	// Edit: a memo, categories with a Japanese comma, disabled.
	v := serviceValues()
	v.Set("memo", "1")
	v.Set("memo_max_length", "50")
	v.Set("categories", "food、 books ,food")
	v.Set("base_threshold", "800")
	v.Del("enabled")
	admin.wantRedirect(admin.post(edit, v), edit+"?saved=1")
	admin.want(admin.get(edit+"?saved=1"), 200, "Saved.", `value="food, books"`)
	if rs, _ = f.st.FindRelatedService(ctx, rs.ID); rs.Enabled || !rs.Input.Memo || rs.Input.MemoMaxLen != 50 ||
		strings.Join(rs.Input.Categories, "|") != "food|books" || rs.Policy.BaseThreshold["JPY"] != 800 {
		t.Fatalf("edited %+v", rs)
	}
	v.Set("floor", "900")
	v.Set("ceiling", "800")
	admin.want(admin.post(edit, v), http.StatusUnprocessableEntity, "The floor must not be above the ceiling.")
	admin.want(admin.get("/admin/services/rsv_01M898G687CMTT6FS57E8YP5S0"), http.StatusNotFound)

	// The icon: a PNG is stored; a file that only claims to be one is not.
	icon := pagesIcon()
	admin.wantRedirect(admin.upload(edit+"/icon", "icon", "points.png", "image/png", icon), edit+"?icon=1")
	admin.want(admin.get(edit+"?icon=1"), 200, "Icon uploaded.", `src="/v1/related_services/`+rs.ID+`/icon"`)
	if typ, data, err := f.st.ServiceIcon(ctx, rs.ID); err != nil || typ != "image/png" || !bytes.Equal(data, icon) {
		t.Fatalf("stored icon %s %d bytes, %v", typ, len(data), err)
	}
	admin.want(admin.upload(edit+"/icon", "icon", "x.png", "image/png", []byte("<html><script>alert(1)</script></html>")),
		http.StatusUnprocessableEntity, "The file is not the image/png image it claims to be.")
	admin.want(admin.upload(edit+"/icon", "icon", "x.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)),
		http.StatusUnprocessableEntity)
	admin.want(admin.upload(edit+"/icon", "other", "x.png", "image/png", icon), http.StatusUnprocessableEntity, "Choose an image file")

	// The deliveries page shows a queued message's body.
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	pid := f.pay(f.aiko, f.cafe, 1_280)
	tap := cardForm(t, phone.get("/app/payments/"+pid).body, f.kakeibo.ID)
	tap.Set("memo", "team lunch")
	tap.Set("category", "food")
	phone.wantRedirect(phone.post("/app/payments/"+pid+"/select", tap), "/app/payments/"+pid)
	d := f.deliveries(pid)[0]
	page := admin.want(admin.get("/admin/deliveries"), 200, "Messages to related services", d.ID, pid, "Kakeibo", "Queued",
		"payment.completed", "tap", `"memo": "team lunch"`, `"category": "food"`, `"type": "payment.completed"`, "<pre")
	if strings.Contains(page.body, "<script>") {
		t.Fatal("a message body is not escaped")
	}
	admin.want(admin.get("/admin/deliveries?service="+f.kakeibo.ID+"&status=queued"), 200, d.ID)
	if other := admin.get("/admin/deliveries?service=" + rs.ID); strings.Contains(other.body, d.ID) {
		t.Fatal("the service filter shows another service's message")
	}
	if none := admin.get("/admin/deliveries?status=canceled"); !strings.Contains(none.body, "No messages.") {
		t.Fatal("the status filter shows a queued message as canceled")
	}

	// A form from another site is refused.
	admin.want(admin.post(edit, serviceValues(), "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)

	// Log out.
	out := admin.post("/admin/logout", url.Values{})
	admin.wantRedirect(out, "/admin/login?out=1")
	if ck := out.header.Get("Set-Cookie"); !strings.Contains(ck, "renkei_admin=;") || !strings.Contains(ck, "Path=/admin") {
		t.Fatalf("logout cookie %q", ck)
	}
	admin.wantRedirect(admin.get("/admin"), "/admin/login")
}

// TestPagesAdminRefusesOthers: no other token opens the admin pages, not
// even when put into the admin cookie by hand.
func TestPagesAdminRefusesOthers(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	u, _ := url.Parse(f.url + "/admin")
	for _, token := range []string{f.aiko.token, f.cafe.token, "rk_adm_forged"} {
		b := f.browser("en")
		b.login("app", f.aiko.token) // a logged-in wallet user…
		forge := func() { b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "renkei_admin", Value: token, Path: "/admin"}}) }
		for _, p := range []string{"/admin", "/admin/services/new", "/admin/deliveries", "/admin/services/" + f.kakeibo.ID} {
			forge()
			b.wantRedirect(b.get(p), "/admin/login")
		}
		forge()
		r := b.post("/admin/services/new", serviceValues())
		b.wantRedirect(r, "/admin/login")
		if ck := r.header.Get("Set-Cookie"); !strings.Contains(ck, "renkei_admin=;") {
			t.Fatalf("a bad admin cookie was not cleared: %q", ck)
		}
	}
	if svcs, _, _ := f.st.ListRelatedServices(context.Background(), renkei.Page{Limit: 10}); len(svcs) != 1 {
		t.Fatalf("%d services after refused creations", len(svcs))
	}
	// The admin cookie is not sent to the wallet, and the wallet's cookie
	// does not open /admin.
	admin := f.browser("en")
	admin.wantRedirect(admin.post("/admin/login", url.Values{"token": {"admin"}}), "/admin")
	admin.wantRedirect(admin.get("/app"), "/app/login")
}
