package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// pagesKakeiboInput is the fixture's household account book, in the shape
// of store/related_test.go's kakeiboInput.
func pagesKakeiboInput() renkei.RelatedServiceInput {
	return renkei.RelatedServiceInput{
		Name:        "Kakeibo",
		Description: renkei.Localized{JA: "家計簿に記録", EN: "Record in your household account book"},
		AppURL:      "https://kakeibo.example/app",
		AppCategory: "household_budget",
		WebhookURL:  "https://kakeibo.example/hooks/renkei",
		Scopes:      []string{renkei.ScopeAmount, renkei.ScopeMerchantName, renkei.ScopeMerchantCategory, renkei.ScopeTime},
		Input:       renkei.InputFields{Memo: true, MemoMaxLen: 20, Categories: []string{"food", "daily", "hobby"}},
		Policy:      renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}},
		Enabled:     true,
	}
}

// pagesIcon is a small round green PNG, like the demo's icons.
func pagesIcon() []byte {
	const size = 48
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			if dx, dy := x-size/2, y-size/2; dx*dx+dy*dy <= size*size/4 {
				img.Set(x, y, color.RGBA{0x2e, 0x7d, 0x32, 0xff})
			}
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// pay charges a user's fresh pay code at a terminal, through the store,
// and returns the payment id.
func (f *pagesFixture) pay(u, till pagesParty, yen int64) string {
	f.t.Helper()
	ctx := context.Background()
	pc, err := f.st.NewPayCode(ctx, u.id, "JPY")
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: till.id, Code: pc.Code, Amount: yen, Currency: "JPY"})
	if err != nil {
		f.t.Fatal(err)
	}
	return p.ID
}

// deliveries lists the messages queued for a payment.
func (f *pagesFixture) deliveries(paymentID string) []*renkei.Delivery {
	f.t.Helper()
	ds, _, err := f.st.ListDeliveries(context.Background(), renkei.DeliveryFilter{PaymentID: paymentID, Page: renkei.Page{Limit: 100}})
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

// pagesMessage decodes a queued message's body.
func pagesMessage(t testing.TB, d *renkei.Delivery) store.Message {
	t.Helper()
	var m store.Message
	if err := json.Unmarshal([]byte(d.Body), &m); err != nil {
		t.Fatalf("delivery body %s: %v", d.Body, err)
	}
	return m
}

// cardForm is the select form of a card on a completion page, as the
// page filled it in.
func cardForm(t testing.TB, body, serviceID string) url.Values {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="[^"]*/select"[^>]*>\s*<input type="hidden" name="service_id" value="` +
		regexp.QuoteMeta(serviceID) + `">\s*<input type="hidden" name="idempotency_key" value="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no select form for %s in:\n%s", serviceID, pagesText(body))
	}
	return url.Values{"service_id": {serviceID}, "idempotency_key": {m[1]}}
}

