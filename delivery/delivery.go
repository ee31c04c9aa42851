// Package delivery is Renkei's delivery engine: every queued message to a
// related service is a River job, inserted in the transaction that queued
// the message (the transactional outbox), and worked here: signed with the
// Standard Webhooks scheme, sent through the SSRF-safe client, retried on
// the documented schedule, logged attempt by attempt. On PostgreSQL several
// nodes share the work; on SQLite one process does.
package delivery

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/webhook"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"golang.org/x/time/rate"
)

// Queue is the River queue of deliveries.
const Queue = "deliveries"

// Args is a delivery job: just the delivery's id; everything else is read
// when the job runs, so an unlink or a rotation in between is honoured.
type Args struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind names the job for River.
func (Args) Kind() string { return "renkei_delivery" }

// InsertOpts puts deliveries on their queue with one River attempt per
// step of the retry schedule.
func (Args) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: len(webhook.Schedule)}
}

// Config tunes the engine.
type Config struct {
	// Policy is the SSRF policy of the sending client.
	Policy webhook.Policy
	// Timeout bounds one attempt (default 15 s).
	Timeout time.Duration
	// Workers is how many deliveries this node sends at once (default 50).
	Workers int
	// PerEndpoint is how many deliveries to one endpoint run at once on
	// this node (default 8), and PerEndpointRate how many per second may
	// start (default 1,000): one slow partner never holds the others.
	PerEndpoint     int
	PerEndpointRate float64
	// Schedule is the retry schedule (default webhook.Schedule); tests
	// shorten it.
	Schedule []time.Duration
	// Work is false on an API-only node: it inserts jobs but sends nothing.
	Work bool
	// Log and Metrics; Metrics may be nil.
	Log     *slog.Logger
	Metrics prometheus.Registerer
}

// Engine runs the delivery jobs of one store.
type Engine struct {
	store *store.Store
	cfg   Config
	// client sends to every endpoint; the per-endpoint limits sit above it.
	client *http.Client

	insert func(ctx context.Context, tx any, args Args) error
	start  func(ctx context.Context) error
	stop   func(ctx context.Context) error

	mu        sync.Mutex
	endpoints map[string]*endpoint

	// Workers load their deliveries and log their attempts in groups:
	// under load one round trip serves many.
	load   *group[string, *store.Outgoing]
	record *group[store.Attempted, struct{}]

	delivered *prometheus.CounterVec
	latency   prometheus.Histogram
	receipt   prometheus.Histogram
}

type endpoint struct {
	sem chan struct{}
	lim *rate.Limiter
}

// Open migrates River's tables into the store's database, builds the
// River client for the store's engine and wires itself in as the store's
// outbox. Call Start to work jobs and Stop before closing the store.
func Open(ctx context.Context, st *store.Store, cfg Config) (*Engine, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = webhook.DefaultTimeout
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 50
	}
	if cfg.PerEndpoint <= 0 {
		cfg.PerEndpoint = 8
	}
	if cfg.PerEndpointRate <= 0 {
		cfg.PerEndpointRate = 1000
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if len(cfg.Schedule) == 0 {
		cfg.Schedule = webhook.Schedule
	}
	pol := cfg.Policy
	pol.IdlePerHost = max(pol.IdlePerHost, cfg.PerEndpoint)
	e := &Engine{store: st, cfg: cfg, endpoints: map[string]*endpoint{}, client: pol.Client(cfg.Timeout)}
	e.metrics(cfg.Metrics)
	e.groups()

	workers := river.NewWorkers()
	river.AddWorker(workers, &worker{e: e})
	rc := &river.Config{
		Logger:        cfg.Log.With("component", "river"),
		FetchCooldown: 5 * time.Millisecond,
		// River wakes a node by NOTIFY when a job is inserted, but at most
		// once per FetchCooldown per queue: a job committed just after a
		// woken fetch waits for the next NOTIFY or for this poll. 50 ms
		// bounds that wait (River's default is 1 s); an idle node pays
		// 20 small queries a second for it.
		FetchPollInterval: 50 * time.Millisecond,
		JobTimeout:        cfg.Timeout + 5*time.Second,
		// A node killed mid-attempt leaves its jobs "running"; another node
		// (or this one after a restart) takes them over this long after the
		// job could last have been alive. The partner may then see the
		// message twice, with the same webhook-id, which is what it dedups on.
		RescueStuckJobsAfter: cfg.Timeout + 15*time.Second,
		Workers:              workers,
	}
	if cfg.Work {
		rc.Queues = map[string]river.QueueConfig{Queue: {MaxWorkers: cfg.Workers}}
	}
	var err error
	if pool := st.PgxPool(); pool != nil {
		err = wire(ctx, e, riverpgxv5.New(pool), rc)
	} else if db := st.SQLDB(); db != nil {
		// SQLite allows one writer: poll rather than listen, and keep the
		// job table's maintenance light.
		rc.PollOnly = true
		err = wire[*sql.Tx](ctx, e, riversqlite.New(db), rc)
		if err == nil && cfg.Work {
			// One process works a SQLite file: a job still "running" now was
			// left by a crash of this process. Take it back at once instead
			// of waiting for River's rescuer; the partner dedups a repeat.
			_, err = db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running' AND queue = ?`, Queue)
		}
	} else {
		err = errors.New("store has no database handle")
	}
	if err != nil {
		return nil, err
	}
	st.Outbox = e
	return e, nil
}

