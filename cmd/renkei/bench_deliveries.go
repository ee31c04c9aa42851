package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/renkei/renkei"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// deliveriesBench measures the delivery engine from a user's tap to the
// partner's receipt: users select a proposed app on completed payments at
// a steady rate, and a partner endpoint on loopback records when each
// message arrives. A second phase queues a burst as fast as it can and
// measures how fast the engine drains it.
//
// Selections go through the in-process server's store (Store.Select, the
// same call the HTTP handler makes, without HTTP), so the figures are the
// engine's: the selection's transaction, River picking the job up, signing,
// sending, and the partner's answer.
type deliveriesBench struct {
	DSN      string // empty is SQLite in a temp dir
	Rate     float64
	Duration time.Duration
	Warmup   time.Duration
	Users    int
	Burst    int
	Workers  int
	Wait     time.Duration
	// CPUProfile, when set, is where the steady phase's CPU profile (bench
	// and server: one process) is written.
	CPUProfile string
	// Timeline prints the latency of each second of a phase.
	Timeline bool

	stderr io.Writer
}

func parseDeliveriesBench(args []string, stderr io.Writer) (*deliveriesBench, error) {
	b := &deliveriesBench{stderr: stderr}
	fs := flag.NewFlagSet("renkei bench deliveries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&b.DSN, "db", "", "database of the in-process server: a postgres:// URL (a fresh schema is created and dropped), or empty for SQLite in a temp dir")
	fs.Float64Var(&b.Rate, "rate", 1000, "selections per second in the steady phase")
	fs.DurationVar(&b.Duration, "duration", 10*time.Second, "how long the steady phase selects")
	fs.DurationVar(&b.Warmup, "warmup", 2*time.Second, "how long to select at the steady rate before the steady phase, reported apart: a server just started has cold connections and caches (0: no warm-up)")
	fs.IntVar(&b.Users, "users", 100, "users, each with completed payments and a link to the related service")
	fs.IntVar(&b.Burst, "burst", 2000, "selections queued as fast as possible after the steady phase, to measure the drain rate (0: no burst phase)")
	fs.IntVar(&b.Workers, "workers", 32, "goroutines making selections")
	fs.DurationVar(&b.Wait, "wait", 2*time.Minute, "how long to wait, after a phase's last selection, for its deliveries")
	fs.BoolVar(&b.Timeline, "timeline", false, "also print the latency of the selections committed in each second of a phase, to see whether the slow ones cluster")
	fs.StringVar(&b.CPUProfile, "cpuprofile", "", "write a CPU profile of the steady phase (the bench and the server are one process) to this file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: renkei bench deliveries [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("bench deliveries: unexpected argument %q", fs.Arg(0))
	case b.Rate <= 0:
		return nil, fmt.Errorf("bench deliveries: --rate must be positive")
	case b.Duration <= 0:
		return nil, fmt.Errorf("bench deliveries: --duration must be positive")
	case b.Users < 1:
		return nil, fmt.Errorf("bench deliveries: --users must be at least 1")
	case b.Burst < 0:
		return nil, fmt.Errorf("bench deliveries: --burst must not be negative")
	case b.Warmup < 0:
		return nil, fmt.Errorf("bench deliveries: --warmup must not be negative")
	case b.Workers < 1:
		return nil, fmt.Errorf("bench deliveries: --workers must be at least 1")
	case b.Wait <= 0:
		return nil, fmt.Errorf("bench deliveries: --wait must be positive")
	}
	return b, nil
}

// steadyCount is how many selections the steady phase makes, and
// warmupCount how many the warm-up before it makes.
func (b *deliveriesBench) steadyCount() int {
	return max(1, int(b.Rate*b.Duration.Seconds()))
}

func (b *deliveriesBench) warmupCount() int {
	return int(b.Rate * b.Warmup.Seconds())
}

func (b *deliveriesBench) run(ctx context.Context, stdout io.Writer) (err error) {
	rcv, err := startBenchPartner()
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rcv.close()) }()
	m, undo, err := b.startServer(ctx)
	if err != nil {
		return err
	}
	// The server stops before the partner, so no attempt is cut off.
	defer func() { err = errors.Join(err, undo()) }()

	if isTerminal(b.stderr) {
		fmt.Fprintf(b.stderr, "renkei bench deliveries: making %d payments and opening their completion views…\n", b.warmupCount()+b.steadyCount()+b.Burst)
	}
	setupStart := time.Now()
	fx, err := b.setup(ctx, m, rcv)
	if err != nil {
		return fmt.Errorf("bench setup: %w", err)
	}
	setupTime := time.Since(setupStart)

	w := stdout
	fmt.Fprintf(w, "renkei bench deliveries\n")
	fmt.Fprintf(w, "engine           %s (in-process)\n", m.Store.Engine())
	fmt.Fprintf(w, "selections       Store.Select in-process (the API handler's call, no HTTP); sent by the server's delivery engine\n")
	fmt.Fprintf(w, "partner          %s, verifies Standard Webhooks signatures, answers 204\n", rcv.url)
	fmt.Fprintf(w, "setup            %d users, %d completed payments with their completion views opened, %.1fs\n",
		b.Users, len(fx.payments), setupTime.Seconds())

	payments := fx.payments
	if n := b.warmupCount(); n > 0 {
		warm := b.phase(ctx, m, fx, payments[:n], b.Rate, rcv)
		warm.name = "warm-up"
		payments = payments[n:]
		fmt.Fprintf(w, "warm-up phase    %.0f selections/s for %s, not counted below\n", b.Rate, b.Warmup)
		warm.report(w, b.Wait)
	}
	stopProfile, err := startCPUProfile(b.CPUProfile)
	if err != nil {
		return err
	}
	steady := b.phase(ctx, m, fx, payments[:b.steadyCount()], b.Rate, rcv)
	if err := stopProfile(); err != nil {
		return err
	}
	fmt.Fprintf(w, "steady phase     %.0f selections/s for %s, %d workers\n", b.Rate, b.Duration, b.Workers)
	steady.report(w, b.Wait)
	var burst *phaseResult
	if b.Burst > 0 && ctx.Err() == nil {
		burst = b.phase(ctx, m, fx, payments[b.steadyCount():], 0, rcv)
		fmt.Fprintf(w, "burst phase      %d selections as fast as %d workers make them\n", b.Burst, b.Workers)
		burst.report(w, b.Wait)
	}
	calls, distinct, dups, bad := rcv.counts()
	fmt.Fprintf(w, "partner          %d calls, %d distinct webhook-ids, %d duplicates, %d rejected\n", calls, distinct, dups, len(bad))
	for _, s := range bad[:min(len(bad), benchMaxDistinct)] {
		fmt.Fprintf(w, "  rejected  %s\n", s)
	}

	if ctx.Err() != nil {
		return fmt.Errorf("bench interrupted: %w", ctx.Err())
	}
	var errs []error
	for _, r := range []*phaseResult{steady, burst} { // the warm-up's errors show in its report
		if r != nil && r.errors > 0 {
			errs = append(errs, fmt.Errorf("bench: %d of %d selections failed in the %s phase", r.errors, r.errors+int64(len(r.commits)), r.name))
		}
	}
	if len(bad) > 0 {
		errs = append(errs, fmt.Errorf("bench: the partner rejected %d calls", len(bad)))
	}
	return errors.Join(errs...)
}

