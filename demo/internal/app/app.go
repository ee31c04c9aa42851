// Package app is what the two demo related services share: an SQLite file
// with the durability they promise, the SDK's durable dedup store in the
// same database, a webhook endpoint, and an HTTP server's lifecycle. It is
// the plumbing a partner would write once; each demo keeps its own logic.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/renkei/renkei/partner"
	_ "modernc.org/sqlite" // the "sqlite" driver
)

// WebhookPath is where Renkei sends messages.
const WebhookPath = "/webhooks/renkei"

// Tokyo is the demos' default time zone. Japan has no daylight saving
// time, so a fixed zone is exact and needs no time zone database.
var Tokyo = time.FixedZone("JST", 9*60*60)

// Config configures a demo server.
type Config struct {
	// Addr is the address Open listens on; "127.0.0.1:0" (or empty) picks a
	// free port (see URL).
	Addr string
	// DataDir holds the database; it is created if missing.
	DataDir string
	// Secrets are the webhook endpoint's signing secrets (whsec_…), as
	// Renkei showed them; during a rotation list the new and the old one.
	Secrets []string
	// Log receives the webhook Handler's rejections and failures and the
	// server's errors (slog.Default when nil).
	Log *slog.Logger
	// Now is the service's clock, also used for the webhook timestamp
	// check (time.Now when nil).
	Now func() time.Time
	// Zone is the time zone the pages show times in and months are cut
	// by, whatever the language (Tokyo when nil). Renkei passes its own
	// --time-zone, so a user sees one zone on every page of the tour.
	Zone *time.Location
}

// App is a demo server's database, webhook endpoint and HTTP server.
type App struct {
	Name  string
	Log   *slog.Logger
	Now   func() time.Time
	Zone  *time.Location
	DB    *sql.DB
	Dedup *partner.SQLDedup
	Mux   *http.ServeMux

	secrets []string
	addr    string
	mu      sync.Mutex
	srv     *http.Server
	ln      net.Listener
	served  chan struct{}
	closed  bool
}

// New opens (or creates) dbFile in cfg.DataDir with schema and returns an
// App that is not yet listening.
func New(name, dbFile, schema string, cfg Config) (*App, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("%s: no data directory", name)
	}
	if len(cfg.Secrets) == 0 {
		return nil, fmt.Errorf("%s: no webhook secret (the endpoint's whsec_… secret from Renkei)", name)
	}
	a := &App{Name: name, Log: cfg.Log, Now: cfg.Now, Zone: cfg.Zone, addr: cfg.Addr, secrets: append([]string(nil), cfg.Secrets...), Mux: http.NewServeMux()}
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Zone == nil {
		a.Zone = Tokyo
	}
	if a.addr == "" {
		a.addr = "127.0.0.1:0"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("%s: create data directory: %w", name, err)
	}
	db, err := a.openDB(context.Background(), filepath.Join(cfg.DataDir, dbFile), schema)
	if err != nil {
		return nil, err
	}
	a.DB = db
	// The dedup table lives in the same database as the service's own
	// rows, so a booking and its message id commit in one transaction.
	a.Dedup, err = partner.NewSQLDedup(db, partner.DialectSQLite)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a.Dedup.Now = a.Now
	return a, nil
}

// Webhook mounts the SDK handler h at WebhookPath with the App's secrets,
// dedup store, log and clock.
func (a *App) Webhook(h *partner.Handler) {
	h.Secrets, h.Dedup, h.Log, h.Now = a.secrets, a.Dedup, a.Log, a.Now
	a.Mux.Handle(WebhookPath, h) // any method: the SDK answers 405 itself
}

// openDB opens the SQLite database at path: WAL with synchronous=FULL, so
// what was acknowledged to Renkei survives a power loss; immediate
// transactions and a busy timeout, so that concurrent deliveries queue for
// the write lock instead of failing.
func (a *App) openDB(ctx context.Context, path, schema string) (*sql.DB, error) {
	// Owner-only before SQLite opens it; its -wal and -shm files take the
	// database file's permissions.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", a.Name, path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: restrict %s: %w", a.Name, p, err)
		}
	}
	dsn := "file:" + path + "?_txlock=immediate" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", a.Name, path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: create schema in %s: %w", a.Name, path, err)
	}
	// Refuse to run on weaker durability than promised, e.g. on a file
	// system where WAL is not possible.
	var (
		mode string
		syn  int
	)
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: read journal mode: %w", a.Name, err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&syn); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: read synchronous: %w", a.Name, err)
	}
	if mode != "wal" || syn != 2 {
		db.Close()
		return nil, fmt.Errorf("%s: %s runs with journal_mode=%s synchronous=%d, want wal and 2 (FULL)", a.Name, path, mode, syn)
	}
	return db, nil
}

// Handler returns the App's routes. Open serves the same handler.
func (a *App) Handler() http.Handler { return a.Mux }

// Open starts listening on Config.Addr and serving in the background.
func (a *App) Open() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return fmt.Errorf("%s: server is closed", a.Name)
	}
	if a.ln != nil {
		return fmt.Errorf("%s: server is already open", a.Name)
	}
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", a.Name, a.addr, err)
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.Mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // above the SDK's callback timeout
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	a.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error(a.Name + ": serve: " + err.Error())
		}
	}(a.srv, a.served)
	return nil
}

// URL returns the base URL the server listens on, or "" before Open.
func (a *App) URL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return "http://" + a.ln.Addr().String()
}

// Close stops serving, waiting up to five seconds for requests in flight
// (a webhook being booked finishes its transaction), and closes the
// database. It is safe to call more than once.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var errs []error
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: shut down: %w", a.Name, err))
			a.srv.Close()
		}
		cancel()
		<-a.served
	}
	if err := a.DB.Close(); err != nil {
		errs = append(errs, fmt.Errorf("%s: close database: %w", a.Name, err))
	}
	return errors.Join(errs...)
}
