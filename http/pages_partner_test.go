package http_test

import (
	"context"
	crand "crypto/rand"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/webhook"
)

// pagesPartner adds a second related service, Points, with its partner
// key, and links Aiko to both services so that every payment of hers
// queues one message to each.
func (f *pagesFixture) pagesPartner() (*renkei.RelatedService, string) {
	f.t.Helper()
	ctx := context.Background()
	in := pagesKakeiboInput()
	in.Name, in.AppCategory, in.WebhookURL = "Points", "points", "https://points.example/hooks"
	rs, key, err := f.st.CreateRelatedService(ctx, in)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, id := range []string{f.kakeibo.ID, rs.ID} {
		if _, err := f.st.CreateLink(ctx, f.aiko.id, renkei.LinkInput{ServiceID: id, Auto: true}); err != nil {
			f.t.Fatal(err)
		}
	}
	return rs, key
}

// messageTo pays and returns the message the payment queued for service.
func (f *pagesFixture) messageTo(serviceID string) *renkei.Delivery {
	f.t.Helper()
	for _, d := range f.deliveries(f.pay(f.aiko, f.cafe, 1_280)) {
		if d.ServiceID == serviceID {
			return d
		}
	}
	f.t.Fatalf("no message to %s", serviceID)
	return nil
}

