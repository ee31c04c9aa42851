package kakeibo_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/renkei/renkei/demo/kakeibo"
	"github.com/renkei/renkei/webhook"
)

// TestMain fails the run if a test leaves a server, a connection or a
// database goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the tests' "now": 2026-11-25 12:00 in Japan.
var t0 = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// clock is a settable clock shared by the server and the signer, so that
// the Handler's timestamp check and the booked times are deterministic.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is one Kakeibo on port 0 with a fresh database.
type fixture struct {
	t      *testing.T
	dir    string
	secret string
	clock  *clock
	srv    *kakeibo.Server
	client *http.Client
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	secret, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: t.TempDir(), secret: secret, clock: &clock{t: t0}, client: &http.Client{Timeout: 30 * time.Second}}
	f.start()
	t.Cleanup(func() {
		// Idle keep-alive connections first, or the server's graceful
		// shutdown waits for connections that never sent a request.
		f.client.CloseIdleConnections()
		if err := f.srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return f
}

// start opens a Server on the fixture's data directory.
func (f *fixture) start() {
	f.t.Helper()
	srv, err := kakeibo.New(kakeibo.Config{Addr: "127.0.0.1:0", DataDir: f.dir, Secrets: []string{f.secret},
		Log: slog.New(slog.DiscardHandler), Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		srv.Close()
		f.t.Fatal(err)
	}
	f.srv = srv
}

// restart closes the server and opens a new one on the same directory, as
// after a crash or a deploy.
func (f *fixture) restart() {
	f.t.Helper()
	f.client.CloseIdleConnections()
	if err := f.srv.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.start()
}

var msgSeq atomic.Int64

// newID returns a fresh webhook-id.
func newID() string { return fmt.Sprintf("msg_test%08d", msgSeq.Add(1)) }

// message is a body as Renkei sends it.
func message(typ string, data map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "version": "2026-11-25",
		"timestamp": t0.Format(time.RFC3339), "data": data})
	if err != nil {
		panic(err)
	}
	return b
}

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

// deliver POSTs one attempt of a message, signed now as Renkei signs it,
// and returns the status and the answer.
func (f *fixture) deliver(id string, body []byte) (int, string) {
	f.t.Helper()
	return f.deliverSigned(id, body, f.clock.Now(), f.secret)
}

func (f *fixture) deliverSigned(id string, body []byte, at time.Time, secret string) (int, string) {
	f.t.Helper()
	h, err := webhook.Headers(id, at, body, secret)
	if err != nil {
		f.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, f.srv.URL()+kakeibo.WebhookPath, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header = h
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mustDeliver delivers and wants 200.
func (f *fixture) mustDeliver(id string, body []byte) string {
	f.t.Helper()
	status, answer := f.deliver(id, body)
	if status != http.StatusOK {
		f.t.Fatalf("deliver %s: %d %s", id, status, answer)
	}
	return answer
}

// get GETs a path and returns the status and body.
func (f *fixture) get(path string, header ...string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL()+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// list GETs /api/entries with the query.
func (f *fixture) list(query url.Values) kakeibo.EntryList {
	f.t.Helper()
	status, body := f.get("/api/entries?" + query.Encode())
	if status != http.StatusOK {
		f.t.Fatalf("GET /api/entries?%s: %d %s", query.Encode(), status, body)
	}
	var l kakeibo.EntryList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		f.t.Fatalf("decode %s: %v", body, err)
	}
	return l
}

// entries returns the entries of one payment.
func (f *fixture) entries(paymentID string) []kakeibo.Entry {
	f.t.Helper()
	return f.list(url.Values{"payment_id": {paymentID}}).Entries
}

// month returns the entries and totals of a month.
func (f *fixture) month(m string) kakeibo.EntryList {
	f.t.Helper()
	return f.list(url.Values{"month": {m}})
}
