package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/schollz/progressbar/v3"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/internal/tpcb"
)

const benchUsage = `usage: renkei bench <benchmark> [flags]

benchmarks:
  payments   concurrent clients each issue a pay code and charge it over the
             HTTP API; prints payments/s and the charge latency
  deliveries selections at a steady rate; prints selection-commit-to-receipt
             latency and the drain rate of a burst

Run "renkei bench payments -h" for the flags.`

// runBench runs one of the benchmarks of `renkei bench`. args are what
// follows "bench" on the command line.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("bench: name a benchmark\n%s", benchUsage)
	}
	switch args[0] {
	case "payments":
		b, err := parsePaymentsBench(args[1:], stderr)
		if err != nil {
			return err
		}
		return b.run(ctx, stdout)
	case "deliveries":
		b, err := parseDeliveriesBench(args[1:], stderr)
		if err != nil {
			return err
		}
		return b.run(ctx, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, benchUsage)
		return nil
	}
	return fmt.Errorf("bench: unknown benchmark %q\n%s", args[0], benchUsage)
}

// paymentsBench drives the consumer-presented flow: each client, as a user,
// issues a pay code and, as a shop terminal, charges it, as fast as the
// server answers.
type paymentsBench struct {
	URL      string // a running server; empty starts one in-process
	AdminKey string // required with URL
	DSN      string // database of the in-process server; empty is SQLite in a temp dir
	Clients  int
	Users    int
	Duration time.Duration
	// Compare runs the engine's reference first (pgbench, or the raw
	// SQLite loop) and reports Renkei's rate as a multiple of it.
	Compare bool
	// CPUProfile, when set, is where the timed phase's CPU profile goes
	// (with an in-process server, the bench and the server are one
	// process).
	CPUProfile string

	// stderr receives the progress bar and the in-process server's
	// warnings.
	stderr   io.Writer
	progress bool
}