// startServer starts a Main as `renkei serve` would, on a free port with a
// temp data folder and, on PostgreSQL, a schema of its own, and with
// loopback endpoints allowed so it may send to the bench's partner.
func (b *deliveriesBench) startServer(ctx context.Context) (*Main, func() error, error) {
	dir, err := os.MkdirTemp("", "renkei-bench-")
	if err != nil {
		return nil, nil, fmt.Errorf("bench: temp dir: %w", err)
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
		// pgxpool's own settings (pool_max_conns…) are no server
		// parameters: keep them from the plain connection that makes the
		// schema, and give them to the server's pool.
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, nil, errors.Join(fmt.Errorf("bench: parse --db: %w", err), undo())
		}
		q, pool := u.Query(), url.Values{}
		for k, v := range q {
			if strings.HasPrefix(k, "pool_") {
				pool[k] = v
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
		var drop func(context.Context) error
		if dsn, drop, err = benchSchema(ctx, u.String()); err != nil {
			return nil, nil, errors.Join(err, undo())
		}
		cleanups = append(cleanups, func() error { return drop(context.Background()) })
		if len(pool) > 0 {
			u, _ = url.Parse(dsn)
			q = u.Query()
			for k, v := range pool {
				q[k] = v
			}
			u.RawQuery = q.Encode()
			dsn = u.String()
		}
	}
	m := NewMain(io.Discard, b.stderr)
	m.DataDir, m.Addr, m.DSN = dir, "127.0.0.1:0", dsn
	m.Demo, m.AllowPrivate, m.Role, m.LogLevel = false, true, "all", "warn"
	m.AdminKey = renkei.RandomToken(rand.Reader, "rk_adm_", 32)
	if err := m.Run(ctx); err != nil {
		return nil, nil, errors.Join(fmt.Errorf("bench: start server: %w", err), m.Close(), undo())
	}
	cleanups = append(cleanups, m.Close)
	return m, undo, nil
}

// deliveriesFixture is what the setup made: one related service and, per
// user, completed payments whose completion view proposes it.
type deliveriesFixture struct {
	serviceID string
	payments  []benchPayment // in the order the phases use them
}

type benchPayment struct{ userID, paymentID string }

// setup makes the users, the related service and every payment the
// phases will select on, straight on the store: the bench measures the
// selection and its delivery, not the payments.
func (b *deliveriesBench) setup(ctx context.Context, m *Main, rcv *benchPartner) (*deliveriesFixture, error) {
	s := m.Store
	merchant, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Renkei Bench Shop", MCC: "5411"})
	if err != nil {
		return nil, err
	}
	term, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: merchant.ID, Name: "bench register"})
	if err != nil {
		return nil, err
	}
	// A threshold of 1 yen: every payment proposes the service.
	svc, _, err := s.CreateRelatedService(ctx, renkei.RelatedServiceInput{
		Name: "Bench Kakeibo", AppCategory: "household_budget", WebhookURL: rcv.url + "/hooks",
		Scopes: renkei.AllScopes, Input: renkei.InputFields{Memo: true},
		Policy: renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1}}, Enabled: true,
	})
	if err != nil {
		return nil, err
	}
	if svc.WebhookSecret == "" {
		return nil, errors.New("the related service got no webhook secret")
	}
	if err := rcv.setSecret(svc.WebhookSecret); err != nil {
		return nil, err
	}
	users := make([]string, b.Users)
	for i := range users {
		u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: fmt.Sprintf("bench user %d", i+1)})
		if err != nil {
			return nil, err
		}
		if _, err := s.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: benchTopUp, Currency: "JPY"}); err != nil {
			return nil, err
		}
		// A link without auto: a standing consent that sends nothing by
		// itself, so each payment waits for the user's tap.
		if _, err := s.CreateLink(ctx, u.ID, renkei.LinkInput{ServiceID: svc.ID, Auto: false}); err != nil {
			return nil, err
		}
		users[i] = u.ID
	}

	// Pay and open the completion view, a few goroutines at once; payment
	// i belongs to user i % users, so consecutive selections spread over
	// the users.
	total := b.warmupCount() + b.steadyCount() + b.Burst
	payments := make([]benchPayment, total)
	const setupWorkers = 8
	var (
		next  atomic.Int64
		first error
		once  sync.Once
		wg    sync.WaitGroup
	)
	fail := func(err error) { once.Do(func() { first = err }) }
	for range setupWorkers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return
				}
				uid := users[i%len(users)]
				pc, err := s.NewPayCode(ctx, uid, "JPY")
				if err != nil {
					fail(fmt.Errorf("pay code: %w", err))
					return
				}
				p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: int64(100 + i%900)})
				if err != nil {
					fail(fmt.Errorf("charge: %w", err))
					return
				}
				v, err := s.Completion(ctx, uid, p.ID, "en")
				if err != nil {
					fail(fmt.Errorf("completion of %s: %w", p.ID, err))
					return
				}
				if !slices.ContainsFunc(v.Proposals, func(pr *renkei.Proposal) bool { return pr.ServiceID == svc.ID }) {
					fail(fmt.Errorf("payment %s of %d yen does not propose the bench service", p.ID, p.Amount))
					return
				}
				payments[i] = benchPayment{uid, p.ID}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &deliveriesFixture{serviceID: svc.ID, payments: payments}, nil
}

