package partner_test

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
	rhttp "github.com/renkei/renkei/http"
	"github.com/renkei/renkei/partner"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/webhook"
)

// TestClientAgainstServer runs the SDK's Client against the real Renkei
// API (the http package's server on port 0 over a real SQLite file), so
// the SDK and the server cannot drift apart unnoticed: the paths, the
// query parameters, the JSON of deliveries, attempts and settings, and
// the problem+json errors are the server's own.
func TestClientAgainstServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "renkei.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.PayCode, st.ParsePayCode = emvco.NewPayCode, emvco.ParsePayCode
	st.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	key := make([]byte, webhook.KeySize)
	crand.Read(key)
	sealer, err := webhook.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	st.Secrets, st.NewSecret = sealer, webhook.NewSecret
	srv := &rhttp.Server{Services: st, QRSVG: emvco.QRSVG, FormatPayCode: emvco.FormatPayCode}
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		srv.Close()
		st.Close()
	})

	// A user, a shop, two services; the user taps Kakeibo on two
	// payments. The first message fails for good, the second arrives.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	u, _, err := st.CreateUser(ctx, renkei.CreateUser{Name: "Aiko"})
	must(err)
	_, err = st.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: 100_000})
	must(err)
	m, err := st.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Cafe Hikari", MCC: "5814"})
	must(err)
	term, _, err := st.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "R1"})
	must(err)
	in := renkei.RelatedServiceInput{
		Name: "Kakeibo", Description: renkei.Localized{JA: "家計簿", EN: "Household account book"}, AppCategory: "household_budget",
		WebhookURL: "https://kakeibo.example/renkei", Scopes: []string{renkei.ScopeAmount, renkei.ScopeMerchantName},
		Input:  renkei.InputFields{Memo: true, MemoMaxLen: 200, Categories: []string{"food", "transport"}},
		Policy: renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}}, Enabled: true,
	}
	kakeibo, apiKey, err := st.CreateRelatedService(ctx, in)
	must(err)
	in.Name = "Points"
	points, otherKey, err := st.CreateRelatedService(ctx, in)
	must(err)
	tap := func(amount int64, memo string) (*renkei.Payment, string) {
		t.Helper()
		pc, err := st.NewPayCode(ctx, u.ID, "JPY")
		must(err)
		p, err := st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: amount})
		must(err)
		_, err = st.Completion(ctx, u.ID, p.ID, "en")
		must(err)
		sel, err := st.Select(ctx, u.ID, p.ID, renkei.SelectInput{ServiceID: kakeibo.ID, Memo: memo})
		must(err)
		return p, sel.DeliveryID
	}
	p1, failed := tap(12_800, "team lunch")
	p2, delivered := tap(3_400, "")
	must(st.RecordAttempt(ctx, failed, store.AttemptResult{Attempt: 1, StartedAt: time.Now(), Duration: 12 * time.Millisecond,
		Status: 500, Body: "handler failed; retry later\n", Err: "HTTP 500 Internal Server Error", Final: true}))
	must(st.RecordAttempt(ctx, delivered, store.AttemptResult{Attempt: 1, StartedAt: time.Now(), Duration: 3 * time.Millisecond,
		Status: 204, Delivered: true}))

	c := partner.NewClient(srv.URL()+"/", apiKey, hc)

	// Lists, filtered as the server filters them, newest first.
	page, err := c.Deliveries(ctx, partner.ListOptions{})
	must(err)
	if len(page.Data) != 2 || page.HasMore || page.Data[0].ID != delivered || page.Data[1].ID != failed {
		t.Fatalf("deliveries %+v", page)
	}
	page, err = c.Deliveries(ctx, partner.ListOptions{Status: partner.DeliveryFailed})
	must(err)
	if len(page.Data) != 1 || page.Data[0].ID != failed || page.Data[0].PaymentID != p1.ID || page.Data[0].Attempts != 1 ||
		page.Data[0].LastError == "" || page.Data[0].Source != "selection" {
		t.Fatalf("failed deliveries %+v", page.Data)
	}
	page, err = c.Deliveries(ctx, partner.ListOptions{PaymentID: p2.ID})
	must(err)
	if len(page.Data) != 1 || page.Data[0].Status != partner.DeliveryDelivered || page.Data[0].DeliveredAt == nil {
		t.Fatalf("deliveries of %s: %+v", p2.ID, page.Data)
	}
	page, err = c.Deliveries(ctx, partner.ListOptions{Limit: 1})
	must(err)
	if len(page.Data) != 1 || !page.HasMore {
		t.Fatalf("first page of one %+v", page)
	}
	next, err := c.Deliveries(ctx, partner.ListOptions{Limit: 1, StartingAfter: page.Data[0].ID})
	must(err)
	if len(next.Data) != 1 || next.Data[0].ID != failed || next.HasMore {
		t.Fatalf("second page %+v", next)
	}

	// One delivery with its attempt log; its body is the signed message.
	d, err := c.Delivery(ctx, failed)
	must(err)
	if len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != 500 || d.AttemptLog[0].ResponseBody != "handler failed; retry later\n" ||
		d.AttemptLog[0].Attempt != 1 {
		t.Fatalf("attempt log %+v", d.AttemptLog)
	}
	ev, err := d.Event()
	must(err)
	var pc partner.PaymentCompleted
	must(json.Unmarshal(ev.Data, &pc))
	if ev.ID != failed || ev.Type != partner.TypePaymentCompleted || pc.PaymentID != p1.ID || pc.Input == nil || pc.Input.Memo != "team lunch" {
		t.Fatalf("event %+v, payment %+v", ev, pc)
	}

	// Replays: a failed one goes back to the queue; a delivered one is a
	// conflict; since a time, only failed ones count.
	must(c.Replay(ctx, failed))
	if d, err := c.Delivery(ctx, failed); err != nil || d.Status != partner.DeliveryQueued {
		t.Fatalf("after replay: %+v, %v", d, err)
	}
	err = c.Replay(ctx, delivered)
	wantAPIError(t, err, http.StatusConflict, "", "")
	n, err := c.ReplaySince(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("ReplaySince with nothing failed = %d, %v", n, err)
	}

	// Settings: its own, as registered; another service's is not found.
	s, err := c.Settings(ctx, kakeibo.ID)
	must(err)
	if s.ID != kakeibo.ID || s.Name != "Kakeibo" || s.Description.JA != "家計簿" || !s.Input.Memo || s.Input.MemoMaxLength != 200 ||
		s.Policy.BaseThreshold["JPY"] != 1000 || len(s.Scopes) != 2 || !s.Enabled {
		t.Fatalf("settings %+v", s)
	}
	_, err = c.Settings(ctx, points.ID)
	wantAPIError(t, err, http.StatusNotFound, "", "")

	// Another partner sees none of Kakeibo's messages; a bad key is 401.
	_, err = partner.NewClient(srv.URL(), otherKey, hc).Delivery(ctx, failed)
	wantAPIError(t, err, http.StatusNotFound, "", "")
	_, err = partner.NewClient(srv.URL(), "rk_rsv_wrong", hc).Deliveries(ctx, partner.ListOptions{})
	wantAPIError(t, err, http.StatusUnauthorized, "", "")
	_, err = c.Deliveries(ctx, partner.ListOptions{Status: "lost"})
	wantAPIError(t, err, http.StatusUnprocessableEntity, "", "status")
}

// wantAPIError checks that err is the server's problem+json as an
// *APIError with the status (and the code and a part of the detail, when
// given), and that it does not carry the key.
func wantAPIError(t *testing.T, err error, status int, code, detail string) {
	t.Helper()
	var ae *partner.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *APIError", err)
	}
	if ae.Status != status || (code != "" && ae.Code != code) || ae.Detail == "" || !strings.Contains(ae.Detail, detail) {
		t.Fatalf("got %+v, want %d %q %q", ae, status, code, detail)
	}
	if strings.Contains(err.Error(), "rk_rsv_") {
		t.Fatalf("error leaks a key: %v", err)
	}
}