func parsePaymentsBench(args []string, stderr io.Writer) (*paymentsBench, error) {
	b := &paymentsBench{stderr: stderr}
	fs := flag.NewFlagSet("renkei bench payments", flag.ContinueOnError)
	fs.SetOutput(b.stderr)
	fs.StringVar(&b.URL, "url", "", "base URL of a running server (needs --admin-key); default: start one in-process")
	fs.StringVar(&b.AdminKey, "admin-key", "", "admin bearer token of the server at --url")
	fs.StringVar(&b.DSN, "db", "", "database of the in-process server: a postgres:// URL (a fresh schema is created and dropped), or empty for SQLite in a temp dir")
	fs.IntVar(&b.Clients, "clients", 16, "concurrent clients, each with its own shop terminal")
	fs.IntVar(&b.Users, "users", 0, "users paying, each topped up first; default: one per client")
	fs.DurationVar(&b.Duration, "duration", 10*time.Second, "how long the clients pay")
	fs.BoolVar(&b.Compare, "compare", false, "first run the engine's reference for --duration, then Renkei, and print both and the ratio:\n"+
		"pgbench -b tpcb-like -c 8 (in a scratch schema; pgbench on PATH) on PostgreSQL,\n"+
		"a raw TPC-B-like loop, one movement per synchronous=FULL transaction, in this process on SQLite")
	fs.StringVar(&b.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed phase to this file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: renkei bench payments [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("bench payments: unexpected argument %q", fs.Arg(0))
	}
	if b.Users == 0 {
		b.Users = b.Clients
	}
	switch {
	case b.Clients < 1:
		return nil, fmt.Errorf("bench payments: --clients must be at least 1")
	case b.Users < 1:
		return nil, fmt.Errorf("bench payments: --users must be at least 1")
	case b.Duration <= 0:
		return nil, fmt.Errorf("bench payments: --duration must be positive")
	case b.URL != "" && b.AdminKey == "":
		return nil, fmt.Errorf("bench payments: --url needs --admin-key, the server's admin token")
	case b.URL != "" && b.DSN != "":
		return nil, fmt.Errorf("bench payments: --db is for the in-process server; leave it out with --url")
	case b.URL == "" && b.AdminKey != "":
		return nil, fmt.Errorf("bench payments: --admin-key is for a server at --url; the in-process server makes its own")
	case b.URL != "" && b.Compare:
		return nil, fmt.Errorf("bench payments: --compare needs the in-process server; leave out --url")
	}
	b.URL = strings.TrimRight(b.URL, "/")
	return b, nil
}

// benchTarget is the server under test.
type benchTarget struct {
	url, adminKey, engine string
	main                  *Main // nil for a server at --url
	close                 func() error
}

func (b *paymentsBench) run(ctx context.Context, stdout io.Writer) (err error) {
	b.progress = isTerminal(stdout) && isTerminal(b.stderr)
	var ref *benchReference
	if b.Compare {
		// The reference runs first, alone, right before Renkei.
		if ref, err = b.reference(ctx); err != nil {
			return err
		}
	}
	target := &benchTarget{url: b.URL, adminKey: b.AdminKey, engine: "unknown (server at --url)", close: func() error { return nil }}
	if b.URL == "" {
		if target, err = b.startServer(ctx); err != nil {
			return err
		}
	}
	defer func() { err = errors.Join(err, target.close()) }()

	tr := &http.Transport{
		MaxIdleConns:        0, // no overall limit
		MaxIdleConnsPerHost: b.Clients + 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	api := &benchAPI{base: target.url, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}

	setupStart := time.Now()
	fx, err := b.setup(ctx, api, target.adminKey)
	if err != nil {
		return fmt.Errorf("bench setup: %w", err)
	}
	setupTime := time.Since(setupStart)

	var commits0, requests0 int64
	if target.main != nil {
		commits0, requests0 = target.main.Store.PipelineStats()
	}
	stopProfile, err := startCPUProfile(b.CPUProfile)
	if err != nil {
		return err
	}
	res := b.drive(ctx, api, fx)
	if err := stopProfile(); err != nil {
		return err
	}
	b.report(stdout, target, setupTime, res)
	if target.main != nil {
		c, r := target.main.Store.PipelineStats()
		c, r = c-commits0, r-requests0
		fmt.Fprintf(stdout, "write commits    %d for %d write requests (%.1f per commit)\n", c, r, float64(r)/max(float64(c), 1))
	}
	if ref != nil {
		rate := float64(len(res.charge)) / res.elapsed.Seconds()
		fmt.Fprintf(stdout, "reference        %s: %.1f/s\n", ref.what, ref.rate)
		fmt.Fprintf(stdout, "ratio            %.2f (payments/s ÷ reference)\n", rate/ref.rate)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("bench interrupted: %w", ctx.Err())
	}

	if target.main == nil {
		fmt.Fprintln(stdout, "ledger check     skipped: the server runs elsewhere")
	} else {
		lc, err := target.main.Store.CheckLedger(ctx)
		if err != nil {
			return fmt.Errorf("check ledger: %w", err)
		}
		if len(lc.Problems) > 0 {
			fmt.Fprintf(stdout, "ledger check     FAILED: %d problems in %d txns, %d postings\n", len(lc.Problems), lc.Txns, lc.Postings)
			for _, p := range lc.Problems {
				fmt.Fprintln(stdout, "  "+p)
			}
			return fmt.Errorf("bench: the ledger has %d problems", len(lc.Problems))
		}
		fmt.Fprintf(stdout, "ledger check     ok: %d txns, %d postings balance\n", lc.Txns, lc.Postings)
	}
	if res.errors > 0 {
		return fmt.Errorf("bench: %d of %d payment rounds failed", res.errors, res.errors+int64(len(res.charge)))
	}
	return nil
}

// benchReference is what the engine's reference did.
type benchReference struct {
	what string
	rate float64
}

// reference runs the engine's reference for b.Duration: pgbench on
// PostgreSQL, the raw SQLite loop on SQLite.
func (b *paymentsBench) reference(ctx context.Context) (*benchReference, error) {
	if !isPostgresDSN(b.DSN) {
		dir, err := os.MkdirTemp("", "renkei-tpcb-")
		if err != nil {
			return nil, fmt.Errorf("bench: temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		db, err := tpcb.OpenSQLite(ctx, filepath.Join(dir, "tpcb.db"))
		if err != nil {
			return nil, fmt.Errorf("bench reference: %w", err)
		}
		defer db.Close()
		l, err := tpcb.NewLoop(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("bench reference: %w", err)
		}
		defer l.Close()
		n, took, err := l.Run(ctx, b.Duration, 0, 1)
		if err != nil {
			return nil, fmt.Errorf("bench reference: %w", err)
		}
		return &benchReference{what: "raw SQLite TPC-B-like loop, 1 per transaction, synchronous=FULL", rate: float64(n) / took.Seconds()}, nil
	}
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return nil, fmt.Errorf("bench: --compare on PostgreSQL runs pgbench: %w", err)
	}
	dsn, drop, err := benchSchema(ctx, b.DSN)
	if err != nil {
		return nil, err
	}
	defer drop(context.Background())
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	schema := u.Query().Get("search_path")
	q := u.Query()
	q.Del("search_path") // libpq does not take it in the URL; PGOPTIONS carries it
	u.RawQuery = q.Encode()
	env := append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
	pgbench := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append(args, u.String())...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("bench: pgbench %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	if _, err := pgbench("-i", "-q", "-s", "1"); err != nil {
		return nil, err
	}
	secs := strconv.Itoa(max(1, int(b.Duration.Round(time.Second).Seconds())))
	out, err := pgbench("-b", "tpcb-like", "-c", "8", "-T", secs)
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("bench: no tps in pgbench's output:\n%s", out)
	}
	tps, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return nil, fmt.Errorf("bench: pgbench tps %q: %w", m[1], err)
	}
	return &benchReference{what: "pgbench -b tpcb-like -c 8 -T " + secs, rate: tps}, nil
}

// startServer starts a Main on a free port with a temp data folder and,
// on PostgreSQL, a schema of its own; close undoes all three.
func (b *paymentsBench) startServer(ctx context.Context) (*benchTarget, error) {
	dir, err := os.MkdirTemp("", "renkei-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: temp dir: %w", err)
	}
	cleanups := []func() error{func() error { return os.RemoveAll(dir) }}
	undo := func() error {
		var errs []error
		for i := len(cleanups) - 1; i >= 0; i-- {
			errs = append(errs, cleanups[i]())
		}
		return errors.Join(errs...)
	}

	dsn := b.DSN
	if isPostgresDSN(dsn) {
		var drop func(context.Context) error
		dsn, drop, err = benchSchema(ctx, dsn)
		if err != nil {
			return nil, errors.Join(err, undo())
		}
		cleanups = append(cleanups, func() error { return drop(context.Background()) })
	}

	m := NewMain(io.Discard, b.stderr)
	m.DataDir = dir
	m.Addr = "127.0.0.1:0"
	m.DSN = dsn
	m.Demo = false
	m.LogLevel = "warn"
	m.AdminKey = renkei.RandomToken(rand.Reader, "rk_adm_", 32)
	if err := m.Run(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: start server: %w", err), m.Close(), undo())
	}
	cleanups = append(cleanups, m.Close)
	return &benchTarget{
		url: m.Server.URL(), adminKey: m.AdminKey, engine: m.Store.Engine() + " (in-process)",
		main: m, close: undo,
	}, nil
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// benchSchema creates a fresh schema and returns dsn pointed at it, so a
// bench never touches the tables of a real install in the same database.
func benchSchema(ctx context.Context, dsn string) (string, func(context.Context) error, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, fmt.Errorf("bench: parse --db: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "bench_" + hex.EncodeToString(rnd[:])
	ident := pgx.Identifier{schema}.Sanitize()
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		return "", nil, fmt.Errorf("bench: create schema %s: %w", schema, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	drop := func(ctx context.Context) error {
		if err := exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			return fmt.Errorf("bench: drop schema %s: %w", schema, err)
		}
		return nil
	}
	return u.String(), drop, nil
}

// benchFixture is what the setup made: users with money, one terminal per
// client.
type benchFixture struct {
	userTokens     []string
	terminalTokens []string
}

// benchTopUp is what each user gets: the largest top-up allowed, so no run
// of small payments can empty a wallet.
const benchTopUp = renkei.MaxAmount

func (b *paymentsBench) setup(ctx context.Context, api *benchAPI, adminKey string) (*benchFixture, error) {
	var m struct {
		ID string `json:"id"`
	}
	if err := api.create(ctx, "/v1/merchants", adminKey, map[string]string{"name": "Renkei Bench Shop", "category_code": "5411"}, &m); err != nil {
		return nil, err
	}
	fx := &benchFixture{}
	for i := range b.Clients {
		var t struct {
			APIKey string `json:"api_key"`
		}
		if err := api.create(ctx, "/v1/terminals", adminKey, map[string]string{"merchant_id": m.ID, "name": fmt.Sprintf("bench register %d", i+1)}, &t); err != nil {
			return nil, err
		}
		fx.terminalTokens = append(fx.terminalTokens, t.APIKey)
	}
	for i := range b.Users {
		var u struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		if err := api.create(ctx, "/v1/users", adminKey, map[string]string{"name": fmt.Sprintf("bench user %d", i+1)}, &u); err != nil {
			return nil, err
		}
		if err := api.create(ctx, "/v1/topups", adminKey, map[string]any{"user_id": u.ID, "amount": benchTopUp, "currency": "JPY"}, nil); err != nil {
			return nil, err
		}
		fx.userTokens = append(fx.userTokens, u.Token)
	}
	return fx, nil
}

// benchResult is what the clients measured.
type benchResult struct {
	charge  []time.Duration // latency of each completed charge call
	payCode []time.Duration // of the pay code call, for the same payments
	round   []time.Duration // pay code + charge, for the same payments
	errors  int64
	elapsed time.Duration
	samples []string // the first distinct errors
	counts  map[string]int
}

// benchMaxDistinct bounds the distinct errors kept for the report.
const benchMaxDistinct = 5

func (r *benchResult) fail(what string) {
	r.errors++
	if _, ok := r.counts[what]; !ok {
		if len(r.samples) >= benchMaxDistinct {
			return
		}
		r.samples = append(r.samples, what)
	}
	r.counts[what]++
}

func (b *paymentsBench) drive(ctx context.Context, api *benchAPI, fx *benchFixture) *benchResult {
	var (
		mu   sync.Mutex
		res  = &benchResult{counts: map[string]int{}}
		done atomic.Int64
		bad  atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(b.Duration)
	stopBar := b.progressBar(start, &done, &bad)
	for i := range b.Clients {
		wg.Go(func() {
			var charge, payCode, round []time.Duration
			rng := mrand.New(mrand.NewPCG(uint64(i), uint64(start.UnixNano())))
			terminal := fx.terminalTokens[i]
			for r := 0; time.Now().Before(deadline) && ctx.Err() == nil; r++ {
				user := fx.userTokens[(i+r*b.Clients)%len(fx.userTokens)]
				t0 := time.Now()
				var pc struct {
					Code string `json:"code"`
				}
				status, body, err := api.post(ctx, "/v1/pay_codes", user, "", struct{}{}, &pc)
				if ctx.Err() != nil {
					break // interrupted, not a failure of the server
				}
				if what := benchFailure("POST /v1/pay_codes", status, body, err); what != "" {
					bad.Add(1)
					mu.Lock()
					res.fail(what)
					mu.Unlock()
					continue
				}
				amount := 1 + rng.Int64N(1000)
				t1 := time.Now()
				status, body, err = api.post(ctx, "/v1/payments/charge", terminal, rand.Text(),
					map[string]any{"code": pc.Code, "amount": amount}, nil)
				t2 := time.Now()
				if ctx.Err() != nil {
					break
				}
				if what := benchFailure("POST /v1/payments/charge", status, body, err); what != "" {
					bad.Add(1)
					mu.Lock()
					res.fail(what)
					mu.Unlock()
					continue
				}
				charge = append(charge, t2.Sub(t1))
				payCode = append(payCode, t1.Sub(t0))
				round = append(round, t2.Sub(t0))
				done.Add(1)
			}
			mu.Lock()
			res.charge = append(res.charge, charge...)
			res.payCode = append(res.payCode, payCode...)
			res.round = append(res.round, round...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	stopBar()
	return res
}

// benchFailure describes a call that did not create what it asked for, or
// returns "" for a 201. Problem bodies are reduced to status, code and
// detail, so the same failure on different payments counts as one.
func benchFailure(call string, status int, body []byte, err error) string {
	if err != nil {
		return call + ": " + err.Error()
	}
	if status == http.StatusCreated {
		return ""
	}
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) == nil && p.Detail != "" {
		return fmt.Sprintf("%s: %d %s: %s", call, status, p.Code, p.Detail)
	}
	if len(body) > 300 {
		body = body[:300]
	}
	return fmt.Sprintf("%s: %d %s", call, status, bytes.TrimSpace(body))
}

func (b *paymentsBench) report(w io.Writer, t *benchTarget, setup time.Duration, res *benchResult) {
	n := len(res.charge)
	fmt.Fprintf(w, "renkei bench payments\n")
	fmt.Fprintf(w, "engine           %s\n", t.engine)
	fmt.Fprintf(w, "server           %s\n", t.url)
	fmt.Fprintf(w, "clients          %d (users %d, terminals %d; setup %.1fs)\n", b.Clients, b.Users, b.Clients, setup.Seconds())
	fmt.Fprintf(w, "duration         %s (measured %.2fs)\n", b.Duration, res.elapsed.Seconds())
	fmt.Fprintf(w, "completed        %d payments\n", n)
	fmt.Fprintf(w, "errors           %d\n", res.errors)
	fmt.Fprintf(w, "payments/s       %.1f\n", float64(n)/res.elapsed.Seconds())
	slices.Sort(res.charge)
	slices.Sort(res.payCode)
	slices.Sort(res.round)
	fmt.Fprintf(w, "charge latency   %s\n", benchLatencies(res.charge))
	fmt.Fprintf(w, "pay code latency %s\n", benchLatencies(res.payCode))
	fmt.Fprintf(w, "round latency    %s (pay code + charge)\n", benchLatencies(res.round))
	for _, s := range res.samples {
		fmt.Fprintf(w, "  error x%d  %s\n", res.counts[s], s)
	}
	if hidden := res.errors - int64(sumCounts(res.counts, res.samples)); hidden > 0 {
		fmt.Fprintf(w, "  … and %d more errors of other kinds\n", hidden)
	}
}

func sumCounts(counts map[string]int, keys []string) int {
	n := 0
	for _, k := range keys {
		n += counts[k]
	}
	return n
}

func benchLatencies(sorted []time.Duration) string {
	if len(sorted) == 0 {
		return "no samples"
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms",
		ms(benchPercentile(sorted, 50)), ms(benchPercentile(sorted, 90)),
		ms(benchPercentile(sorted, 99)), ms(sorted[len(sorted)-1]))
}

// benchPercentile is the nearest-rank percentile of sorted samples.
func benchPercentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// progressBar shows the elapsed share of the duration, with the counts so
// far, on stderr until the returned func is called; a no-op when the output
// is not a terminal.
func (b *paymentsBench) progressBar(start time.Time, done, bad *atomic.Int64) (stop func()) {
	if !b.progress {
		return func() {}
	}
	bar := progressbar.NewOptions64(b.Duration.Milliseconds(),
		progressbar.OptionSetWriter(b.stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription("payments"))
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-quit:
				bar.Finish()
				return
			case <-t.C:
				bar.Describe(fmt.Sprintf("%d payments, %d errors", done.Load(), bad.Load()))
				bar.Set64(min(b.Duration.Milliseconds(), time.Since(start).Milliseconds()))
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// benchAPI is a bare JSON client of the API; one http.Client is shared by
// all bench clients so connections are reused.
type benchAPI struct {
	base string
	hc   *http.Client
}

// post sends a JSON body and decodes a 201's body into out (if not nil).
func (a *benchAPI) post(ctx context.Context, path, token, idemKey string, in, out any) (int, []byte, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode == http.StatusCreated && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, fmt.Errorf("decode %s answer: %w", path, err)
		}
	}
	return resp.StatusCode, b, nil
}

// create is post for the setup: anything but a 201 is an error.
func (a *benchAPI) create(ctx context.Context, path, token string, in, out any) error {
	idem := ""
	if path == "/v1/topups" {
		idem = rand.Text()
	}
	status, body, err := a.post(ctx, path, token, idem, in, out)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("POST %s: %d %s", path, status, bytes.TrimSpace(body))
	}
	return nil
}