// phaseResult is what one phase measured.
type phaseResult struct {
	name     string
	rate     float64 // 0: as fast as possible
	start    time.Time
	commits  map[string]time.Time // delivery id → when Select returned
	timeline bool
	// roundTrips is what the server sent PostgreSQL during the phase.
	roundTrips int64
	selectDur  []time.Duration
	lag        []time.Duration // how late each Select started against its schedule
	lastSel    time.Time
	errors     int64
	samples    []string
	counts     map[string]int
	arrivals   map[string]time.Time // delivery id → the partner's receipt, for this phase's ids
}

// phase selects on each payment, at rate per second or, with rate 0, as
// fast as the workers can, then waits for the deliveries.
func (b *deliveriesBench) phase(ctx context.Context, m *Main, fx *deliveriesFixture, payments []benchPayment, rate float64, rcv *benchPartner) *phaseResult {
	r := &phaseResult{name: "steady", rate: rate, timeline: b.Timeline, commits: map[string]time.Time{}, counts: map[string]int{}}
	trips := m.Store.RoundTrips()
	if rate == 0 {
		r.name = "burst"
	}
	type job struct {
		p   benchPayment
		due time.Time
	}
	jobs := make(chan job, b.Workers)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for range b.Workers {
		wg.Go(func() {
			var durs, lags []time.Duration
			for j := range jobs {
				t0 := time.Now()
				sel, err := m.Store.Select(ctx, j.p.userID, j.p.paymentID, renkei.SelectInput{ServiceID: fx.serviceID, Memo: "bench"})
				t1 := time.Now()
				mu.Lock()
				switch {
				case ctx.Err() != nil:
				case err != nil:
					r.fail("Select: " + err.Error())
				case sel.DeliveryID == "":
					r.fail("Select: no delivery queued (outcome " + sel.Outcome + ")")
				default:
					r.commits[sel.DeliveryID] = t1
					if t1.After(r.lastSel) {
						r.lastSel = t1
					}
				}
				mu.Unlock()
				durs = append(durs, t1.Sub(t0))
				if rate > 0 {
					lags = append(lags, t0.Sub(j.due))
				}
			}
			mu.Lock()
			r.selectDur = append(r.selectDur, durs...)
			r.lag = append(r.lag, lags...)
			mu.Unlock()
		})
	}
	r.start = time.Now()
	for i, p := range payments {
		if ctx.Err() != nil {
			break
		}
		due := r.start
		if rate > 0 {
			due = r.start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				sleepCtx(ctx, d)
			}
		}
		jobs <- job{p, due}
	}
	close(jobs)
	wg.Wait()
	if r.lastSel.IsZero() {
		r.lastSel = time.Now() // nothing committed
	}

	// Wait for this phase's deliveries, up to --wait after its last
	// selection.
	deadline := r.lastSel.Add(b.Wait)
	for {
		r.arrivals = rcv.arrivals(r.commits)
		if len(r.arrivals) == len(r.commits) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	r.roundTrips = m.Store.RoundTrips() - trips
	return r
}

