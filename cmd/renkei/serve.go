package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/bojanz/currency"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/delivery"
	"github.com/renkei/renkei/emvco"
	rhttp "github.com/renkei/renkei/http"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/webhook"
)

func init() {
	// The domain asks the ISO 4217 table through this seam.
	renkei.CurrencyInfo = func(code string) (int, bool) {
		if !currency.IsValid(code) {
			return 0, false
		}
		d, ok := currency.GetDigits(code)
		return int(d), ok
	}
}

func version() string { return renkei.Version }

// Main is the server program: flags, then Run, then Close. The end-to-end
// tests start the same Main on port 0 and a temp dir.
type Main struct {
	DataDir  string
	Addr     string
	DSN      string
	AdminKey string
	Demo     bool
	LogLevel string
	// AllowPrivate lets webhook endpoints be plain http on loopback (the
	// demo's partners); without it only https to public addresses.
	AllowPrivate bool
	// MasterKey (base64) seals endpoint secrets; default <data>/master.key.
	MasterKey string
	// Role is all, api (serve HTTP, queue deliveries) or worker (send
	// deliveries, serve only /healthz and /metrics).
	Role string
	// DisableAfter turns off an endpoint that failed every attempt this long.
	DisableAfter time.Duration
	// TimeZone is where the pages show times for users who chose none
	// (and for the shop, admin and partner pages), whatever the language.
	TimeZone *time.Location
	// EndpointConcurrency and EndpointRate bound sending to one endpoint
	// per node.
	EndpointConcurrency int
	EndpointRate        float64
	// StatementEvery is how often the payee side's statement feed runs
	// (daily in production; minutes in the demo).
	StatementEvery time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto the server believes.
	TrustedProxies []netip.Prefix
	// Operator is who runs this Renkei: the controller that consent
	// receipts name (APPI: the business handling the personal data).
	Operator renkei.Controller

	// KakeiboAddr and PointsAddr are where the demo's related services
	// listen when DemoPartners is on.
	KakeiboAddr, PointsAddr string
	DemoPartners            bool
	// PartnerURLs are the running demo partners' addresses.
	PartnerURLs []PartnerURL
	partners    []partnerServer
	demo        *demoData

	Delivery *delivery.Engine

	Store  *store.Store
	Server *rhttp.Server

	stdout, stderr io.Writer
	log            *slog.Logger
	// cookieKey seals the login cookies; derived from the master key, so
	// every node with the same --master-key accepts the same logins.
	cookieKey []byte
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// NewMain returns a Main with the production defaults (no demo); the
// command-less start turns the demo on (see newServeMain).
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{DataDir: "renkei-data", Addr: "127.0.0.1:8080", LogLevel: "info", stdout: stdout, stderr: stderr,
		KakeiboAddr: kakeiboAddr, PointsAddr: pointsAddr, StatementEvery: 24 * time.Hour, Role: "all", DisableAfter: 72 * time.Hour}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ParseFlags reads flags, each with an environment variable as default.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("renkei serve", flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	fs.StringVar(&m.DataDir, "data", envOr("RENKEI_DATA", m.DataDir), "data folder: SQLite file, keys, demo tokens (env RENKEI_DATA)")
	fs.StringVar(&m.Addr, "addr", envOr("RENKEI_ADDR", m.Addr), "HTTP listen address (env RENKEI_ADDR)")
	fs.StringVar(&m.DSN, "db", envOr("RENKEI_DB", m.DSN), "database: a postgres:// URL, or a SQLite path; default <data>/renkei.db (env RENKEI_DB)")
	fs.StringVar(&m.AdminKey, "admin-key", envOr("RENKEI_ADMIN_KEY", m.AdminKey), "admin bearer token; generated into <data>/admin.key if unset (env RENKEI_ADMIN_KEY)")
	if v := os.Getenv("RENKEI_DEMO"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("RENKEI_DEMO must be true or false, not %q", v)
		}
		m.Demo = b
	}
	fs.BoolVar(&m.Demo, "demo", m.Demo, "seed demo data on an empty database, allow self top-ups, run the demo partners (default: on without a command, off for serve) (env RENKEI_DEMO)")
	fs.StringVar(&m.LogLevel, "log-level", envOr("RENKEI_LOG_LEVEL", m.LogLevel), "debug, info, warn or error (env RENKEI_LOG_LEVEL)")
	private := fs.String("allow-private-endpoints", envOr("RENKEI_ALLOW_PRIVATE_ENDPOINTS", ""), "allow http webhook endpoints on loopback (default: true with --demo) (env RENKEI_ALLOW_PRIVATE_ENDPOINTS)")
	fs.StringVar(&m.MasterKey, "master-key", envOr("RENKEI_MASTER_KEY", m.MasterKey), "base64 AES-256 key sealing webhook secrets; default <data>/master.key, created 0600 (env RENKEI_MASTER_KEY)")
	fs.StringVar(&m.Role, "role", envOr("RENKEI_ROLE", "all"), "all, api (HTTP only; queues deliveries) or worker (sends deliveries) (env RENKEI_ROLE)")
	fs.DurationVar(&m.DisableAfter, "disable-endpoint-after", 72*time.Hour, "disable a webhook endpoint after every attempt failed for this long (0: never)")
	fs.StringVar(&m.KakeiboAddr, "kakeibo-addr", envOr("RENKEI_KAKEIBO_ADDR", kakeiboAddr), "where the demo's Kakeibo listens")
	fs.StringVar(&m.PointsAddr, "points-addr", envOr("RENKEI_POINTS_ADDR", pointsAddr), "where the demo's Points listens")
	partners := fs.String("demo-partners", "", "run the demo related services Kakeibo and Points (default: with --demo)")
	fs.IntVar(&m.EndpointConcurrency, "endpoint-concurrency", 8, "deliveries to one endpoint at once, per node")
	fs.Float64Var(&m.EndpointRate, "endpoint-rate", 1000, "deliveries per second to one endpoint, per node")
	proxies := fs.String("trusted-proxies", envOr("RENKEI_TRUSTED_PROXIES", ""), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed (default: none) (env RENKEI_TRUSTED_PROXIES)")
	zone := fs.String("time-zone", envOr("RENKEI_TIME_ZONE", "Asia/Tokyo"), "IANA time zone the pages show times in, in every language, unless a user chose their own; the API stays UTC (env RENKEI_TIME_ZONE)")
	statements := fs.String("statement-interval", envOr("RENKEI_STATEMENT_INTERVAL", ""), "how often the statement feed runs (default 24h; 2m with --demo) (env RENKEI_STATEMENT_INTERVAL)")
	fs.StringVar(&m.Operator.Name, "operator", envOr("RENKEI_OPERATOR", ""), "who runs this Renkei, as consent receipts name the controller (env RENKEI_OPERATOR)")
	fs.StringVar(&m.Operator.Contact, "operator-contact", envOr("RENKEI_OPERATOR_CONTACT", ""), "where payers reach the operator about their data, for consent receipts (env RENKEI_OPERATOR_CONTACT)")
	fs.StringVar(&m.Operator.URL, "operator-url", envOr("RENKEI_OPERATOR_URL", ""), "the operator's public address; receipts point to its /app/privacy (env RENKEI_OPERATOR_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m.DemoPartners = m.Demo && *partners != "false"
	if err := renkei.ValidateTimeZone(*zone); err != nil || *zone == "" {
		return fmt.Errorf("--time-zone %q is not an IANA time zone such as Asia/Tokyo or UTC", *zone)
	}
	m.TimeZone, _ = time.LoadLocation(*zone)
	m.StatementEvery = 24 * time.Hour
	if m.Demo {
		m.StatementEvery = 2 * time.Minute
	}
	if *statements != "" {
		d, err := time.ParseDuration(*statements)
		if err != nil || d <= 0 {
			return fmt.Errorf("--statement-interval %q is not a positive duration", *statements)
		}
		m.StatementEvery = d
	}
	switch *private {
	case "":
		m.AllowPrivate = m.Demo
	case "true", "1":
		m.AllowPrivate = true
	case "false", "0":
	default:
		return fmt.Errorf("--allow-private-endpoints must be true or false, not %q", *private)
	}
	tp, err := rhttp.ParseTrustedProxies(*proxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	m.TrustedProxies = tp
	if m.Role != "all" && m.Role != "api" && m.Role != "worker" {
		return fmt.Errorf("--role must be all, api or worker, not %q", m.Role)
	}
	return nil
}

func (m *Main) openStore(ctx context.Context) (*store.Store, error) {
	if err := os.MkdirAll(m.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	dsn := m.DSN
	if dsn == "" {
		dsn = filepath.Join(m.DataDir, "renkei.db")
	}
	s, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s.PayCode = emvco.NewPayCode
	s.ParsePayCode = emvco.ParsePayCode
	s.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	key, err := m.masterKey()
	if err != nil {
		s.Close()
		return nil, err
	}
	m.cookieKey = deriveKey(key, "renkei login cookies v1")
	sealer, err := webhook.NewSealer(key)
	if err != nil {
		s.Close()
		return nil, err
	}
	pol := webhook.Policy{AllowPrivate: m.AllowPrivate}
	s.Secrets, s.NewSecret, s.CheckEndpoint, s.DisableAfter = sealer, webhook.NewSecret, pol.CheckURL, m.DisableAfter
	return s, nil
}

// deriveKey makes a key for one purpose from the master key, so that the
// login cookies and the webhook secrets never share a key.
func deriveKey(master []byte, purpose string) []byte {
	h := hmac.New(sha256.New, master)
	h.Write([]byte(purpose))
	return h.Sum(nil)
}

// masterKey is the key that seals webhook secrets: from the flag or env,
// or a key file in the data folder that only the owner may read.
func (m *Main) masterKey() ([]byte, error) {
	if m.MasterKey != "" {
		return webhook.KeyFromEnv(m.MasterKey)
	}
	return webhook.LoadOrCreateKey(filepath.Join(m.DataDir, "master.key"))
}

// Run opens the store, seeds the demo, starts the server and the
// background sweeps, and prints where to point a browser.
func (m *Main) Run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.LogLevel)); err != nil {
		return fmt.Errorf("bad --log-level %q", m.LogLevel)
	}
	m.log = slog.New(slog.NewTextHandler(m.stderr, &slog.HandlerOptions{Level: level}))

	s, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	m.Store = s
	s.Log = m.log
	if fi, err := os.Stat(m.DataDir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// Made by someone else with a looser mode; the files in it are
		// owner-only, but their names and sizes show.
		m.log.Warn("the data folder is open to other users; chmod 700 it", "data", m.DataDir, "mode", fi.Mode().Perm().String())
	}
	adminKey, generated, err := m.adminKey()
	if err != nil {
		return err
	}
	s.AdminKeyHash = store.HashToken(adminKey)

	var demo *demoData
	if m.Demo {
		if demo, err = seedDemo(ctx, s, m.DataDir); err != nil {
			return fmt.Errorf("seed demo data: %w", err)
		}
	}
	m.demo = demo
	if demo != nil && m.DemoPartners && m.Role != "api" {
		if err := m.startDemoPartners(ctx, demo); err != nil {
			return err
		}
	}

	reg := prometheus.NewRegistry()
	riverLog := slog.New(slog.NewTextHandler(m.stderr, &slog.HandlerOptions{Level: max(level, slog.LevelWarn)}))
	m.Delivery, err = delivery.Open(ctx, s, delivery.Config{
		Policy: webhook.Policy{AllowPrivate: m.AllowPrivate}, Work: m.Role != "api", Log: riverLog, Metrics: reg,
		PerEndpoint: m.EndpointConcurrency, PerEndpointRate: m.EndpointRate,
	})
	if err != nil {
		return fmt.Errorf("delivery engine: %w", err)
	}
	if err := m.Delivery.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start delivery engine: %w", err)
	}
	m.Server = &rhttp.Server{Services: s, Log: m.log, Demo: m.Demo, QRSVG: emvco.QRSVG, FormatPayCode: emvco.FormatPayCode,
		Metrics: reg, WorkerOnly: m.Role == "worker", TrustedProxies: m.TrustedProxies, CookieKey: m.cookieKey, TimeZone: m.TimeZone,
		Operator: m.Operator}
	if demo != nil {
		for _, u := range demo.Users {
			m.Server.DemoLogins = append(m.Server.DemoLogins, rhttp.DemoLogin{Kind: renkei.KindUser, Name: u.Name, Token: u.Token})
		}
		for _, t := range demo.Terminals {
			m.Server.DemoLogins = append(m.Server.DemoLogins, rhttp.DemoLogin{Kind: renkei.KindTerminal, Name: t.Merchant, Token: t.APIKey})
		}
	}
	if err := m.Server.Open(m.Addr); err != nil {
		return err
	}

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	m.cancel = cancel
	m.every(bg, 15*time.Second, "expire payments", func(ctx context.Context) error {
		_, err := s.ExpirePayments(ctx)
		return err
	})
	if m.Role != "api" {
		m.every(bg, m.StatementEvery, "statement feed", func(ctx context.Context) error {
			run, err := s.RunStatements(ctx)
			if run.Lines > 0 {
				m.log.Info("statement feed", "statements", run.Statements, "lines", run.Lines, "messages", run.Messages)
			}
			return err
		})
	}
	m.every(bg, time.Hour, "purge idempotency keys", func(ctx context.Context) error {
		_, err := s.PurgeIdempotencyKeys(ctx)
		return err
	})
	m.every(bg, time.Hour, "purge ended logins", func(ctx context.Context) error {
		_, err := s.PurgeEndedLogins(ctx)
		return err
	})

	m.printWelcome(adminKey, generated, demo)
	return nil
}

