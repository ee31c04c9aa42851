package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/store/storetest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/goleak"
)

// TestMain checks, after every test of the package, that no goroutine was
// left behind, and removes the binary the crash tests built. Idle
// keep-alive connections of the default client (used by some tests) are
// closed first: they are a cache, not a leak.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines left after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// binary is the real renkei program, built once per test process for the
// tests that kill it.
var binary struct {
	once      sync.Once
	dir, path string
	err       error
}

// renkeiBinary builds ./cmd/renkei from the module root into a temp dir,
// once, and returns its path.
func renkeiBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			binary.err = fmt.Errorf("the crash test builds the real binary and needs the go command on PATH: %w", err)
			return
		}
		root, err := exec.Command(goTool, "env", "GOMOD").Output()
		if err != nil || strings.TrimSpace(string(root)) == "" {
			binary.err = fmt.Errorf("find the module root (go env GOMOD): %v", err)
			return
		}
		if binary.dir, err = os.MkdirTemp("", "renkei-crash-bin-"); err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(binary.dir, "renkei")
		build := exec.Command(goTool, "build", "-o", binary.path, "./cmd/renkei")
		build.Dir = filepath.Dir(strings.TrimSpace(string(root)))
		if out, err := build.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/renkei: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// TestCrashLosesNoDelivery is the delivery engine's promise under kill -9:
// payments are made from several clients while the server is killed with
// SIGKILL at a random moment and restarted on the same data. Every
// delivery the database holds must reach the partner, which counts each
// webhook-id once and sees every (user, service) stream numbered 1..N
// without a gap; nothing reaches it that the database does not hold; and
// every payment answered 201 has its delivery.
func TestCrashLosesNoDelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		engine string
		nodes  int
	}{
		{"sqlite", "sqlite", 1},
		{"postgres", "postgres", 1},
		// Two processes share the database; one is killed, the other
		// keeps working, the killed one comes back.
		{"postgres_two_nodes", "postgres", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			crashRun(t, tc.engine, tc.nodes)
		})
	}
}

// crashDrivers is how many goroutines make payments, and crashPace the
// pause after each payment: about 200 payments/s in all, so a run queues
// hundreds of deliveries without outrunning the engine's per-endpoint
// limit for long.
const (
	crashDrivers = 4
	crashPace    = 20 * time.Millisecond
	crashUsers   = 3
)

// crashConverge bounds the wait, after the payments stop, for every
// delivery to be received. A job the killed process had taken (River
// state "running") comes back only through River's rescuer, which runs
// every 30 s on the leader and retries jobs running longer than
// RescueStuckJobsAfter, then waits the retry schedule's 5 s: with
// RescueStuckJobsAfter at the attempt timeout plus a margin (25 s) that is
// at most about a minute. 90 s leaves room for a loaded machine; River's
// default of an hour does not fit, and should not.
const crashConverge = 90 * time.Second