func TestPagesCompletionProposals(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	if _, err := f.st.TopUp(context.Background(), renkei.TopUp{UserID: f.aiko.id, Amount: 20_000, Currency: "JPY"}); err != nil {
		t.Fatal(err)
	}
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	sid := f.kakeibo.ID

	// ¥120 is under the threshold: no card, and no empty region either.
	small := f.pay(f.aiko, f.cafe, 120)
	r := phone.want(phone.get("/app/payments/"+small), 200, "Payment complete", "¥120", `<section id="proposals"`)
	if strings.Contains(r.body, "data-card") || strings.Contains(r.body, "Kakeibo") ||
		!regexp.MustCompile(`<section id="proposals"[^>]* hidden>`).MatchString(r.body) {
		t.Fatalf("a ¥120 coffee got a proposal:\n%s", pagesText(r.body))
	}

	// ¥12,800: a Kakeibo card with its icon, description, the reason on
	// tap, a memo field of 20 characters and the three categories.
	id := f.pay(f.aiko, f.cafe, 12_800)
	page := "/app/payments/" + id
	r = phone.want(phone.get(page), 200, "Apps for this payment", "Kakeibo", "Record in your household account book",
		"<summary>Why this suggestion?</summary>", "Suggested because Kakeibo is new to you and ¥12,800 is over its",
		"If you tap, Kakeibo receives now: amount paid, shop name, shop category, time of payment, your memo and category.",
		`<label for="card-`+sid+`-memo">Memo (optional)</label>`, `maxlength="20"`, "Up to 20 characters.",
		`<option value="">No category</option>`, `<option value="food">food</option>`, `<option value="hobby">hobby</option>`,
		"Record in Kakeibo", `formaction="/app/payments/`+id+`/dismiss"`, "Not now",
		`<img class="proposal-icon" src="/v1/related_services/`+sid+`/icon" alt=""`, `role="status" aria-live="polite"`)
	if !strings.Contains(r.body, `<p class="app-link" data-app-link hidden>`) {
		t.Fatal("the app's link is shown before the user chose it")
	}
	if n := len(f.deliveries(id)); n != 0 {
		t.Fatalf("%d messages queued before any tap", n)
	}

	// The tap, with a memo and a category: 303 back to the card, and the
	// message queued with the memo in it (claims 7 and 8).
	form := cardForm(t, r.body, sid)
	form.Set("memo", "  team lunch ")
	form.Set("category", "food")
	back := phone.wantRedirect(phone.post(page+"/select", form), page+"#card-"+sid)
	// A double tap (the same form again) sends once.
	if again := phone.wantRedirect(phone.post(page+"/select", form), page); again != back {
		t.Fatalf("second tap went to %s", again)
	}
	ds := f.deliveries(id)
	if len(ds) != 1 {
		t.Fatalf("%d messages after one tap sent twice, want 1", len(ds))
	}
	m := pagesMessage(t, ds[0])
	if ds[0].ServiceID != sid || ds[0].Status != renkei.DeliveryQueued || m.Data.Source != renkei.SourceSelection ||
		m.Data.Input == nil || m.Data.Input.Memo != "team lunch" || m.Data.Input.Category != "food" || *m.Data.Amount != 12_800 {
		t.Fatalf("queued message %+v: %s", ds[0], ds[0].Body)
	}
	done := phone.want(phone.get(page), 200, "Sending to Kakeibo…",
		`<p class="app-link" data-app-link><a href="https://kakeibo.example/app" rel="noopener noreferrer">Open Kakeibo</a>`)
	if strings.Contains(done.body, "data-card-form") || strings.Contains(done.body, "Record in Kakeibo") {
		t.Fatal("a chosen card still shows its form")
	}
	ja := f.browser("ja")
	ja.login("app", f.aiko.token)
	ja.want(ja.get(page), 200, "Kakeiboに送信中…", "なぜこの提案？", "家計簿に記録", "しきい値")
	// Chosen once, a new form (another key) is told so.
	form.Set("idempotency_key", "another-tap")
	phone.want(phone.post(page+"/select", form), http.StatusConflict, "You already chose this app for this payment.", "Sending to Kakeibo…")
	ja.want(ja.post(page+"/select", form), http.StatusConflict, "この支払いでは、このアプリをすでに選んでいます。")
	if n := len(f.deliveries(id)); n != 1 {
		t.Fatalf("%d messages after a refused second choice", n)
	}
}

