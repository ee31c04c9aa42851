package partner_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	_ "modernc.org/sqlite"

	"github.com/renkei/renkei/partner"
)

// newSecret returns a fresh whsec_ secret, as Renkei issues them.
func newSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// newMsgID returns a fresh message id.
func newMsgID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "msg_" + hex.EncodeToString(b)
}

// sign returns a webhook-signature header value made with the reference
// Standard Webhooks library, an implementation independent of the package
// under test.
func sign(t testing.TB, id string, ts time.Time, body []byte, secrets ...string) string {
	t.Helper()
	var sigs []string
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := wh.Sign(id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " ")
}

// msg is one request to a webhook endpoint.
type msg struct {
	id   string
	ts   time.Time
	body []byte
	sig  string
	// drop names headers to leave out.
	drop []string
	// chunked sends the body without a Content-Length.
	chunked bool
}

// signed returns a message signed now with the given secrets.
func signed(t testing.TB, body string, secrets ...string) msg {
	t.Helper()
	m := msg{id: newMsgID(), ts: time.Now(), body: []byte(body)}
	m.sig = sign(t, m.id, m.ts, m.body, secrets...)
	return m
}

// answer is what an endpoint said.
type answer struct {
	status int
	text   string
	err    error
}

// post sends m to the server.
func post(t testing.TB, srv *httptest.Server, m msg) answer {
	t.Helper()
	a := send(srv, m)
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a
}

// send is post for goroutines other than the test's: a transport error
// is in the answer, for the test to check.
func send(srv *httptest.Server, m msg) answer {
	var body io.Reader = bytes.NewReader(m.body)
	if m.chunked {
		body = io.MultiReader(bytes.NewReader(m.body)) // hides the length
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL, body)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(partner.HeaderID, m.id)
	req.Header.Set(partner.HeaderTimestamp, strconv.FormatInt(m.ts.Unix(), 10))
	req.Header.Set(partner.HeaderSignature, m.sig)
	for _, h := range m.drop {
		req.Header.Del(h)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, text: strings.TrimSpace(string(b))}
}

// want fails the test unless the answer has the status.
func (a answer) want(t testing.TB, status int) answer {
	t.Helper()
	if a.err != nil {
		t.Fatalf("request failed: %v", a.err)
	}
	if a.status != status {
		t.Fatalf("got %d %q, want %d", a.status, a.text, status)
	}
	return a
}

// logBuf collects a Handler's log lines, safely across goroutines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve starts h on an httptest server with its log captured.
func serve(t testing.TB, h *partner.Handler) (*httptest.Server, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	if h.Log == nil {
		h.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logs
}

// completed is a payment.completed body with every field.
const completed = `{"type":"payment.completed","version":"2026-11-25","timestamp":"2026-11-25T03:12:45Z",
"data":{"payment_id":"pay_01M89","amount":12800,"currency":"JPY","completed_at":"2026-11-25T03:12:44.123456Z",
"merchant":{"name":"Cafe Hikari","category_code":"5814","category":"restaurants"},"method":"wallet_balance",
"user":"pu_abc","input":{"memo":"team lunch","category":"food"},"sequence":17,"source":"selection"}}`

// counter is a callback that counts its runs and records what it got.
type counter struct {
	mu   sync.Mutex
	n    int
	last *partner.PaymentCompleted
	ev   *partner.Event
	err  error // returned by the next run, then cleared
}

func (c *counter) onCompleted(_ context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	c.last, c.ev = p, ev
	err := c.err
	c.err = nil
	return err
}

// got returns what the last run received.
func (c *counter) got() (*partner.Event, *partner.PaymentCompleted) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ev, c.last
}

func (c *counter) runs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// engines are the databases SQLDedup is tested on.
var engines = []string{partner.DialectSQLite, partner.DialectPostgres}

// testDB is a fresh database for one test that can be opened again, to
// prove that what was committed survives a restart.
type testDB struct {
	dialect string
	driver  string
	dsn     string
}

// freshDB returns an empty database on the engine: a temp SQLite file, or
// a new schema in the PostgreSQL database named by RENKEI_TEST_POSTGRES.
// Without that variable a PostgreSQL test skips and says why; with CI=true
// it fails, so CI never passes by skipping.
func freshDB(t testing.TB, dialect string) testDB {
	t.Helper()
	if dialect == partner.DialectSQLite {
		path := filepath.Join(t.TempDir(), "partner.db")
		return testDB{dialect, "sqlite", "file:" + path +
			"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"}
	}
	base := os.Getenv("RENKEI_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RENKEI_TEST_POSTGRES is not set; CI must run the PostgreSQL tests")
		}
		t.Skip("RENKEI_TEST_POSTGRES is not set (a postgres:// DSN); skipping the PostgreSQL run")
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "partner_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open RENKEI_TEST_POSTGRES: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse RENKEI_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return testDB{dialect, "pgx", u.String()}
}

// open opens the database; it is closed when the test ends.
func (d testDB) open(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("connect %s: %v", d.dialect, err)
	}
	return db
}

// dedup opens the database and a SQLDedup on it.
func (d testDB) dedup(t testing.TB) (*sql.DB, *partner.SQLDedup) {
	t.Helper()
	db := d.open(t)
	s, err := partner.NewSQLDedup(db, d.dialect)
	if err != nil {
		t.Fatal(err)
	}
	return db, s
}

// discard is a logger for tests that do not read the log.
var discard = slog.New(slog.DiscardHandler)