func (m *Main) every(ctx context.Context, d time.Duration, what string, fn func(context.Context) error) {
	if d <= 0 {
		return // turned off
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := fn(ctx); err != nil && ctx.Err() == nil {
					m.log.Error(what, "err", err)
				}
			}
		}
	}()
}

// adminKey returns the admin token: from the flag, or the one kept in
// the data folder, or a new one written there with owner-only access.
func (m *Main) adminKey() (key string, generated bool, err error) {
	if m.AdminKey != "" {
		return m.AdminKey, false, nil
	}
	path := filepath.Join(m.DataDir, "admin.key")
	b, err := os.ReadFile(path)
	if err == nil && len(b) > 0 {
		return string(b), false, nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("read admin key: %w", err)
	}
	key = renkei.RandomToken(rand.Reader, "rk_adm_", 32)
	if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
		return "", false, fmt.Errorf("write admin key: %w", err)
	}
	return key, true, nil
}

func (m *Main) printWelcome(adminKey string, generated bool, demo *demoData) {
	u := m.Server.URL()
	w := m.stdout
	fmt.Fprintf(w, "\nRenkei %s is running on %s (%s).\n\n", version(), u, m.Store.Engine())
	fmt.Fprintf(w, "  Wallet (user terminal):  %s/app\n", u)
	fmt.Fprintf(w, "  Shop terminal:           %s/shop\n", u)
	fmt.Fprintf(w, "  Admin (related services, deliveries): %s/admin\n", u)
	fmt.Fprintf(w, "  API docs:                %s/docs   (OpenAPI: %s/openapi.json)\n", u, u)
	fmt.Fprintf(w, "  Health, metrics:         %s/healthz, %s/metrics\n", u, u)
	for _, p := range m.PartnerURLs {
		fmt.Fprintf(w, "  Demo partner %-10s %s\n", p.Name+":", p.URL)
	}
	fmt.Fprintln(w)
	keyFile := filepath.Join(m.DataDir, "admin.key")
	switch {
	case generated && m.Demo:
		fmt.Fprintf(w, "  Admin key (new, kept in %s): %s\n", keyFile, adminKey)
	case generated:
		// Not printed: terminal output ends up in logs and scrollback.
		fmt.Fprintf(w, "  Admin key (new): written to %s, readable only by you\n", keyFile)
	case m.AdminKey != "":
		fmt.Fprintln(w, "  Admin key: the one given by --admin-key or RENKEI_ADMIN_KEY")
	default:
		fmt.Fprintf(w, "  Admin key: in %s\n", keyFile)
	}
	if !m.Demo {
		fmt.Fprintln(w, "  Production mode: no demo data, no self top-ups; `renkei serve --demo` for the demo.")
	}
	if demo != nil {
		fmt.Fprintln(w, "\n  Demo users (bearer tokens; the login pages offer them too):")
		for _, du := range demo.Users {
			fmt.Fprintf(w, "    %-8s %s\n", du.Name, du.Token)
		}
		fmt.Fprintln(w, "  Demo shop terminals (API keys):")
		for _, t := range demo.Terminals {
			fmt.Fprintf(w, "    %-20s %s\n", t.Merchant, t.APIKey)
		}
	}
	if demo != nil && len(m.PartnerURLs) == 2 {
		k, p := m.PartnerURLs[0].URL, m.PartnerURLs[1].URL
		fmt.Fprintf(w, `
A five-minute tour:
  1. Open %[1]s/app and tap "Aiko"; tap Pay to show a pay code.
  2. In another browser open %[1]s/shop, log in as Cafe Hikari, type 1280 and the code, charge.
  3. Aiko's phone shows "Payment complete" with apps proposed and why; type a memo, tap "Record in Kakeibo".
  4. Open %[2]s: the entry is there with the memo, in real time.
  5. Pay again without tapping; within %[4]s the statement feed (Aiko turned it on for Kakeibo) books it and confirms the first.
  6. As Chika (Points sends automatically) pay at Midori Mart; %[3]s shows the points.
  7. Aiko's privacy center %[1]s/app/privacy lists every message sent about her, with consent receipts.
  Or run the same tour scripted: go run ./cmd/renkei demo
`, u, k, p, m.StatementEvery)
	}
	fmt.Fprintln(w, "\nPress Ctrl+C to stop.")
}