func wire[TTx any](ctx context.Context, e *Engine, driver riverdriver.Driver[TTx], rc *river.Config) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river tables: %w", err)
	}
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}
	e.insert = func(ctx context.Context, tx any, args Args) error {
		t, ok := tx.(TTx)
		if !ok {
			return fmt.Errorf("delivery: transaction of type %T, want %T", tx, *new(TTx))
		}
		_, err := c.InsertTx(ctx, t, args, &river.InsertOpts{MaxAttempts: len(e.cfg.Schedule)})
		return err
	}
	e.start = func(ctx context.Context) error {
		if len(rc.Queues) == 0 {
			return nil // API-only: insert, never work
		}
		return c.Start(ctx)
	}
	e.stop = func(ctx context.Context) error {
		if len(rc.Queues) == 0 {
			return nil
		}
		return c.Stop(ctx)
	}
	return nil
}

// EnqueueTx implements store.Outbox: the job row is written in the
// transaction that queues the delivery.
func (e *Engine) EnqueueTx(ctx context.Context, tx any, deliveryID string) error {
	return e.insert(ctx, tx, Args{DeliveryID: deliveryID})
}

// Start begins working jobs (on nodes configured to work).
func (e *Engine) Start(ctx context.Context) error {
	e.load.start()
	e.record.start()
	return e.start(ctx)
}

// Stop lets running attempts finish (bounded by ctx) and stops.
func (e *Engine) Stop(ctx context.Context) error {
	err := e.stop(ctx)
	e.load.stop()
	e.record.stop() // what was handed over is written
	e.client.CloseIdleConnections()
	return err
}

// groupMax bounds how many calls one grouped round trip serves.
const groupMax = 128

func (e *Engine) groups() {
	e.load = &group[string, *store.Outgoing]{name: "load deliveries", max: groupMax, log: e.cfg.Log,
		fn: func(ctx context.Context, ids []string) ([]*store.Outgoing, error) {
			m, err := e.store.OutgoingMany(ctx, ids)
			if err != nil {
				return nil, err
			}
			out := make([]*store.Outgoing, len(ids))
			for i, id := range ids {
				out[i] = m[id] // nil: no such delivery
			}
			return out, nil
		}}
	e.record = &group[store.Attempted, struct{}]{name: "log attempts", max: groupMax, log: e.cfg.Log,
		fn: func(ctx context.Context, as []store.Attempted) ([]struct{}, error) {
			return make([]struct{}, len(as)), e.store.RecordAttempts(ctx, as)
		}}
}

func (e *Engine) endpoint(serviceID string) *endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	ep, ok := e.endpoints[serviceID]
	if !ok {
		ep = &endpoint{sem: make(chan struct{}, e.cfg.PerEndpoint),
			lim: rate.NewLimiter(rate.Limit(e.cfg.PerEndpointRate), max(1, int(e.cfg.PerEndpointRate)))}
		e.endpoints[serviceID] = ep
	}
	return ep
}

type worker struct {
	river.WorkerDefaults[Args]
	e *Engine
}

// NextRetry follows the retry schedule with ±20 % jitter instead of
// River's default backoff: attempt n+1 waits Schedule[n].
func (w *worker) NextRetry(job *river.Job[Args]) time.Time {
	sched := w.e.cfg.Schedule
	d := sched[min(job.Attempt, len(sched)-1)]
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return time.Now().Add(d)
}