func TestPagesCompletionJSON(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	sid := f.kakeibo.ID
	id := f.pay(f.aiko, f.cafe, 1_280)
	page := "/app/payments/" + id
	form := cardForm(t, phone.get(page).body, sid)

	answer := func(r pagesResp, status int) map[string]string {
		t.Helper()
		if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Fatalf("got %d %s, want %d JSON: %s", r.status, r.header.Get("Content-Type"), status, r.body)
		}
		var out map[string]string
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	asJSON := []string{"Accept", "application/json"}

	// Refusals: the sentence and the field, 4xx, nothing queued.
	long := url.Values{"service_id": form["service_id"], "idempotency_key": form["idempotency_key"], "memo": {strings.Repeat("あ", 21)}}
	a := answer(phone.post(page+"/select", long, asJSON...), http.StatusUnprocessableEntity)
	if a["error"] != "The memo has 21 characters; Kakeibo takes at most 20." || a["field"] != "memo" || a["outcome"] != "" {
		t.Fatalf("too long memo: %v", a)
	}
	bad := url.Values{"service_id": form["service_id"], "idempotency_key": form["idempotency_key"], "category": {"cars"}}
	if a = answer(phone.post(page+"/select", bad, asJSON...), http.StatusUnprocessableEntity); a["field"] != "category" || !strings.Contains(a["error"], `"cars" is not one of Kakeibo's categories`) {
		t.Fatalf("bad category: %v", a)
	}
	if n := len(f.deliveries(id)); n != 0 {
		t.Fatalf("%d messages queued by refused taps", n)
	}

	// The same key, now with a good memo: the refusals did not use it up.
	form.Set("memo", "ランチ")
	a = answer(phone.post(page+"/select", form, asJSON...), http.StatusOK)
	if a["outcome"] != "queued" || a["message"] != "Sending to Kakeibo…" {
		t.Fatalf("tap answered %v", a)
	}
	if ds := f.deliveries(id); len(ds) != 1 || pagesMessage(t, ds[0]).Data.Input.Memo != "ランチ" {
		t.Fatalf("messages %v", ds)
	}
	// A replay answers the same; in Japanese, in Japanese.
	jaPhone := f.browser("ja")
	jaPhone.login("app", f.aiko.token)
	if a = answer(phone.post(page+"/select", form, asJSON...), http.StatusOK); a["outcome"] != "queued" {
		t.Fatalf("replayed tap answered %v", a)
	}
	id2 := f.pay(f.aiko, f.cafe, 2_000)
	form2 := cardForm(t, jaPhone.get("/app/payments/"+id2).body, sid)
	form2.Set("memo", strings.Repeat("x", 25))
	if a = answer(jaPhone.post("/app/payments/"+id2+"/select", form2, asJSON...), http.StatusUnprocessableEntity); a["error"] != "メモは20文字までです（入力は25文字）。" {
		t.Fatalf("ja too long memo: %v", a)
	}
	form2.Del("memo")
	if a = answer(jaPhone.post("/app/payments/"+id2+"/select", form2, asJSON...), http.StatusOK); a["message"] != "Kakeiboに送信中…" {
		t.Fatalf("ja tap answered %v", a)
	}

	// "Not now" as JSON.
	id3 := f.pay(f.aiko, f.cafe, 3_000)
	form3 := cardForm(t, phone.get("/app/payments/"+id3).body, sid)
	if a = answer(phone.post("/app/payments/"+id3+"/dismiss", form3, asJSON...), http.StatusOK); a["outcome"] != "dismissed" || a["message"] != "Not sent" {
		t.Fatalf("dismiss answered %v", a)
	}
	// Someone else's payment: 404, as JSON too.
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	if a = answer(ben.post(page+"/select", form, asJSON...), http.StatusNotFound); a["error"] == "" {
		t.Fatalf("other user's tap answered %v", a)
	}
	if n := len(f.deliveries(id3)); n != 0 {
		t.Fatalf("a dismissed card queued %d messages", n)
	}
}

