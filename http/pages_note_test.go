package http_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// memoForm is the memo form's idempotency key on a payment page.
func memoForm(t testing.TB, body, paymentID string) url.Values {
	t.Helper()
	m := regexp.MustCompile(`(?s)<form method="post" action="/app/payments/` + paymentID + `/memo"[^>]*>\s*<input type="hidden" name="idempotency_key" value="([^"]+)">`).
		FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no memo form in:\n%s", pagesText(body))
	}
	return url.Values{"idempotency_key": {m[1]}}
}

// TestPagesCardStatesAndMemo: after the tap the card's state comes from
// the delivery (queued, then recorded once Kakeibo answered), for the
// payer only; the memo form appears once Kakeibo has the payment, is
// held to Kakeibo's limits, sends payment.annotated once per form, and
// says so, in Japanese.
func TestPagesCardStatesAndMemo(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("ja")
	phone.login("app", f.aiko.token)
	other := f.browser("ja")
	other.login("app", f.ben.token)
	sid := f.kakeibo.ID
	id := f.pay(f.aiko, f.cafe, 1_280)
	page := "/app/payments/" + id
	body := phone.want(phone.get(page), 200).body
	if strings.Contains(body, `id="memo"`) {
		t.Fatal("a memo form before any app has the payment")
	}
	form := cardForm(t, body, sid)
	form.Set("memo", "lunch")
	phone.wantRedirect(phone.post(page+"/select", form), page)

	cards := func(b *pagesBrowser, status int) []map[string]any {
		t.Helper()
		r := b.do("GET", page+"/cards", nil, "Accept", "application/json")
		if r.status != status {
			t.Fatalf("cards: %d %s, want %d", r.status, r.body, status)
		}
		if status != 200 {
			return nil
		}
		var out struct {
			Cards []map[string]any `json:"cards"`
		}
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatal(err)
		}
		return out.Cards
	}
	if c := cards(phone, 200); len(c) != 1 || c[0]["service_id"] != sid || c[0]["outcome"] != "queued" || c[0]["final"] != false ||
		c[0]["message"] != "Kakeiboに送信中…" {
		t.Fatalf("cards after the tap: %v", c)
	}
	cards(other, 404)
	ds := f.deliveries(id)
	if err := f.st.RecordAttempt(context.Background(), ds[0].ID, store.AttemptResult{Attempt: 1, StartedAt: time.Now(),
		Status: 503, Err: "HTTP 503"}); err != nil {
		t.Fatal(err)
	}
	if c := cards(phone, 200); c[0]["outcome"] != "retrying" || c[0]["final"] != false || !strings.Contains(c[0]["message"].(string), "自動で再送") {
		t.Fatalf("cards after a failed attempt: %v", c)
	}
	if err := f.st.RecordAttempt(context.Background(), ds[0].ID, store.AttemptResult{Attempt: 2, StartedAt: time.Now(),
		Status: 204, Delivered: true}); err != nil {
		t.Fatal(err)
	}
	if c := cards(phone, 200); c[0]["outcome"] != "sent" || c[0]["final"] != true || c[0]["message"] != "Kakeiboに記録しました" {
		t.Fatalf("cards after delivery: %v", c)
	}

	// A message that failed every attempt says so, and that nothing
	// follows by itself.
	id2 := f.pay(f.aiko, f.cafe, 2_000)
	form2 := cardForm(t, phone.want(phone.get("/app/payments/"+id2), 200).body, sid)
	phone.wantRedirect(phone.post("/app/payments/"+id2+"/select", form2), "/app/payments/"+id2)
	if err := f.st.RecordAttempt(context.Background(), f.deliveries(id2)[0].ID, store.AttemptResult{Attempt: 8, StartedAt: time.Now(),
		Status: 500, Err: "HTTP 500", Final: true}); err != nil {
		t.Fatal(err)
	}
	phone.want(phone.get("/app/payments/"+id2), 200, "outcome-failed", "自動の再送は終了しました")

	body = phone.want(phone.get(page), 200, "Kakeiboに記録しました", "メモを保存").body
	if v := pagesField(t, body, "", "memo"); v != "lunch" {
		t.Fatalf("the memo field holds %q", v)
	}
	mf := memoForm(t, body, id)
	mf.Set("memo", strings.Repeat("あ", 21))
	phone.want(phone.post(page+"/memo", mf), http.StatusUnprocessableEntity, "メモは20文字までです（入力は21文字）。")
	mf.Set("memo", "team lunch")
	mf.Set("category", "cars")
	phone.want(phone.post(page+"/memo", mf), http.StatusUnprocessableEntity, "「cars」は選べるカテゴリにありません")
	other.want(other.post(page+"/memo", mf), http.StatusNotFound)

	mf = memoForm(t, body, id)
	mf.Set("memo", "team lunch")
	mf.Set("category", "daily")
	phone.wantRedirect(phone.post(page+"/memo", mf), page+"?memo=saved")
	phone.wantRedirect(phone.post(page+"/memo", mf), page+"?memo=saved") // a double tap
	phone.want(phone.get(page+"?memo=saved"), 200, "メモを保存しました。Kakeibo に送信しています。", `value="team lunch"`)
	var annotated []store.Message
	for _, d := range f.deliveries(id) {
		if d.Type == renkei.EventPaymentAnnotated {
			annotated = append(annotated, pagesMessage(t, d))
		}
	}
	if len(annotated) != 1 || annotated[0].Data.PaymentID != id || annotated[0].Data.Input.Memo != "team lunch" ||
		annotated[0].Data.Input.Category != "daily" {
		t.Fatalf("annotated messages %+v", annotated)
	}
}

