// Package apptest is the test fixture of the demo related services: a
// server on port 0 with a fresh database, a settable clock shared with the
// signer, and messages signed exactly as Renkei signs them.
package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei/demo/internal/app"
	"github.com/renkei/renkei/webhook"
)

// T0 is the tests' "now": 2026-11-25 12:00 in Japan.
var T0 = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// Clock is a settable clock shared by the server and the signer, so that
// the Handler's timestamp check and the booked times are deterministic.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Server is what both demo servers offer.
type Server interface {
	Open() error
	URL() string
	Close() error
}

// Fixture is one demo server on port 0 with a fresh database.
type Fixture[S Server] struct {
	T      *testing.T
	Dir    string
	Secret string
	Clock  *Clock
	Srv    S
	Client *http.Client
	open   func(app.Config) (S, error)
	zone   *time.Location
}

// New starts a server made by open and stops it when the test ends.
func New[S Server](t *testing.T, open func(app.Config) (S, error)) *Fixture[S] {
	t.Helper()
	return NewInZone(t, open, nil)
}

// NewInZone is New with the pages in zone (the demos' default when nil).
func NewInZone[S Server](t *testing.T, open func(app.Config) (S, error), zone *time.Location) *Fixture[S] {
	t.Helper()
	secret, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fixture[S]{T: t, Dir: t.TempDir(), Secret: secret, Clock: &Clock{t: T0},
		Client: &http.Client{Timeout: 30 * time.Second}, open: open, zone: zone}
	f.start()
	t.Cleanup(func() {
		// Idle keep-alive connections first, or the server's graceful
		// shutdown waits for connections that never sent a request.
		f.Client.CloseIdleConnections()
		if err := f.Srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return f
}

func (f *Fixture[S]) start() {
	f.T.Helper()
	srv, err := f.open(app.Config{Addr: "127.0.0.1:0", DataDir: f.Dir, Secrets: []string{f.Secret},
		Log: slog.New(slog.DiscardHandler), Now: f.Clock.Now, Zone: f.zone})
	if err != nil {
		f.T.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		srv.Close()
		f.T.Fatal(err)
	}
	f.Srv = srv
}

// Restart closes the server and opens a new one on the same directory, as
// after a crash or a deploy.
func (f *Fixture[S]) Restart() {
	f.T.Helper()
	f.Client.CloseIdleConnections()
	if err := f.Srv.Close(); err != nil {
		f.T.Fatal(err)
	}
	f.start()
}

var msgSeq atomic.Int64

// NewID returns a fresh webhook-id.
func NewID() string { return fmt.Sprintf("msg_test%08d", msgSeq.Add(1)) }

// Message is a body as Renkei sends it.
func Message(typ string, data map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"type": typ, "version": "2026-11-25",
		"timestamp": T0.Format(time.RFC3339), "data": data})
	if err != nil {
		panic(err)
	}
	return b
}

// Deliver POSTs one attempt of a message, signed now as Renkei signs it,
// and returns the status and the answer.
func (f *Fixture[S]) Deliver(id string, body []byte) (int, string) {
	f.T.Helper()
	return f.DeliverSigned(id, body, f.Clock.Now(), f.Secret)
}

// DeliverSigned delivers with a chosen time and secret.
func (f *Fixture[S]) DeliverSigned(id string, body []byte, at time.Time, secret string) (int, string) {
	f.T.Helper()
	h, err := webhook.Headers(id, at, body, secret)
	if err != nil {
		f.T.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, f.Srv.URL()+app.WebhookPath, bytes.NewReader(body))
	if err != nil {
		f.T.Fatal(err)
	}
	req.Header = h
	return f.do(req)
}

// MustDeliver delivers and wants 200.
func (f *Fixture[S]) MustDeliver(id string, body []byte) string {
	f.T.Helper()
	status, answer := f.Deliver(id, body)
	if status != http.StatusOK {
		f.T.Fatalf("deliver %s: %d %s", id, status, answer)
	}
	return answer
}

// Get GETs a path (with header name, value pairs) and returns the status
// and body.
func (f *Fixture[S]) Get(path string, header ...string) (int, string) {
	f.T.Helper()
	req, err := http.NewRequest(http.MethodGet, f.Srv.URL()+path, nil)
	if err != nil {
		f.T.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return f.do(req)
}

func (f *Fixture[S]) do(req *http.Request) (int, string) {
	f.T.Helper()
	resp, err := f.Client.Do(req)
	if err != nil {
		f.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