// Work makes one attempt at one delivery.
func (w *worker) Work(ctx context.Context, job *river.Job[Args]) error {
	e := w.e
	o, err := e.load.do(ctx, job.Args.DeliveryID)
	if err != nil {
		return err
	} else if o == nil {
		return nil // nothing to send (never happens: the row commits with the job)
	}
	if o.Delivery.Status != renkei.DeliveryQueued {
		return nil // canceled by an unlink, or already delivered by a replay
	}
	if !o.Enabled {
		e.delivered.WithLabelValues("endpoint_disabled").Inc()
		_, err := e.record.do(ctx, store.Attempted{DeliveryID: o.Delivery.ID, ServiceID: o.Delivery.ServiceID,
			AttemptResult: store.AttemptResult{Attempt: job.Attempt, StartedAt: time.Now(),
				Err: "Not sent: the related service or its endpoint is disabled.", Final: true}})
		return err
	}
	ep := e.endpoint(o.Delivery.ServiceID)
	// Wait a little for the endpoint's slot before giving the job back:
	// snoozing at once costs a round trip through the job table per try,
	// which under load is what limits throughput (see BENCHMARKS.md).
	slot := time.NewTimer(500 * time.Millisecond)
	select {
	case ep.sem <- struct{}{}:
		slot.Stop()
	case <-slot.C:
		return river.JobSnooze(50*time.Millisecond + time.Duration(rand.IntN(100))*time.Millisecond)
	case <-ctx.Done():
		slot.Stop()
		return ctx.Err()
	}
	// The slot counts requests in flight to the partner: it is given back
	// as soon as the answer is in, not after the attempt is logged.
	held := true
	release := func() {
		if held {
			held = false
			<-ep.sem
		}
	}
	defer release()
	if r := ep.lim.Reserve(); r.Delay() > 0 {
		d := r.Delay()
		if d > 500*time.Millisecond {
			r.Cancel()
			return river.JobSnooze(d)
		}
		time.Sleep(d) // short waits in place, as for the slot
	}

	started := time.Now()
	a := webhook.Send(ctx, e.client, o.URL, o.Delivery.ID, started, []byte(o.Delivery.Body), o.Secrets...)
	release()
	final := a.Gone || job.Attempt >= job.MaxAttempts
	res := store.AttemptResult{Attempt: job.Attempt, StartedAt: started, Duration: a.Duration, Status: a.Status,
		Body: a.Body, Err: a.Err, Delivered: a.Delivered, Gone: a.Gone, Final: final}
	if _, err := e.record.do(context.WithoutCancel(ctx), store.Attempted{DeliveryID: o.Delivery.ID, ServiceID: o.Delivery.ServiceID,
		AttemptResult: res}); err != nil {
		return fmt.Errorf("record attempt: %w", err)
	}
	e.latency.Observe(a.Duration.Seconds())
	switch {
	case a.Delivered:
		e.delivered.WithLabelValues("delivered").Inc()
		e.receipt.Observe(time.Since(o.Delivery.CreatedAt).Seconds())
		return nil
	case a.Gone:
		e.delivered.WithLabelValues("gone").Inc()
		return nil
	case final:
		e.delivered.WithLabelValues("failed").Inc()
		return river.JobCancel(fmt.Errorf("delivery %s failed after %d attempts: %s", o.Delivery.ID, job.Attempt, res.Err))
	}
	e.delivered.WithLabelValues("retry").Inc()
	if res.Err == "" {
		return fmt.Errorf("attempt %d: HTTP %d", job.Attempt, a.Status)
	}
	return fmt.Errorf("attempt %d: %s", job.Attempt, res.Err)
}

func (e *Engine) metrics(reg prometheus.Registerer) {
	e.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "renkei_delivery_attempts_total", Help: "Delivery attempts by outcome (delivered, retry, failed, gone, endpoint_disabled).",
	}, []string{"outcome"})
	e.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "renkei_delivery_attempt_seconds", Help: "Time of one attempt, request to closed response.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
	})
	e.receipt = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "renkei_delivery_receipt_seconds", Help: "From queueing a message to the partner's 2xx.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300, 3600},
	})
	if reg == nil {
		return
	}
	reg.MustRegister(e.delivered, e.latency, e.receipt,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "renkei_delivery_queue_depth", Help: "Deliveries queued, not yet delivered or failed."},
			func() float64 { st, _ := e.store.Queue(context.Background()); return float64(st.Queued) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "renkei_delivery_oldest_pending_seconds", Help: "Age of the oldest queued delivery."},
			func() float64 { st, _ := e.store.Queue(context.Background()); return st.OldestQueued.Seconds() }))
}
