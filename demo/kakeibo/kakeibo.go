// Package kakeibo is an example of partner code: a household account book
// (家計簿) that receives Renkei's payment information through the partner
// SDK (github.com/renkei/renkei/partner) and nothing else of Renkei, the
// way a partner outside Renkei would build it on the standard library and
// SQLite.
//
// It books every payment a user sends it in real time, with the memo and
// category they typed on the completion screen (claims 1 and 7), and
// reconciles the payee's later statement feed against those entries
// (claim 9): a statement.line for a payment already booked only confirms
// the entry and keeps its memo; one for a payment never sent in real time
// is booked from the statement, without a memo. Either way each payment is
// one entry. A refund books a reversal, a negative entry linked to the
// payment.
//
// Exactly once: every message is processed in one SQLite transaction that
// writes the entry and marks the message id done in the SDK's dedup table
// (partner.SQLDedup.RunTx), so neither Renkei's retries nor a crash between
// the two writes can book anything twice, and the unique keys on payment_id
// and refund_id hold even across different message ids.
//
// Pages: GET / shows a month (?month=2026-11, ?user=pu_…) with totals per
// category and every entry, saying how it arrived. GET /api/entries serves
// the same as JSON (EntryList). Times are shown in Japan time.
package kakeibo

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
)

// WebhookPath is where Renkei POSTs messages, as registered for the demo's
// Kakeibo service.
const WebhookPath = "/webhooks/renkei"

// DBFile is the name of the SQLite database in Config.DataDir.
const DBFile = "kakeibo.db"

// tokyo is the account book's time zone: a month is a month in Japan.
// Japan has no daylight saving time, so a fixed zone is exact and needs no
// time zone database.
var tokyo = time.FixedZone("JST", 9*60*60)

// Config configures a Server.
type Config struct {
	// Addr is the address Open listens on, e.g. "127.0.0.1:8081";
	// "127.0.0.1:0" picks a free port (see URL). Empty means
	// "127.0.0.1:0".
	Addr string
	// DataDir holds the database (DBFile); it is created if missing.
	DataDir string
	// Secrets are the webhook endpoint's signing secrets (whsec_…), as
	// Renkei showed them; during a rotation list the new and the old one.
	Secrets []string
	// Log receives the webhook Handler's rejections and failures and the
	// server's errors (slog.Default when nil).
	Log *slog.Logger
	// Now is the clock for received and confirmed times, the default
	// month and the webhook timestamp check (time.Now when nil).
	Now func() time.Time
}

// Server is the household account book: its database, its webhook
// endpoint and its pages. Create it with New, serve it with Open (or mount
// Handler in a server of your own) and end it with Close.
type Server struct {
	log   *slog.Logger
	now   func() time.Time
	addr  string
	db    *sql.DB
	dedup *partner.SQLDedup
	mux   *http.ServeMux

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	served chan struct{}
	closed bool
}

// New opens (or creates) the database in cfg.DataDir and returns a Server
// that is not yet listening.
func New(cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("kakeibo: no data directory")
	}
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("kakeibo: no webhook secret (the endpoint's whsec_… secret from Renkei)")
	}
	s := &Server{log: cfg.Log, now: cfg.Now, addr: cfg.Addr}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.addr == "" {
		s.addr = "127.0.0.1:0"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("kakeibo: create data directory: %w", err)
	}
	db, err := openDB(context.Background(), filepath.Join(cfg.DataDir, DBFile))
	if err != nil {
		return nil, err
	}
	s.db = db
	// The dedup table lives in the same database as the entries, so the
	// entry and the message id commit in one transaction.
	s.dedup, err = partner.NewSQLDedup(db, partner.DialectSQLite)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("kakeibo: %w", err)
	}
	s.dedup.Now = s.now

	hook := &partner.Handler{
		Secrets:            append([]string(nil), cfg.Secrets...),
		Dedup:              s.dedup,
		Log:                s.log,
		Now:                s.now,
		OnPaymentCompleted: s.onPaymentCompleted,
		OnPaymentRefunded:  s.onPaymentRefunded,
		OnStatementLine:    s.onStatementLine,
	}
	s.mux = http.NewServeMux()
	s.mux.Handle(WebhookPath, hook) // any method: the SDK answers 405 itself
	s.mux.HandleFunc("GET /{$}", s.handleMonth)
	s.mux.HandleFunc("GET /api/entries", s.handleEntries)
	return s, nil
}

// Handler returns the server's routes: POST WebhookPath, GET / and GET
// /api/entries. Open serves the same handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Open starts listening on Config.Addr and serving in the background.
func (s *Server) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("kakeibo: server is closed")
	}
	if s.ln != nil {
		return errors.New("kakeibo: server is already open")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("kakeibo: listen on %s: %w", s.addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // above the SDK's callback timeout
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("kakeibo: serve: " + err.Error())
		}
	}(s.srv, s.served)
	return nil
}

// URL returns the base URL the server listens on, e.g.
// "http://127.0.0.1:8081", or "" before Open.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops serving, waiting up to five seconds for requests in flight
// (a webhook being booked finishes its transaction), and closes the
// database. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("kakeibo: shut down: %w", err))
			s.srv.Close()
		}
		cancel()
		<-s.served
	}
	if err := s.db.Close(); err != nil {
		errs = append(errs, fmt.Errorf("kakeibo: close database: %w", err))
	}
	return errors.Join(errs...)
}