func crashRun(t *testing.T, engine string, nodes int) {
	bin := renkeiBinary(t)
	rcv := newCrashPartner(t)
	dir := t.TempDir()
	dsn := ""
	if engine == "postgres" {
		dsn = storetest.PostgresDSN(t)
	}
	adminKey := renkei.RandomToken(rand.Reader, "rk_adm_", 32)
	master := make([]byte, 32)
	rand.Read(master)
	args := []string{"--demo=false", "--allow-private-endpoints=true", "--admin-key", adminKey,
		"--master-key", base64.StdEncoding.EncodeToString(master), "--log-level", "warn", "--role", "all"}
	if dsn != "" {
		args = append(args, "--db", dsn)
	}
	procs := make([]*crashProc, nodes)
	for i := range procs {
		// Each node its own data folder; they share the database (and,
		// through --master-key, the key that seals webhook secrets).
		// On SQLite the database is node1/renkei.db, which the restart
		// reuses.
		name := fmt.Sprintf("node%d", i+1)
		procs[i] = startCrashProc(t, bin, name, slices.Concat(args, []string{"--data", filepath.Join(dir, name)}))
	}

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	fx := crashSetup(t, hc, procs[0].url, adminKey, rcv)

	// Drive payments against every node until stopped.
	var targets atomic.Pointer[[]string]
	setTargets := func() {
		var us []string
		for _, p := range procs {
			us = append(us, p.currentURL())
		}
		targets.Store(&us)
	}
	setTargets()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait() // after stop, also when the test fails early
	defer stop()
	d := &crashDriver{hc: hc, fx: fx, targets: &targets}
	for i := range crashDrivers {
		wg.Go(func() { d.run(ctx, i) })
	}

	killAfter := time.Duration(300+mrand.IntN(1200)) * time.Millisecond
	time.Sleep(killAfter)
	victim := procs[0]
	before := d.ok.Load()
	victim.kill(t)
	t.Logf("killed %s (SIGKILL) after %s, %d payments answered 201 so far", victim.name, killAfter, before)
	time.Sleep(100 * time.Millisecond) // let requests fail against the dead node
	victim.restart(t)
	setTargets()
	time.Sleep(time.Second)
	stop()
	wg.Wait()
	t.Logf("%d payments answered 201, %d calls failed (the kill)", d.ok.Load(), d.failed.Load())
	if d.ok.Load() == 0 {
		t.Fatalf("no payment succeeded; the test proves nothing\n%s", procsOutput(procs))
	}

	// Wait until the partner has seen exactly what the database holds.
	live := procs[len(procs)-1].currentURL()
	var (
		ds      []crashDelivery
		pending []string
	)
	stopped := time.Now()
	deadline := stopped.Add(crashConverge)
	for {
		ds = listCrashDeliveries(t, hc, live, adminKey)
		pending = rcv.pending(ds)
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(pending) == 0 {
		t.Logf("the partner matched the database %s after the payments stopped", time.Since(stopped).Round(10*time.Millisecond))
	} else {
		t.Errorf("%d of %d deliveries not done %s after the payments stopped (River jobs by state: %s):\n  %s",
			len(pending), len(ds), crashConverge, riverJobStates(t, engine, dir, dsn), strings.Join(pending[:min(len(pending), 20)], "\n  "))
	}
	rcv.check(t, ds, d.paid())
	if t.Failed() {
		t.Logf("server output:\n%s", procsOutput(procs))
	}
	for _, p := range procs {
		p.stop(t)
	}
}

// crashProc is one renkei serve process.
type crashProc struct {
	name string
	bin  string
	args []string
	cmd  *exec.Cmd
	out  *storetest.SyncBuffer // stdout and stderr, across restarts
	done chan struct{}
	mu   sync.Mutex
	url  string
}

var welcomeURL = regexp.MustCompile(`is running on (http://127\.0\.0\.1:\d+)`)

func startCrashProc(t *testing.T, bin, name string, args []string) *crashProc {
	t.Helper()
	p := &crashProc{name: name, bin: bin, args: args, out: &storetest.SyncBuffer{}}
	p.start(t)
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill(t)
		}
	})
	return p
}

// start runs the binary on a free port and waits for its welcome text.
func (p *crashProc) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(p.bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, p.args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RENKEI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	// Each run's output starts where the last one ended, so the welcome
	// found is this run's.
	from := len(p.out.String())
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	p.cmd, p.done = cmd, done
	deadline := time.After(30 * time.Second)
	for {
		if m := welcomeURL.FindStringSubmatch(p.out.String()[from:]); m != nil {
			p.mu.Lock()
			p.url = m[1]
			p.mu.Unlock()
			return
		}
		select {
		case <-done:
			t.Fatalf("%s exited before serving:\n%s", p.name, p.out.String()[from:])
		case <-deadline:
			t.Fatalf("%s printed no URL in 30 s:\n%s", p.name, p.out.String()[from:])
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (p *crashProc) currentURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.url
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *crashProc) kill(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	if err := p.cmd.Process.Kill(); err != nil {
		select {
		case <-p.done:
		default:
			t.Errorf("kill %s: %v", p.name, err)
		}
	}
	<-p.done
	fmt.Fprintf(p.out, "\n--- %s killed (SIGKILL) ---\n", p.name)
	p.cmd = nil
}

// restart starts the process again with the same flags: a new port, the
// same data folder and database.
func (p *crashProc) restart(t *testing.T) {
	t.Helper()
	p.start(t)
}

// stop asks the process to shut down (SIGTERM) and kills it if it does
// not within 20 s.
func (p *crashProc) stop(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		p.cmd = nil
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop within 20 s of SIGTERM", p.name)
		p.kill(t)
	}
}

func procsOutput(procs []*crashProc) string {
	var b strings.Builder
	for _, p := range procs {
		out := p.out.String()
		if len(out) > 8000 {
			out = "…" + out[len(out)-8000:]
		}
		fmt.Fprintf(&b, "=== %s ===\n%s\n", p.name, out)
	}
	return b.String()
}

// crashFixture is what the setup made through the admin API.
type crashFixture struct {
	terminal  string
	users     []string // user tokens
	serviceID string
}

func crashSetup(t *testing.T, hc *http.Client, base, adminKey string, rcv *crashPartner) *crashFixture {
	t.Helper()
	ctx := t.Context()
	api := &benchAPI{base: base, hc: hc}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %v", err)
		}
	}
	var m struct {
		ID string `json:"id"`
	}
	must(api.create(ctx, "/v1/merchants", adminKey, map[string]string{"name": "Crash Cafe", "category_code": "5814"}, &m))
	var term struct {
		APIKey string `json:"api_key"`
	}
	must(api.create(ctx, "/v1/terminals", adminKey, map[string]string{"merchant_id": m.ID, "name": "Register 1"}, &term))
	var svc struct {
		ID            string `json:"id"`
		WebhookSecret string `json:"webhook_secret"`
	}
	must(api.create(ctx, "/v1/related_services", adminKey, renkei.RelatedServiceInput{
		Name: "Crash Kakeibo", AppCategory: "household_budget", WebhookURL: rcv.srv.URL + "/hooks",
		Scopes: renkei.AllScopes, Policy: renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}}, Enabled: true,
	}, &svc))
	if !strings.HasPrefix(svc.WebhookSecret, "whsec_") {
		t.Fatalf("setup: related service answered webhook secret %q", svc.WebhookSecret)
	}
	rcv.setSecret(svc.WebhookSecret)
	fx := &crashFixture{terminal: term.APIKey, serviceID: svc.ID}
	for i := range crashUsers {
		var u struct {
			ID    string `json:"id"`
			Token string `json:"token"`
		}
		must(api.create(ctx, "/v1/users", adminKey, map[string]string{"name": fmt.Sprintf("crash user %d", i+1)}, &u))
		must(api.create(ctx, "/v1/topups", adminKey, map[string]any{"user_id": u.ID, "amount": benchTopUp, "currency": "JPY"}, nil))
		must(api.create(ctx, "/v1/links", u.Token, map[string]any{"service_id": svc.ID, "auto": true}, nil))
		fx.users = append(fx.users, u.Token)
	}
	return fx
}