func (r *phaseResult) fail(what string) {
	r.errors++
	if _, ok := r.counts[what]; !ok && len(r.samples) < benchMaxDistinct {
		r.samples = append(r.samples, what)
	}
	r.counts[what]++
}

func (r *phaseResult) report(w io.Writer, wait time.Duration) {
	n := len(r.commits)
	span := r.lastSel.Sub(r.start)
	fmt.Fprintf(w, "  selections     %d committed, %d errors, in %.2fs: %.1f/s\n", n, r.errors, span.Seconds(), float64(n)/max(span.Seconds(), 1e-9))
	slices.Sort(r.selectDur)
	fmt.Fprintf(w, "  select call    %s\n", benchLatencies(r.selectDur))
	if r.rate > 0 {
		// Sustained: nearly every selection committed within the phase,
		// and they started on time.
		slices.Sort(r.lag)
		sustained := "yes"
		if float64(n)/max(span.Seconds(), 1e-9) < 0.98*r.rate || benchPercentile(r.lag, 99) > 20*time.Millisecond {
			sustained = "no"
		}
		fmt.Fprintf(w, "  rate sustained %s (wanted: ≥ 98%% of %.0f/s, start lag p99 ≤ 20ms)\n", sustained, r.rate)
		fmt.Fprintf(w, "  start lag      %s (behind schedule)\n", benchLatencies(r.lag))
	}
	var lat []time.Duration
	var firstArr, lastArr time.Time
	for id, at := range r.arrivals {
		lat = append(lat, at.Sub(r.commits[id]))
		if firstArr.IsZero() || at.Before(firstArr) {
			firstArr = at
		}
		if at.After(lastArr) {
			lastArr = at
		}
	}
	slices.Sort(lat)
	missing := n - len(r.arrivals)
	fmt.Fprintf(w, "  delivered      %d of %d", len(r.arrivals), n)
	if missing > 0 {
		fmt.Fprintf(w, " (%d not received %s after the last selection)", missing, wait)
	}
	fmt.Fprintln(w)
	if len(r.arrivals) > 0 {
		fmt.Fprintf(w, "  deliveries/s   %.1f (received ÷ first selection to last receipt, %.2fs)\n",
			float64(len(r.arrivals))/lastArr.Sub(r.start).Seconds(), lastArr.Sub(r.start).Seconds())
	}
	if missing > 0 {
		// The missing ones are slower than any received: percentiles over
		// the received alone would flatter the engine.
		for range missing {
			lat = append(lat, time.Duration(1<<62))
		}
		fmt.Fprintf(w, "  latency        %s (commit → partner receipt; \"inf\" = not received)\n", benchLatenciesInf(lat))
	} else {
		fmt.Fprintf(w, "  latency        %s (commit → partner receipt)\n", benchLatencies(lat))
	}
	if r.roundTrips > 0 && n > 0 {
		fmt.Fprintf(w, "  round trips    %.1f per selection with its delivery (%d statements and batches the server sent PostgreSQL)\n",
			float64(r.roundTrips)/float64(n), r.roundTrips)
	}
	for _, s := range r.samples {
		fmt.Fprintf(w, "  error x%d  %s\n", r.counts[s], s)
	}
	if r.timeline {
		r.reportTimeline(w)
	}
}