// TestPagesPayAfterDecline: the pay page's script learns of a decline
// (with the payer's sentence) and, asking from after it, of the same
// code's later payment; a top-up from the pay page answers JSON with the
// new balance and a fresh key.
func TestPagesPayAfterDecline(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("ja")
	phone.login("app", f.ben.token) // ¥100
	code, r := phone.showPayCode()
	since := pagesField(t, r.body, "data-since", "")
	key := pagesField(t, r.body, "", "idempotency_key")
	if !strings.Contains(r.body, "data-topup") {
		t.Fatal("no top-up offered on the pay page in demo mode")
	}
	ctx := context.Background()
	_, err := f.st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.cafe.id, Code: code, Amount: 5000, Currency: "JPY"})
	if renkei.ErrorCode(err) != renkei.EDECLINED {
		t.Fatalf("charge above the balance: %v", err)
	}
	poll := func(since string) map[string]any {
		t.Helper()
		r := phone.want(phone.do("GET", "/app/pay/poll?since="+since, nil, "Accept", "application/json"), 200)
		var out map[string]any
		if err := json.Unmarshal([]byte(r.body), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	d := poll(since)
	if d["status"] != "failed" || d["reason"] != renkei.ReasonInsufficientBalance || !strings.HasPrefix(d["failure"].(string), "残高が足りませんでした") {
		t.Fatalf("poll after the decline: %v", d)
	}
	// The failed payment's own page offers the top-up too.
	phone.want(phone.get(d["url"].(string)), 200, "残高が足りませんでした", `<a class="button primary" href="/app">チャージしてもう一度支払う</a>`)
	after := strconv.FormatInt(int64(d["created"].(float64))+1, 10)
	if d := poll(after); len(d) != 0 {
		t.Fatalf("poll from after the decline: %v", d)
	}
	top := phone.post("/app/topup", url.Values{"idempotency_key": {key}}, "Accept", "application/json")
	var ans map[string]string
	if top.status != 200 || json.Unmarshal([]byte(top.body), &ans) != nil || ans["balance"] != "¥10,100" || ans["key"] == "" || ans["key"] == key ||
		!strings.Contains(ans["message"], "¥10,100") {
		t.Fatalf("top-up answer %d %s", top.status, top.body)
	}
	p, err := f.st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.cafe.id, Code: code, Amount: 5000, Currency: "JPY"})
	if err != nil {
		t.Fatalf("the same code after the top-up: %v", err)
	}
	if d := poll(after); d["status"] != "completed" || d["url"] != "/app/payments/"+p.ID {
		t.Fatalf("poll after the payment: %v", d)
	}
}
