package points_test

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

	"github.com/renkei/renkei/demo/points"
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

// fixture is one Points on port 0 with a fresh database.
type fixture struct {
	t      *testing.T
	dir    string
	secret string
	clock  *clock
	srv    *points.Server
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
	srv, err := points.New(points.Config{Addr: "127.0.0.1:0", DataDir: f.dir, Secrets: []string{f.secret},
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
	req, err := http.NewRequest(http.MethodPost, f.srv.URL()+points.WebhookPath, bytes.NewReader(body))
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

// getJSON GETs a path and decodes the JSON answer into v.
func (f *fixture) getJSON(path string, v any) {
	f.t.Helper()
	status, body := f.get(path)
	if status != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		f.t.Fatalf("decode %s: %v", body, err)
	}
}

// payment returns the points of one payment, or nil if Points has none.
func (f *fixture) payment(id string) *points.Payment {
	f.t.Helper()
	var l points.PaymentList
	f.getJSON("/api/points?payment_id="+url.QueryEscape(id), &l)
	switch len(l.Points) {
	case 0:
		return nil
	case 1:
		return &l.Points[0]
	}
	f.t.Fatalf("%d payments for %s", len(l.Points), id)
	return nil
}

// balances returns every user's balance by user.
func (f *fixture) balances() map[string]points.Balance {
	f.t.Helper()
	var l points.BalanceList
	f.getJSON("/api/balances", &l)
	m := map[string]points.Balance{}
	for _, b := range l.Balances {
		m[b.User] = b
	}
	return m
}