// crashDriver makes payments (pay code, then charge) and keeps the ids of
// those answered 201.
type crashDriver struct {
	hc      *http.Client
	fx      *crashFixture
	targets *atomic.Pointer[[]string]

	ok, failed atomic.Int64
	mu         sync.Mutex
	payments   []string
}

func (d *crashDriver) run(ctx context.Context, i int) {
	user := d.fx.users[i%len(d.fx.users)]
	for r := 0; ctx.Err() == nil; r++ {
		urls := *d.targets.Load()
		api := &benchAPI{base: urls[(i+r)%len(urls)], hc: d.hc}
		var pc struct {
			Code string `json:"code"`
		}
		status, _, err := api.post(ctx, "/v1/pay_codes", user, "", struct{}{}, &pc)
		if err != nil || status != http.StatusCreated {
			d.failed.Add(1)
			sleepCtx(ctx, 10*time.Millisecond)
			continue
		}
		var p struct {
			ID string `json:"id"`
		}
		status, _, err = api.post(ctx, "/v1/payments/charge", d.fx.terminal, rand.Text(),
			map[string]any{"code": pc.Code, "amount": 100 + r%900}, &p)
		if err != nil || status != http.StatusCreated {
			d.failed.Add(1)
			sleepCtx(ctx, 10*time.Millisecond)
			continue
		}
		d.ok.Add(1)
		d.mu.Lock()
		d.payments = append(d.payments, p.ID)
		d.mu.Unlock()
		sleepCtx(ctx, crashPace)
	}
}

func (d *crashDriver) paid() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.payments)
}

// crashPartner is the related service's endpoint: it verifies each call
// with the Standard Webhooks library and deduplicates by webhook-id, as a
// partner following the documentation would.
type crashPartner struct {
	srv *httptest.Server

	mu     sync.Mutex
	secret string
	got    map[string]crashMessage // by webhook-id, first receipt
	calls  int
	dups   int
	bad    []string // what a correct partner would reject
}

type crashMessage struct {
	user, payment string
	seq           int64
}

