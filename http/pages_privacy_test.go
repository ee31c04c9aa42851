package http_test

import (
	"context"
	"encoding/csv"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei"
)

// feedService registers an account book that takes the statement feed.
func (f *pagesFixture) feedService(name string) *renkei.RelatedService {
	f.t.Helper()
	in := pagesKakeiboInput()
	in.Name, in.Policy.WantsStatement = name, true
	in.Policy.BaseThreshold = map[string]int64{"JPY": 100_000}
	rs, _, err := f.st.CreateRelatedService(context.Background(), in)
	if err != nil {
		f.t.Fatal(err)
	}
	return rs
}

// TestPagesLinkConsents (issue 11): the links page says what each link
// sends, offers the statement feed as a consent of its own (off unless
// ticked), lets the user turn it off again, and the completion screen says
// what the links sent or will send of a payment nobody tapped.
func TestPagesLinkConsents(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ledger := f.feedService("Ledger")
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	ctx := context.Background()

	r := phone.want(phone.get("/app/links"), 200, "A link sends only what you turn on",
		"Statement feed: send the shop's statement line of every payment later", `href="/app/privacy"`)
	key := regexp.MustCompile(`name="service_id" value="` + ledger.ID + `">\s*<input type="hidden" name="idempotency_key" value="([^"]+)"`).FindStringSubmatch(r.body)
	if key == nil {
		t.Fatalf("no link form for Ledger:\n%s", r.body)
	}
	link := url.Values{"service_id": {ledger.ID}, "statement": {"1"}, "idempotency_key": {key[1]}}
	phone.wantRedirect(phone.post("/app/links", link), "/app/links?linked="+ledger.ID)
	r = phone.want(phone.get("/app/links"), 200, "Real time: off. A payment is sent only when you tap it on the payment screen.",
		"Statement feed: on. The shop's statement line of every payment is sent later.", "Consent receipt (JSON)")
	ls, err := f.st.ListLinks(ctx, f.aiko.id)
	if err != nil || len(ls) != 1 || ls[0].Auto || !ls[0].Statement {
		t.Fatalf("links %+v %v", ls, err)
	}

	// A payment nobody taps: the screen says the link's feed will send its
	// statement line, and the statement run does.
	id := f.pay(f.aiko, f.cafe, 1_280)
	phone.want(phone.get("/app/payments/"+id), 200, "Sent by your links",
		"Ledger: its statement line will be sent later, by your link's statement feed.")
	if _, err := f.st.RunStatements(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := f.deliveries(id); len(ds) != 1 || ds[0].Type != renkei.EventStatementLine || ds[0].ServiceID != ledger.ID {
		t.Fatalf("statement run sent %+v", ds)
	}

	// The feed off: the page says so and the next payment's line stays home.
	change := regexp.MustCompile(`action="(/app/links/lnk_[^"/]+)"`).FindStringSubmatch(r.body)
	if change == nil {
		t.Fatal("no settings form")
	}
	phone.wantRedirect(phone.post(change[1], url.Values{}), "/app/links?changed="+ledger.ID)
	phone.want(phone.get("/app/links?changed="+ledger.ID), 200, "Saved: Ledger now receives only what is shown.",
		"Statement feed: off. Only the lines of payments you tapped are sent, so the app can match them.")
	id2 := f.pay(f.aiko, f.cafe, 1_300)
	if _, err := f.st.RunStatements(ctx); err != nil {
		t.Fatal(err)
	}
	if ds := f.deliveries(id2); len(ds) != 0 {
		t.Fatalf("a line went out with the feed off: %+v", ds)
	}
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	ben.want(ben.post(change[1], url.Values{"statement": {"1"}}), 404)

	ja := f.browser("ja")
	ja.login("app", f.aiko.token)
	ja.want(ja.get("/app/links"), 200, "明細フィード：オフ。タップした支払いの明細行だけを照合用に送信します。", "同意レシート（JSON）")
}

// TestPagesAdminProvisions: the service's admin page offers its record of
// provision, and the download is that record, cut to the days chosen.
func TestPagesAdminProvisions(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	if _, err := f.st.CreateLink(ctx, f.aiko.id, renkei.LinkInput{ServiceID: f.kakeibo.ID, Auto: true}); err != nil {
		t.Fatal(err)
	}
	id := f.pay(f.aiko, f.cafe, 1_280)
	admin := f.browser("en")
	admin.login("admin", "admin")
	page := "/admin/services/" + f.kakeibo.ID
	admin.want(admin.get(page), 200, "Record of provision (APPI art. 29)", `action="`+page+`/provisions"`, "Download the record")
	today := time.Now().UTC().Format("2006-01-02")
	r := admin.want(admin.get(page+"/provisions?since="+today+"&until="+today+"&format=csv"), 200)
	rows, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[1][4] != f.aiko.id || rows[1][6] != id || rows[1][8] != "link" ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("record %v %v:\n%s", rows, err, r.body)
	}
	old := admin.want(admin.get(page+"/provisions?until=2020-01-01&format=jsonl"), 200)
	if strings.TrimSpace(old.body) != "" {
		t.Fatalf("a period before any message: %q", old.body)
	}
	admin.want(admin.get(page+"/provisions?since=yesterday"), 422, "Give dates as YYYY-MM-DD.")
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	if r := phone.get(page + "/provisions"); r.status == 200 {
		t.Fatal("a payer downloaded the admin's record")
	}
}

