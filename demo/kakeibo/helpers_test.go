package kakeibo_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/renkei/renkei/demo/internal/apptest"
	"github.com/renkei/renkei/demo/kakeibo"
)

// TestMain fails the run if a test leaves a server, a connection or a
// database goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = apptest.T0

// fixture is one Kakeibo on port 0 with a fresh database.
type fixture struct {
	*apptest.Fixture[*kakeibo.Server]
}

func newFixture(t *testing.T) *fixture {
	return &fixture{apptest.New(t, kakeibo.New)}
}

func newID() string { return apptest.NewID() }

func message(typ string, data map[string]any) []byte { return apptest.Message(typ, data) }

// payment returns the data of a payment.completed to Kakeibo (all scopes).
func payment(id string, amount int64, at time.Time, merchant, mcat, memo, category string) map[string]any {
	d := map[string]any{
		"payment_id": id, "amount": amount, "currency": "JPY", "completed_at": at.Format(time.RFC3339Nano),
		"merchant": map[string]any{"name": merchant, "category_code": "5814", "category": mcat},
		"method":   "wallet_balance", "user": "pu_aiko", "sequence": 1, "source": "selection",
	}
	if memo != "" || category != "" {
		d["input"] = map[string]any{"memo": memo, "category": category}
	}
	return d
}

// statementLine returns the data of the statement line of a payment.
func statementLine(id string, amount int64, at time.Time, merchant, mcat string) map[string]any {
	return map[string]any{
		"payment_id": id, "statement_id": "stm_" + id, "amount": amount, "currency": "JPY",
		"completed_at": at.Format(time.RFC3339Nano),
		"merchant":     map[string]any{"name": merchant, "category_code": "5814", "category": mcat},
		"user":         "pu_aiko", "sequence": 2, "source": "statement",
	}
}

// refund returns the data of a payment.refunded.
func refund(paymentID, refundID string, amount int64, at time.Time) map[string]any {
	return map[string]any{
		"payment_id": paymentID, "refund_id": refundID, "amount": amount, "currency": "JPY",
		"refunded_at": at.Format(time.RFC3339Nano), "merchant": map[string]any{"name": "Cafe Hikari", "category": "restaurants"},
		"user": "pu_aiko", "sequence": 3, "source": "selection",
	}
}

// list GETs /api/entries with the query.
func (f *fixture) list(query url.Values) kakeibo.EntryList {
	f.T.Helper()
	status, body := f.Get("/api/entries?" + query.Encode())
	if status != http.StatusOK {
		f.T.Fatalf("GET /api/entries?%s: %d %s", query.Encode(), status, body)
	}
	var l kakeibo.EntryList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		f.T.Fatalf("decode %s: %v", body, err)
	}
	return l
}

// entries returns the entries of one payment.
func (f *fixture) entries(paymentID string) []kakeibo.Entry {
	f.T.Helper()
	return f.list(url.Values{"payment_id": {paymentID}}).Entries
}

// month returns the entries and totals of a month.
func (f *fixture) month(m string) kakeibo.EntryList {
	f.T.Helper()
	return f.list(url.Values{"month": {m}})
}