// Close stops the server and the sweeps and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		errs = append(errs, m.Server.Close())
	}
	if m.Delivery != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		errs = append(errs, m.Delivery.Stop(ctx))
		cancel()
	}
	for _, p := range m.partners {
		errs = append(errs, p.Close())
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	return errors.Join(errs...)
}

type demoData struct {
	Users []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Token string `json:"token"`
	} `json:"users"`
	Terminals []struct {
		ID       string `json:"id"`
		Merchant string `json:"merchant"`
		APIKey   string `json:"api_key"`
	} `json:"terminals"`
	Services []demoService `json:"services"`
}

// demoService is a related service of the demo with its partner key.
type demoService struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	APIKey        string `json:"api_key"`
	WebhookSecret string `json:"webhook_secret"`
}

// seedDemo fills an empty database with demo users, merchants and
// terminals, and keeps their secrets in <data>/demo.json (owner-only) so
// later starts can print them again.
func seedDemo(ctx context.Context, s *store.Store, dir string) (*demoData, error) {
	path := filepath.Join(dir, "demo.json")
	var d demoData
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		return &d, nil
	}
	ms, _, err := s.ListMerchants(ctx, renkei.Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ms) > 0 {
		return nil, nil // a database with data of its own: leave it be
	}
	users := []struct {
		name    string
		balance int64
	}{{"Aiko", 50_000}, {"Ben", 3_000}, {"Chika", 200_000}}
	for _, du := range users {
		u, tok, err := s.CreateUser(ctx, renkei.CreateUser{Name: du.name})
		if err != nil {
			return nil, err
		}
		if _, err := s.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: du.balance, Currency: "JPY"}); err != nil {
			return nil, err
		}
		d.Users = append(d.Users, struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Token string `json:"token"`
		}{u.ID, u.Name, tok})
	}
	merchants := []struct{ name, mcc string }{
		{"Cafe Hikari", "5814"}, {"Midori Mart", "5411"}, {"Tsubame Books", "5942"}, {"Sakura Denki", "5732"},
	}
	for _, dm := range merchants {
		m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: dm.name, MCC: dm.mcc})
		if err != nil {
			return nil, err
		}
		t, key, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "Register 1"})
		if err != nil {
			return nil, err
		}
		d.Terminals = append(d.Terminals, struct {
			ID       string `json:"id"`
			Merchant string `json:"merchant"`
			APIKey   string `json:"api_key"`
		}{t.ID, m.Name, key})
	}
	for _, in := range demoServices() {
		rs, key, err := s.CreateRelatedService(ctx, in.RelatedServiceInput)
		if err != nil {
			return nil, err
		}
		if _, err := s.SetServiceIcon(ctx, rs.ID, "image/png", demoIcon(in.color)); err != nil {
			return nil, err
		}
		d.Services = append(d.Services, demoService{rs.ID, rs.Name, key, rs.WebhookSecret})
	}
	// Aiko keeps a household account book: her link to Kakeibo, with its
	// statement feed turned on, brings her payments there through the
	// statement feed even when she does not tap.
	// Chika collects points automatically on every payment.
	if _, err := s.CreateLink(ctx, d.Users[0].ID, renkei.LinkInput{ServiceID: d.Services[0].ID, Statement: true}); err != nil {
		return nil, err
	}
	if _, err := s.CreateLink(ctx, d.Users[2].ID, renkei.LinkInput{ServiceID: d.Services[1].ID, Auto: true}); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &d, nil
}