// reportTimeline prints, for each second of the phase, the latency of the
// messages whose selection committed in it.
func (r *phaseResult) reportTimeline(w io.Writer) {
	var secs [][]time.Duration
	for id, at := range r.arrivals {
		c := r.commits[id]
		i := int(c.Sub(r.start) / time.Second)
		for len(secs) <= i {
			secs = append(secs, nil)
		}
		secs[i] = append(secs[i], at.Sub(c))
	}
	for i, lat := range secs {
		slices.Sort(lat)
		fmt.Fprintf(w, "    second %-3d %5d received  %s\n", i+1, len(lat), benchLatencies(lat))
	}
}

// benchLatenciesInf is benchLatencies where samples of 1<<62 mean "never".
func benchLatenciesInf(sorted []time.Duration) string {
	f := func(d time.Duration) string {
		if d >= 1<<62 {
			return "inf"
		}
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s", f(benchPercentile(sorted, 50)), f(benchPercentile(sorted, 90)),
		f(benchPercentile(sorted, 99)), f(sorted[len(sorted)-1]))
}

// benchPartner is the related service's endpoint: it verifies each call
// as a partner would and keeps the first arrival of each webhook-id.
type benchPartner struct {
	url string
	srv *http.Server
	ln  net.Listener

	mu      sync.Mutex
	wh      *standardwebhooks.Webhook
	arrived map[string]time.Time
	calls   int
	dups    int
	bad     []string
}

func startBenchPartner() (*benchPartner, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench partner: %w", err)
	}
	p := &benchPartner{url: "http://" + ln.Addr().String(), ln: ln, arrived: map[string]time.Time{}}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *benchPartner) setSecret(secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("bench partner: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wh = wh
	return nil
}

func (p *benchPartner) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	at := time.Now()
	id := r.Header.Get("webhook-id")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if err == nil && p.wh != nil {
		err = p.wh.Verify(body, r.Header)
	} else if err == nil {
		err = errors.New("no secret yet")
	}
	if err != nil {
		if len(p.bad) < 100 {
			p.bad = append(p.bad, fmt.Sprintf("%s: %v", id, err))
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if _, ok := p.arrived[id]; ok {
		p.dups++
	} else {
		p.arrived[id] = at
	}
	w.WriteHeader(http.StatusNoContent)
}

// arrivals returns the receipts of the given delivery ids.
func (p *benchPartner) arrivals(ids map[string]time.Time) map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]time.Time, len(ids))
	for id := range ids {
		if at, ok := p.arrived[id]; ok {
			out[id] = at
		}
	}
	return out
}

func (p *benchPartner) counts() (calls, distinct, dups int, bad []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls, len(p.arrived), p.dups, slices.Clone(p.bad)
}

func (p *benchPartner) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// startCPUProfile starts a CPU profile into path (nothing when empty) and
// returns what stops it and closes the file.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: cpu profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