func newCrashPartner(t *testing.T) *crashPartner {
	p := &crashPartner{got: map[string]crashMessage{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *crashPartner) setSecret(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.secret = s
}

func (p *crashPartner) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	id := r.Header.Get("webhook-id")
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	wh, werr := standardwebhooks.NewWebhook(p.secret)
	if err != nil || werr != nil {
		p.bad = append(p.bad, fmt.Sprintf("%s: read %v, secret %v", id, err, werr))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := wh.Verify(body, r.Header); err != nil {
		p.bad = append(p.bad, fmt.Sprintf("%s: signature: %v", id, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var m store.Message
	if err := json.Unmarshal(body, &m); err != nil {
		p.bad = append(p.bad, fmt.Sprintf("%s: body: %v", id, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	msg := crashMessage{user: m.Data.User, payment: m.Data.PaymentID, seq: m.Data.Sequence}
	if prev, ok := p.got[id]; ok {
		p.dups++
		if prev != msg {
			p.bad = append(p.bad, fmt.Sprintf("%s: sent twice with different content: %+v then %+v", id, prev, msg))
		}
	} else {
		p.got[id] = msg
	}
	w.WriteHeader(http.StatusNoContent)
}

// pending lists what keeps the partner from matching the database: a
// delivery not yet delivered or not received, or a received id the
// database does not hold.
func (p *crashPartner) pending(ds []crashDelivery) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	inDB := map[string]bool{}
	for _, d := range ds {
		inDB[d.ID] = true
		_, got := p.got[d.ID]
		if d.Status != renkei.DeliveryDelivered || !got {
			out = append(out, fmt.Sprintf("%s (payment %s, seq %d): status %s, %d attempts, last error %q, received %t",
				d.ID, d.PaymentID, d.seq, d.Status, d.Attempts, d.LastError, got))
		}
	}
	for id := range p.got {
		if !inDB[id] {
			out = append(out, fmt.Sprintf("%s: received but not in the database", id))
		}
	}
	slices.Sort(out)
	return out
}

// check holds the received messages to the database's deliveries and the
// payments answered 201.
func (p *crashPartner) check(t *testing.T, ds []crashDelivery, paid []string) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range p.bad {
		t.Errorf("partner rejected a call: %s", b)
	}
	byPayment := map[string]bool{}
	dbSeqs := map[string][]int64{}
	for _, d := range ds {
		byPayment[d.PaymentID] = true
		dbSeqs[d.user] = append(dbSeqs[d.user], d.seq)
		if d.Type != renkei.EventPaymentCompleted || d.Source != renkei.SourceLink {
			t.Errorf("delivery %s is %s from %s; the test only makes linked payments", d.ID, d.Type, d.Source)
		}
		if m, ok := p.got[d.ID]; ok && (m.user != d.user || m.seq != d.seq || m.payment != d.PaymentID) {
			t.Errorf("delivery %s: received %+v, the database says user %s seq %d payment %s", d.ID, m, d.user, d.seq, d.PaymentID)
		}
	}
	for _, id := range paid {
		if !byPayment[id] {
			t.Errorf("payment %s was answered 201 but has no delivery", id)
		}
	}
	if len(dbSeqs) != crashUsers {
		t.Errorf("deliveries for %d users, want %d", len(dbSeqs), crashUsers)
	}
	got := map[string][]int64{}
	for _, m := range p.got {
		got[m.user] = append(got[m.user], m.seq)
	}
	for user, seqs := range got {
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Errorf("user %s: received sequences are not 1..%d after dedup: position %d holds %d (of %v)",
					user, len(seqs), i+1, s, seqs[max(0, i-2):min(len(seqs), i+3)])
				break
			}
		}
		if want := len(dbSeqs[user]); len(seqs) != want {
			t.Errorf("user %s: received %d distinct messages, the database holds %d", user, len(seqs), want)
		}
	}
	t.Logf("partner: %d calls, %d distinct messages, %d duplicates (deduplicated); database: %d deliveries for %d payments answered 201",
		p.calls, len(p.got), p.dups, len(ds), len(paid))
}

// crashDelivery is a delivery as GET /v1/deliveries lists it, with the
// stream fields read from its body.
type crashDelivery struct {
	renkei.Delivery
	user string
	seq  int64
}

// listCrashDeliveries reads every delivery through the admin API, page by
// page.
func listCrashDeliveries(t *testing.T, hc *http.Client, base, adminKey string) []crashDelivery {
	t.Helper()
	var out []crashDelivery
	after := ""
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("starting_after", after)
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/deliveries?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET /v1/deliveries: %v", err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/deliveries: %d %v %s", res.StatusCode, err, bytes.TrimSpace(b))
		}
		var page struct {
			Data    []renkei.Delivery `json:"data"`
			HasMore bool              `json:"has_more"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("GET /v1/deliveries: %v", err)
		}
		for _, d := range page.Data {
			var m store.Message
			if err := json.Unmarshal([]byte(d.Body), &m); err != nil {
				t.Fatalf("delivery %s body: %v", d.ID, err)
			}
			out = append(out, crashDelivery{Delivery: d, user: m.Data.User, seq: m.Data.Sequence})
		}
		if !page.HasMore || len(page.Data) == 0 {
			return out
		}
		after = page.Data[len(page.Data)-1].ID
	}
}

// riverJobStates counts the delivery jobs by River state, for the message
// of a failure: "running" jobs left by a killed process are the ones only
// River's rescuer will retry.
func riverJobStates(t *testing.T, engine, dir, dsn string) string {
	t.Helper()
	const q = `SELECT state, COUNT(*) FROM river_job GROUP BY state ORDER BY state`
	var parts []string
	if engine == "postgres" {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return err.Error()
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), q)
		if err != nil {
			return err.Error()
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			var n int64
			rows.Scan(&s, &n)
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
		return strings.Join(parts, ", ")
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "node1", "renkei.db"))
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	rows, err := db.Query(q)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		rows.Scan(&s, &n)
		parts = append(parts, fmt.Sprintf("%s %d", s, n))
	}
	return strings.Join(parts, ", ")
}