func TestPagesCompletionRefusals(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	sid := f.kakeibo.ID
	id := f.pay(f.aiko, f.cafe, 1_500)
	page := "/app/payments/" + id
	form := cardForm(t, phone.get(page).body, sid)

	// A memo too long: the sentence in the card, the memo kept, the field
	// marked and tied to the sentence.
	form.Set("memo", strings.Repeat("m", 21))
	r := phone.want(phone.post(page+"/select", form), http.StatusUnprocessableEntity,
		"The memo has 21 characters; Kakeibo takes at most 20.", `value="`+strings.Repeat("m", 21)+`"`)
	if !regexp.MustCompile(`name="memo"[^>]*aria-describedby="card-`+sid+`-memo-help card-`+sid+`-error" aria-invalid="true"`).MatchString(r.body) ||
		!strings.Contains(r.body, `<div id="card-`+sid+`-error" role="alert" data-card-error><p class="error">`) {
		t.Fatalf("refused memo is not tied to its field:\n%s", r.body)
	}
	form.Set("memo", "ok")
	form.Set("category", "cars")
	phone.want(phone.post(page+"/select", form), http.StatusUnprocessableEntity, `"cars" is not one of Kakeibo's categories.`)
	// Not proposed, no key, not a payment.
	phone.want(phone.post(page+"/select", url.Values{"service_id": {"rsv_nope"}, "idempotency_key": {"k1"}}),
		http.StatusUnprocessableEntity, "That app was not proposed for this payment.")
	phone.want(phone.post(page+"/select", url.Values{"service_id": {sid}}), http.StatusUnprocessableEntity, "This form is out of date")
	phone.want(phone.post("/app/payments/nope/select", form), http.StatusNotFound, "Page not found")
	if n := len(f.deliveries(id)); n != 0 {
		t.Fatalf("refused taps queued %d messages", n)
	}

	// Another user cannot see the card, tap it, or dismiss it.
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	form.Del("category")
	nf := ben.want(ben.get(page), http.StatusNotFound, "Page not found")
	if strings.Contains(nf.body, "Kakeibo") {
		t.Fatal("someone else's card is shown")
	}
	ben.want(ben.post(page+"/select", form), http.StatusNotFound, "Page not found")
	ben.want(ben.post(page+"/dismiss", form), http.StatusNotFound, "Page not found")
	if n := len(f.deliveries(id)); n != 0 {
		t.Fatalf("another user's tap queued %d messages", n)
	}

	// "Not now": the card closes with a note, nothing is sent.
	phone.wantRedirect(phone.post(page+"/dismiss", form), page+"#card-"+sid)
	r = phone.want(phone.get(page), 200, "Kakeibo", "Not sent")
	if strings.Contains(r.body, "data-card-form") || !strings.Contains(r.body, "data-app-link hidden") {
		t.Fatal("a dismissed card still asks, or links to the app")
	}
	phone.wantRedirect(phone.post(page+"/dismiss", form), page) // twice changes nothing
	if n := len(f.deliveries(id)); n != 0 {
		t.Fatalf("a dismissed card queued %d messages", n)
	}
	// A cross-site tap is refused.
	id2 := f.pay(f.aiko, f.cafe, 1_600)
	form2 := cardForm(t, phone.get("/app/payments/"+id2).body, sid)
	phone.want(phone.post("/app/payments/"+id2+"/select", form2, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	if n := len(f.deliveries(id2)); n != 0 {
		t.Fatalf("a cross-site tap queued %d messages", n)
	}
}

func TestPagesLinks(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	sid := f.kakeibo.ID
	ctx := context.Background()
	// A disabled service is not offered.
	off := pagesKakeiboInput()
	off.Name, off.Enabled = "Hidden Budget", false
	if _, _, err := f.st.CreateRelatedService(ctx, off); err != nil {
		t.Fatal(err)
	}

	r := phone.want(phone.get("/app/links"), 200, `<a href="/app/links" aria-current="page">Apps</a>`, "Linked apps", "Kakeibo",
		"Receives: amount paid, shop name, shop category, time of payment", "Real time: send every payment automatically",
		"This app does not take the statement feed.", "Link Kakeibo")
	if strings.Contains(r.body, "Hidden Budget") {
		t.Fatal("a disabled service is offered for linking")
	}
	key := pagesField(t, r.body, "", "idempotency_key")
	link := url.Values{"service_id": {sid}, "auto": {"1"}, "idempotency_key": {key}}
	phone.wantRedirect(phone.post("/app/links", link), "/app/links?linked="+sid)
	phone.wantRedirect(phone.post("/app/links", link), "/app/links?linked=") // a double tap links once
	r = phone.want(phone.get("/app/links?linked="+sid), 200, "Linked to Kakeibo.", "Real time: on. Every payment is sent the moment you pay.", "Unlink Kakeibo")
	ls, err := f.st.ListLinks(ctx, f.aiko.id)
	if err != nil || len(ls) != 1 || !ls[0].Auto || ls[0].Status != renkei.LinkActive {
		t.Fatalf("links %v %v", ls, err)
	}
	link.Set("idempotency_key", "other")
	phone.want(phone.post("/app/links", link), http.StatusConflict, "You are already linked to Kakeibo")

	// With the automatic link, a payment is sent without a card.
	id := f.pay(f.aiko, f.cafe, 1_280)
	if ds := f.deliveries(id); len(ds) != 1 || ds[0].Source != renkei.SourceLink {
		t.Fatalf("auto link sent %v", ds)
	}
	if page := phone.get("/app/payments/" + id); strings.Contains(page.body, "data-card") {
		t.Fatal("a card for an app that already gets every payment")
	}

	// Unlink: another user cannot; the user can, and it is gone.
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	unlink := regexp.MustCompile(`action="(/app/links/lnk_[^"]+/revoke)"`).FindStringSubmatch(r.body)
	if unlink == nil {
		t.Fatal("no unlink form")
	}
	ben.want(ben.post(unlink[1], url.Values{}), http.StatusNotFound)
	phone.wantRedirect(phone.post(unlink[1], url.Values{}), "/app/links?unlinked="+sid)
	phone.want(phone.get("/app/links?unlinked="+sid), 200, "Unlinked Kakeibo. It is told the link ended; nothing else is sent to it.", "Link Kakeibo")
	if ls, _ := f.st.ListLinks(ctx, f.aiko.id); len(ls) != 1 || ls[0].Status != renkei.LinkRevoked {
		t.Fatalf("links after unlink %v", ls)
	}

	ja := f.browser("ja")
	ja.login("app", f.aiko.token)
	ja.want(ja.get("/app/links"), 200, "連携アプリ", "受け取る情報：金額、店名、店の業種、日時", "リアルタイム：すべての支払いを自動で送る", "Kakeiboと連携する")
}