// fail records a final failed attempt, as the sender does after its last
// retry: the message is failed.
func (f *pagesFixture) fail(deliveryID string, n int) {
	f.t.Helper()
	if err := f.st.RecordAttempt(context.Background(), deliveryID, store.AttemptResult{Attempt: n, StartedAt: time.Now(),
		Duration: 12 * time.Millisecond, Status: 503, Body: "busy", Err: "HTTP 503 Service Unavailable", Final: true}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *pagesFixture) status(deliveryID string) string {
	f.t.Helper()
	d, err := f.st.FindDelivery(context.Background(), deliveryID)
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Status
}

// actionKey is the hidden idempotency key of the form posting to action.
func actionKey(t testing.TB, body, action string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) +
		`"[^>]*>\s*<input type="hidden" name="idempotency_key" value="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form to %s in:\n%s", action, pagesText(body))
	}
	return m[1]
}

var pagesSecretRe = regexp.MustCompile(`whsec_[A-Za-z0-9+/=_-]+`)

// pagesSecret is the signing secret a page shows, if any.
func pagesSecret(body string) string { return pagesSecretRe.FindString(html.UnescapeString(body)) }

func TestPagesAdminDeliveryLog(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	points, _ := f.pagesPartner()
	dk := f.messageTo(f.kakeibo.ID)
	f.fail(dk.ID, 1)
	admin := f.browser("en")
	admin.wantRedirect(admin.post("/admin/login", url.Values{"token": {"admin"}}), "/admin")

	// The detail page: the message, its body and its attempt log.
	detail := "/admin/deliveries/" + dk.ID
	page := admin.want(admin.get(detail), 200, "Message details", dk.ID, "Kakeibo", "Failed", dk.PaymentID,
		"HTTP 503 Service Unavailable", `<table class="attempts">`, "<pre", `"type": "payment.completed"`, "Send again")
	row := regexp.MustCompile(`(?s)<tbody>\s*<tr>(.*?)</tr>`).FindStringSubmatch(page.body)
	if row == nil {
		t.Fatalf("no attempt row:\n%s", pagesText(page.body))
	}
	for _, want := range []string{">1<", ">12<", ">503<", "busy", "HTTP 503 Service Unavailable"} {
		if !strings.Contains(row[1], want) {
			t.Fatalf("attempt row lacks %q: %s", want, row[1])
		}
	}
	admin.want(admin.get("/admin/deliveries/msg_01M898G687CMTT6FS57E8YP5S0"), http.StatusNotFound)
	admin.want(admin.get("/admin/deliveries/nonsense"), http.StatusNotFound)

	// The list links to it, and filters by status and payment.
	list := admin.want(admin.get("/admin/deliveries?status=failed"), 200, `href="`+detail+`"`, "HTTP 503 Service Unavailable")
	if n := strings.Count(list.body, `class="card delivery"`); n != 1 {
		t.Fatalf("the status filter shows %d messages, want the one failed", n)
	}
	admin.want(admin.get("/admin/deliveries?payment="+dk.PaymentID), 200, dk.ID)
	if other := admin.get("/admin/deliveries?payment=" + f.pay(f.aiko, f.cafe, 500)); strings.Contains(other.body, dk.ID) {
		t.Fatal("the payment filter shows another payment's message")
	}
	admin.want(admin.get("/admin/deliveries?payment=12345"), http.StatusUnprocessableEntity, "A payment id starts with pay_")

	// Send it again: queued, and a second tap of the same form replays
	// the first answer instead of doing it twice.
	key := actionKey(t, page.body, detail+"/replay")
	admin.wantRedirect(admin.post(detail+"/replay", url.Values{"idempotency_key": {key}}), detail+"?replayed=1")
	if st := f.status(dk.ID); st != renkei.DeliveryQueued {
		t.Fatalf("replayed message is %s", st)
	}
	admin.wantRedirect(admin.post(detail+"/replay", url.Values{"idempotency_key": {key}}), detail+"?replayed=1")
	admin.want(admin.get(detail+"?replayed=1"), 200, "Queued to be sent again", "Queued")
	admin.want(admin.post(detail+"/replay", url.Values{"idempotency_key": {"pg_fresh"}}), http.StatusSeeOther)
	admin.want(admin.get(detail+"?replayed=0"), 200, "Nothing was sent again")
	admin.want(admin.post(detail+"/replay", url.Values{}), http.StatusUnprocessableEntity, "This form is out of date.")

	// Resend everything of a service that failed since a time.
	f.fail(dk.ID, 2)
	dk2 := f.messageTo(f.kakeibo.ID)
	f.fail(dk2.ID, 1)
	dp := f.messageTo(points.ID)
	f.fail(dp.ID, 1)
	list = admin.want(admin.get("/admin/deliveries?service="+f.kakeibo.ID), 200, "Resend all failed since (JST, Asia/Tokyo)")
	since := time.Now().In(time.FixedZone("JST", 9*3600)).Add(-time.Hour).Format("2006-01-02T15:04")
	form := url.Values{"idempotency_key": {actionKey(t, list.body, "/admin/deliveries/replay")}, "service": {f.kakeibo.ID}, "since": {since}}
	to := admin.wantRedirect(admin.post("/admin/deliveries/replay", form), "/admin/deliveries?")
	admin.want(admin.get(to), 200, "Queued 2 failed messages to be sent again.")
	if f.status(dk.ID) != renkei.DeliveryQueued || f.status(dk2.ID) != renkei.DeliveryQueued || f.status(dp.ID) != renkei.DeliveryFailed {
		t.Fatal("the resend did not queue exactly the service's failed messages")
	}
	form.Set("idempotency_key", "pg_later")
	form.Set("since", time.Now().In(time.FixedZone("JST", 9*3600)).Add(time.Hour).Format("2006-01-02T15:04"))
	admin.want(admin.get(admin.wantRedirect(admin.post("/admin/deliveries/replay", form), "/admin/deliveries?")), 200, "nothing was queued")
	form.Set("since", "yesterday")
	admin.want(admin.post("/admin/deliveries/replay", form), http.StatusUnprocessableEntity, "Give the date and time to resend from.")
	form.Set("since", since)
	form.Set("service", "rsv_01M898G687CMTT6FS57E8YP5S0")
	admin.want(admin.post("/admin/deliveries/replay", form), http.StatusUnprocessableEntity, "Choose the service")

	// Paging: twenty to a page, the next one after the last shown.
	for range 20 {
		f.pay(f.aiko, f.cafe, 1)
	}
	first := admin.want(admin.get("/admin/deliveries?service="+f.kakeibo.ID), 200, "Next page")
	next := regexp.MustCompile(`href="([^"]*starting_after=[^"]*)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil || !strings.Contains(next[1], "service="+f.kakeibo.ID) {
		t.Fatalf("no next page link keeping the filter:\n%s", first.body)
	}
	second := admin.want(admin.get(strings.ReplaceAll(next[1], "&amp;", "&")), 200, "First page", dk.ID)
	if strings.Contains(first.body, `id="`+dk.ID+`-h"`) || strings.Contains(second.body, "Next page") {
		t.Fatal("pages overlap or do not end")
	}

	// A form from another site is refused, and does nothing.
	f.fail(dk.ID, 3)
	admin.want(admin.post(detail+"/replay", url.Values{"idempotency_key": {"pg_x"}}, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	if f.status(dk.ID) != renkei.DeliveryFailed {
		t.Fatal("a cross-site post replayed a message")
	}

	// In Japanese.
	ja := f.browser("ja")
	ja.wantRedirect(ja.post("/admin/login", url.Values{"token": {"admin"}}), "/admin")
	ja.want(ja.get("/admin/deliveries"), 200, "<h1>連携サービスへのメッセージ</h1>", "失敗したメッセージの再送", "この日時以降の失敗をすべて再送（JST, Asia/Tokyo）")
	ja.want(ja.get(detail), 200, "<h1>メッセージの詳細</h1>", ">送信の記録</h2>", "HTTPステータス", "再送する")
}

func TestPagesAdminEndpointHealthAndSecret(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	ctx := context.Background()
	key := make([]byte, webhook.KeySize)
	crand.Read(key)
	sealer, _ := webhook.NewSealer(key)
	f.st.Secrets, f.st.NewSecret = sealer, webhook.NewSecret // before the first request, so no race
	points, _ := f.pagesPartner()
	admin := f.browser("en")
	admin.wantRedirect(admin.post("/admin/login", url.Values{"token": {"admin"}}), "/admin")

	// Healthy, failing, then turned off by a 410.
	edit := "/admin/services/" + points.ID
	admin.want(admin.get(edit), 200, "Endpoint", "no attempt is failing")
	dp := f.messageTo(points.ID)
	if err := f.st.RecordAttempt(ctx, dp.ID, store.AttemptResult{Attempt: 1, StartedAt: time.Now(), Status: 500, Err: "HTTP 500"}); err != nil {
		t.Fatal(err)
	}
	admin.want(admin.get("/admin"), 200, "Failing", "No attempt has succeeded since")
	if err := f.st.RecordAttempt(ctx, dp.ID, store.AttemptResult{Attempt: 2, StartedAt: time.Now(), Status: 410, Err: "HTTP 410 Gone", Gone: true}); err != nil {
		t.Fatal(err)
	}
	admin.want(admin.get("/admin"), 200, "Disabled", "Turned off automatically: the endpoint answered 410 Gone")
	admin.want(admin.get(edit), 200, "Turned off automatically: the endpoint answered 410 Gone", "check “Enabled” in its settings and save")
	ja := f.browser("ja")
	ja.wantRedirect(ja.post("/admin/login", url.Values{"token": {"admin"}}), "/admin")
	ja.want(ja.get(edit), 200, "無効", "410 Gone（送信停止の依頼）を返したため、自動で無効にしました。")

	// Rotate the signing secret: shown once, and a double tap does not
	// rotate twice.
	page := admin.get(edit)
	rotate := url.Values{"idempotency_key": {actionKey(t, page.body, edit+"/rotate_secret")}}
	r := admin.want(admin.post(edit+"/rotate_secret", rotate), 200, "Made a new signing secret.", "shown only this once",
		"The old secret stays valid for 24 hours")
	s1 := pagesSecret(r.body)
	again := admin.want(admin.post(edit+"/rotate_secret", rotate), 200)
	if s1 == "" || pagesSecret(again.body) != s1 {
		t.Fatalf("rotated secret %q, on the repeat %q", s1, pagesSecret(again.body))
	}
	if b := admin.get(edit).body; pagesSecret(b) != "" {
		t.Fatal("the secret is shown again")
	}
	// A second rotation: the first secret still signs, for the grace.
	r = admin.want(admin.post(edit+"/rotate_secret", url.Values{"idempotency_key": {"pg_second"}}), 200)
	s2 := pagesSecret(r.body)
	o, err := f.st.Outgoing(ctx, dp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s2 == "" || s2 == s1 || len(o.Secrets) != 2 || o.Secrets[0] != s2 || o.Secrets[1] != s1 {
		t.Fatalf("after two rotations the endpoint signs with %d secrets", len(o.Secrets))
	}
	// From another site: refused, not rotated.
	admin.want(admin.post(edit+"/rotate_secret", url.Values{"idempotency_key": {"pg_third"}}, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	if o, _ := f.st.Outgoing(ctx, dp.ID); o.Secrets[0] != s2 {
		t.Fatal("a cross-site post rotated the secret")
	}
}

func TestPagesPartner(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	points, key := f.pagesPartner()
	dk := f.messageTo(f.kakeibo.ID) // Kakeibo's: never Points' to see
	f.fail(dk.ID, 1)
	dp := f.messageTo(points.ID)
	f.fail(dp.ID, 1)

	// Login: the partner key only, into a strict cookie for /partner alone.
	p := f.browser("en")
	p.wantRedirect(p.get("/partner/deliveries"), "/partner/login?next=%2Fpartner%2Fdeliveries")
	p.want(p.get("/partner/login"), 200, "Log in as a partner", "rk_rsv_")
	p.want(p.post("/partner/login", url.Values{"token": {f.aiko.token}}), http.StatusForbidden, "This is not a partner API key")
	p.want(p.post("/partner/login", url.Values{"token": {"admin"}}), http.StatusForbidden, "This is not a partner API key")
	p.want(p.post("/partner/login", url.Values{"token": {"rk_rsv_wrong"}}), http.StatusUnauthorized, "This token is not valid.")
	r := p.post("/partner/login", url.Values{"token": {key}, "next": {"/partner/deliveries"}})
	p.wantRedirect(r, "/partner/deliveries")
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"renkei_partner=", "Path=/partner", "HttpOnly", "SameSite=Strict", "Max-Age=43200"} {
		if !strings.Contains(ck, want) {
			t.Fatalf("partner cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, key) {
		t.Fatalf("the partner cookie holds the API key in the clear: %q", ck)
	}
	p.wantRedirect(p.get("/admin"), "/admin/login")

	// Its settings, read-only.
	home := p.want(p.get("/partner"), 200, "Your settings", "Points", "https://points.example/hooks",
		"amount paid, shop name, shop category, time of payment", "¥1,000", "memo (up to 20)", "Failing", "No attempt has succeeded since")
	if n := strings.Count(home.body, `method="post"`); n != 1 {
		t.Fatalf("the settings page has %d forms besides logging out", n-1)
	}

	// Its messages, and no one else's.
	list := p.want(p.get("/partner/deliveries"), 200, "Messages to Points", dp.ID, "Resend all failed since (JST, Asia/Tokyo)")
	if strings.Contains(list.body, dk.ID) {
		t.Fatal("a partner sees another service's message")
	}
	if other := p.get("/partner/deliveries?service=" + f.kakeibo.ID); strings.Contains(other.body, dk.ID) {
		t.Fatal("a partner's service filter reaches another service")
	}
	p.want(p.get("/partner/deliveries?status=failed&payment="+dp.PaymentID), 200, dp.ID)
	page := p.want(p.get("/partner/deliveries/"+dp.ID), 200, "Message details", "HTTP 503 Service Unavailable", "busy", "Send again")
	p.want(p.get("/partner/deliveries/"+dk.ID), http.StatusNotFound, "Page not found")
	p.want(p.post("/partner/deliveries/"+dk.ID+"/replay", url.Values{"idempotency_key": {"pg_theirs"}}), http.StatusNotFound)
	if f.status(dk.ID) != renkei.DeliveryFailed {
		t.Fatal("a partner replayed another service's message")
	}

	// Its two resend actions.
	detail := "/partner/deliveries/" + dp.ID
	p.wantRedirect(p.post(detail+"/replay", url.Values{"idempotency_key": {actionKey(t, page.body, detail+"/replay")}}), detail+"?replayed=1")
	if f.status(dp.ID) != renkei.DeliveryQueued {
		t.Fatal("the partner's replay did not queue its message")
	}
	f.fail(dp.ID, 2)
	form := url.Values{"idempotency_key": {actionKey(t, list.body, "/partner/deliveries/replay")},
		"since": {time.Now().In(time.FixedZone("JST", 9*3600)).Add(-time.Hour).Format("2006-01-02T15:04")}, "service": {f.kakeibo.ID}}
	to := p.wantRedirect(p.post("/partner/deliveries/replay", form), "/partner/deliveries?replayed=1")
	p.want(p.get(to), 200, "Queued 1 failed message to be sent again.")
	if f.status(dp.ID) != renkei.DeliveryQueued || f.status(dk.ID) != renkei.DeliveryFailed {
		t.Fatal("the partner's resend reached past its own service")
	}
	p.want(p.post(detail+"/replay", url.Values{"idempotency_key": {"pg_y"}}, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)

	// Turned off: the partner sees why, and what to do.
	if err := f.st.RecordAttempt(context.Background(), dp.ID, store.AttemptResult{Attempt: 3, StartedAt: time.Now(), Status: 410,
		Err: "HTTP 410 Gone", Gone: true}); err != nil {
		t.Fatal(err)
	}
	p.want(p.get("/partner"), 200, "Disabled", "the endpoint answered 410 Gone", "ask the Renkei administrator to turn it on")

	// In Japanese.
	ja := f.browser("ja")
	ja.wantRedirect(ja.post("/partner/login", url.Values{"token": {key}}), "/partner")
	ja.want(ja.get("/partner"), 200, "<h1>設定</h1>", "送信先", "Renkei の管理者に再開を依頼")
	ja.want(ja.get("/partner/deliveries"), 200, "<h1>Pointsへのメッセージ</h1>", "この日時以降の失敗をすべて再送（JST, Asia/Tokyo）")
	ja.want(ja.get(detail), 200, "<h1>メッセージの詳細</h1>", ">送信の記録</h2>")
	// A Japanese page reads its time in Japan time: read as UTC, ten
	// minutes ago would be hours ahead and resend nothing.
	f.fail(dp.ID, 4)
	jl := ja.get("/partner/deliveries")
	form = url.Values{"idempotency_key": {actionKey(t, jl.body, "/partner/deliveries/replay")},
		"since": {time.Now().In(time.FixedZone("JST", 9*3600)).Add(-10 * time.Minute).Format("2006-01-02T15:04")}}
	to = ja.wantRedirect(ja.post("/partner/deliveries/replay", form), "/partner/deliveries?replayed=1")
	ja.want(ja.get(to), 200, "失敗したメッセージ 1 件を再送に回しました。")

	// Log out.
	out := p.post("/partner/logout", url.Values{})
	p.wantRedirect(out, "/partner/login?out=1")
	if ck := out.header.Get("Set-Cookie"); !strings.Contains(ck, "renkei_partner=;") || !strings.Contains(ck, "Path=/partner") {
		t.Fatalf("logout cookie %q", ck)
	}
	p.wantRedirect(p.get("/partner"), "/partner/login")
}