// TestPagesPrivacyCenter: the privacy page lists the payer's links with
// what they send, and every provision (what, when, why, the fields, the
// status, the consent receipt); the receipt downloads; unlinking from the
// page stops the queued message and lists link.revoked; nobody else sees
// the page's data or the receipts.
func TestPagesPrivacyCenter(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	ledger := f.feedService("Ledger")
	lk, err := f.st.CreateLink(ctx, f.aiko.id, renkei.LinkInput{ServiceID: ledger.ID, Auto: true})
	if err != nil {
		t.Fatal(err)
	}
	id := f.pay(f.aiko, f.cafe, 1_280)
	phone := f.browser("en")
	phone.login("app", f.aiko.token)
	r := phone.want(phone.get("/app/privacy"), 200, `<a href="/app/privacy" aria-current="page">Privacy</a>`, "Your links", "Ledger",
		"Real time: on. Every payment is sent the moment you pay.", "Statement feed: off.", "What was sent", "Ledger: a payment",
		"Why: your link sends every payment in real time",
		"Sent: your id for this app (not your name), payment number, amount paid, shop name, shop category, time of payment",
		"Waiting to be sent", `href="/app/payments/`+id+`"`, `href="/app/privacy/receipts/`+lk.ConsentID+`"`)
	rc := phone.want(phone.get("/app/privacy/receipts/"+lk.ConsentID), 200, `"consentReceiptID": "`+lk.ConsentID+`"`,
		`"collectionMethod": "link set up in the wallet"`, `"thirdPartyName": "Ledger"`)
	if !strings.Contains(rc.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("receipt not a download: %v", rc.header)
	}
	ben := f.browser("en")
	ben.login("app", f.ben.token)
	ben.want(ben.get("/app/privacy/receipts/"+lk.ConsentID), 404)
	if b := ben.want(ben.get("/app/privacy"), 200, "No app is linked.", "Nothing of yours has been sent to any app."); strings.Contains(b.body, "Ledger") {
		t.Fatal("Ben sees Aiko's privacy page")
	}

	unlink := regexp.MustCompile(`action="(/app/links/lnk_[^"]+/revoke)"`).FindStringSubmatch(r.body)
	if unlink == nil {
		t.Fatal("no unlink form on the privacy page")
	}
	phone.wantRedirect(phone.post(unlink[1], url.Values{"back": {"privacy"}}), "/app/privacy?unlinked="+ledger.ID)
	phone.want(phone.get("/app/privacy?unlinked="+ledger.ID), 200, "Unlinked Ledger.", "No app is linked.",
		"Ledger: the end of your link", "Why: you ended the link; the app is told so it stops", "Stopped before it was sent")

	ja := f.browser("ja")
	ja.login("app", f.aiko.token)
	ja.want(ja.get("/app/privacy"), 200, "プライバシー", "送信の記録", "Ledger: 連携の終了", "送信前に停止", "同意レシート")
}
