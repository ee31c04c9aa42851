package points_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/renkei/renkei/demo/internal/apptest"
	"github.com/renkei/renkei/demo/points"
)

// TestMain fails the run if a test leaves a server, a connection or a
// database goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = apptest.T0

// fixture is one Points on port 0 with a fresh database.
type fixture struct {
	*apptest.Fixture[*points.Server]
}

func newFixture(t *testing.T) *fixture {
	return &fixture{apptest.New(t, points.New)}
}

func newID() string { return apptest.NewID() }

func message(typ string, data map[string]any) []byte { return apptest.Message(typ, data) }

// payment returns the data of a payment.completed as Points sees it
// (scopes amount, merchant_category and time: no merchant name).
func payment(id, user string, amount int64, mcat string) map[string]any {
	return map[string]any{
		"payment_id": id, "amount": amount, "currency": "JPY", "completed_at": t0.Add(-time.Second).Format(time.RFC3339Nano),
		"merchant": map[string]any{"category_code": "5411", "category": mcat},
		"user":     user, "sequence": 1, "source": "link",
	}
}

// refund returns the data of a payment.refunded of amount.
func refund(paymentID, refundID, user string, amount int64) map[string]any {
	return map[string]any{
		"payment_id": paymentID, "refund_id": refundID, "amount": amount, "currency": "JPY",
		"refunded_at": t0.Format(time.RFC3339Nano), "merchant": map[string]any{"category": "groceries"},
		"user": user, "sequence": 2, "source": "link",
	}
}

// getJSON GETs a path and decodes the JSON answer into v.
func (f *fixture) getJSON(path string, v any) {
	f.T.Helper()
	status, body := f.Get(path)
	if status != http.StatusOK {
		f.T.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		f.T.Fatalf("decode %s: %v", body, err)
	}
}

// payment returns the points of one payment, or nil if Points has none.
func (f *fixture) payment(id string) *points.Payment {
	f.T.Helper()
	var l points.PaymentList
	f.getJSON("/api/points?payment_id="+url.QueryEscape(id), &l)
	switch len(l.Points) {
	case 0:
		return nil
	case 1:
		return &l.Points[0]
	}
	f.T.Fatalf("%d payments for %s", len(l.Points), id)
	return nil
}

// balances returns every user's balance by user.
func (f *fixture) balances() map[string]points.Balance {
	f.T.Helper()
	var l points.BalanceList
	f.getJSON("/api/balances", &l)
	m := map[string]points.Balance{}
	for _, b := range l.Balances {
		m[b.User] = b
	}
	return m
}
