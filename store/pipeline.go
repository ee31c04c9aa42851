package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pipeline is the commit pipeline: every write request (a charge, a pay
// code, a selection, a refund, a top-up, a delivery attempt log…) goes
// through it. Each user action used to cost its own COMMIT, and a COMMIT
// costs an fsync; the pipeline runs the requests that arrived while the
// previous commit was in flight in one transaction, each under its own
// savepoint, and answers them all after that one durable COMMIT.
//
//   - A lone request does not wait for anything: when a lane is free (see
//     below) it runs at once, alone and without a savepoint, as before.
//   - A request that fails (an error, not a recorded decline) is rolled
//     back to its savepoint and answered; the others go on.
//   - Callers are answered only once the COMMIT returned: nothing is
//     acknowledged that is not durable (synchronous=FULL on SQLite,
//     synchronous_commit=on on PostgreSQL).
//   - Ledger balances are not updated request by request: each request's
//     overdraft is decided against the batch's running balance, and at the
//     end the batch's net change per account is applied, its rows locked
//     in order of account id, so two batches (on two nodes) cannot
//     deadlock on them and a hot merchant account is written once per
//     batch.
//   - What nobody reads before the COMMIT (events, idempotency results,
//     ledger rows) goes with it, one multi-row statement per kind (see
//     mergeRows).
//   - If the whole batch fails (a deadlock, a serialization failure, a
//     wallet another node emptied meanwhile), its requests run again, each
//     in its own transaction.
//
// On PostgreSQL a few batches may be in flight at once (lanes), each on its
// own connection, so that one batch's round trips overlap another's wait
// for its COMMIT; requests queue only when every lane is busy. They cannot
// deadlock on balances (those are locked last, in order of account id);
// a rarer deadlock on other rows, or two lanes spending the same wallet,
// fails one batch, whose requests then run again alone. SQLite has one
// writer, so one lane.
//
// Each Store has its own pipeline, so each node of a cluster batches its
// own requests.
type pipeline struct {
	s     *Store
	lanes int // batches in flight at most
	mu    sync.Mutex
	queue []*job
	busy  int // lanes running a batch

	commits  atomic.Int64 // transactions committed
	requests atomic.Int64 // requests answered by them
}

// PipelineStats says how many write transactions the store committed and
// how many requests they carried: requests/commits is the batching.
func (s *Store) PipelineStats() (commits, requests int64) {
	return s.pipe.commits.Load(), s.pipe.requests.Load()
}

// pgLanes is how many batches a node has in flight on PostgreSQL.
const pgLanes = 4

// maxBatch bounds one transaction's requests, so one COMMIT answers a
// bounded number of callers and a batch's locks are held briefly.
const maxBatch = 200

// maxTries is how often a request is tried when it fails for a reason
// that another try may not meet (a deadlock, a serialization failure).
const maxTries = 3

// job is one request in the pipeline.
type job struct {
	ctx context.Context
	// run does the request's work in t. keep says its effect is to be
	// committed (with err as its answer: nil or a recorded decline);
	// otherwise it is rolled back and err is the answer.
	run   func(t *reqTx) (keep bool, err error)
	done  chan struct{}
	err   error
	tries int
}

// do runs one request through the pipeline and returns its answer once
// its effect is durable (or known not to have happened).
func (p *pipeline) do(ctx context.Context, run func(t *reqTx) (bool, error)) error {
	j := &job{ctx: ctx, run: run, done: make(chan struct{})}
	p.mu.Lock()
	p.queue = append(p.queue, j)
	if p.busy >= max(p.lanes, 1) {
		p.mu.Unlock()
		<-j.done
		return j.err
	}
	// A lane is free: run now, with whatever else is queued.
	p.busy++
	p.mu.Unlock()
	p.next()
	<-j.done
	return j.err
}

// next runs one batch of what is queued on a lane the caller holds, and
// hands the lane with the rest of the queue to a goroutine, so the caller
// that ran the batch is answered as soon as it commits.
func (p *pipeline) next() {
	p.mu.Lock()
	n := min(len(p.queue), maxBatch)
	jobs := slices.Clone(p.queue[:n])
	p.queue = p.queue[n:]
	p.mu.Unlock()
	p.runBatch(jobs)
	p.mu.Lock()
	if len(p.queue) == 0 {
		p.busy--
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	go p.next()
}

func (j *job) answer(err error) {
	j.err = err
	close(j.done)
}

// runBatch runs jobs in one transaction and answers every one of them.
func (p *pipeline) runBatch(jobs []*job) {
	live := jobs[:0:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.answer(err) // the caller gave up before its turn
		} else {
			live = append(live, j)
		}
	}
	if len(live) == 0 {
		return
	}
	again := p.attempt(live)
	for _, j := range again {
		p.runBatch([]*job{j})
	}
}

// attempt runs jobs in one transaction. It answers the jobs it can and
// returns those to try again, each alone.
func (p *pipeline) attempt(jobs []*job) (again []*job) {
	solo := len(jobs) == 1
	ctx := context.WithoutCancel(jobs[0].ctx)
	t, err := p.s.eng.begin(ctx)
	if err != nil {
		for _, j := range jobs {
			j.answer(fmt.Errorf("begin: %w", err))
		}
		return nil
	}
	defer t.rollback(ctx) // after a failed COMMIT; a no-op after a good one
	if pt, ok := t.(*pgTx); ok {
		pt.detach = true
	}
	lb := &ledgerBatch{before: map[string]int64{}, net: map[string]int64{}}
	var kept []*job
	// lost ends the transaction before its COMMIT: nothing of it was
	// committed, so every request kept so far, and those not run yet, can
	// safely run again.
	lost := func(rest []*job, err error) []*job {
		_ = t.rollback(ctx)
		p.s.Log.Warn("pipeline: a batch failed before its commit; its requests run again alone",
			"requests", len(jobs), "error", err)
		return append(again, p.retry(append(kept, rest...), err, true)...)
	}
	// Every request's savepoint has the same name: a request's rollback
	// goes to the newest, its own, and the statements are the same text
	// for every request (prepared once).
	const name = "rq"
	for i, j := range jobs {
		j.tries++
		if !solo {
			if err := t.savepoint(ctx, name); err != nil {
				return lost(jobs[i:], err)
			}
		}
		rt := &reqTx{tx: t, lb: lb, stage: ledgerStage{net: map[string]int64{}}}
		keep, err := j.safeRun(rt)
		if keep && t.aborted() {
			// The request swallowed a failed statement: it cannot commit.
			keep, err = false, fmt.Errorf("store: a statement failed inside the request (%v)", err)
		}
		if keep {
			if !solo {
				if rerr := t.release(ctx, name); rerr != nil {
					return lost(jobs[i:], rerr)
				}
			}
			rt.merge()
			j.err = err
			kept = append(kept, j)
			continue
		}
		if solo {
			_ = t.rollback(ctx)
			return p.retry([]*job{j}, err, false)
		}
		if rerr := t.rollbackTo(ctx, name); rerr != nil {
			return lost(jobs[i:], rerr)
		}
		if errors.Is(err, errClaimed) {
			// Its idempotency key is held, maybe by a request of this
			// batch: it is answered (and replays) once the batch has
			// committed, its own work rolled back.
			j.err = err
			kept = append(kept, j)
			continue
		}
		again = append(again, p.retry([]*job{j}, err, false)...)
	}
	lb.flush(t)
	if h := p.s.beforeCommit; h != nil {
		h()
	}
	if err := t.commit(ctx); err != nil {
		if definite(err) {
			if !solo {
				p.s.Log.Warn("pipeline: a batch's commit failed; its requests run again alone",
					"requests", len(jobs), "error", err)
			}
			return append(again, p.retry(kept, fmt.Errorf("commit: %w", err), !solo)...)
		}
		// The COMMIT may or may not have happened: say so, as a single
		// transaction always had to.
		for _, j := range kept {
			j.answer(fmt.Errorf("commit: %w", err))
		}
		return again
	}
	p.commits.Add(1)
	p.requests.Add(int64(len(kept)))
	for _, j := range kept {
		close(j.done)
	}
	return again
}

// safeRun runs the job's request, turning a panic into its error: the
// batch and the other callers in it must not go down with one request.
func (j *job) safeRun(t *reqTx) (keep bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			keep, err = false, fmt.Errorf("store: request panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return j.run(t)
}

// retry answers the jobs with err, or returns those to run again, alone:
// always after a failure of a transaction they shared with others (the
// failure may have been another request's), and while err is transient.
func (p *pipeline) retry(jobs []*job, err error, sharedTx bool) (again []*job) {
	for _, j := range jobs {
		if j.tries < maxTries && (sharedTx || transient(err)) {
			again = append(again, j)
		} else {
			j.answer(err)
		}
	}
	return again
}

// transient says whether another try of the same request may succeed:
// PostgreSQL's deadlock and serialization failures, and a wallet that the
// batch thought had the money but that another node emptied meanwhile
// (the accounts CHECK).
func transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01":
			return true
		}
	}
	return isCheckViolation(err) // on either engine
}

// definite says whether a failed COMMIT certainly did not commit: the
// server answered (PostgreSQL), or SQLite, which runs in this process,
// said so.
func definite(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) || errors.Is(err, pgx.ErrTxCommitRollback) || isSQLiteErr(err)
}

// reqTx is one request's view of the pipeline's transaction: its later
// statements and ledger writes are its own until it is kept.
type reqTx struct {
	tx
	lb     *ledgerBatch
	stage  ledgerStage
	queued []stmt
	// pre and preCheck are what ahead queued.
	pre      []stmt
	preCheck []func() error
}

func (r *reqTx) later(stmts ...stmt) { r.queued = append(r.queued, stmts...) }

// ahead queues statements to travel with the request's next statement (on
// PostgreSQL in its round trip); check then reads their outcome, and an
// error from it is that next call's error, its own statements unrun when
// they were not in the same batch. write claims an idempotency key this
// way, so the claim costs no round trip of its own.
func (r *reqTx) ahead(check func() error, stmts ...stmt) {
	r.pre = append(r.pre, stmts...)
	r.preCheck = append(r.preCheck, check)
}

// sendAhead runs what ahead queued, if anything, with stmts.
func (r *reqTx) sendAhead(ctx context.Context, stmts ...stmt) error {
	if len(r.pre) == 0 {
		if len(stmts) == 0 {
			return nil
		}
		return r.tx.batch(ctx, stmts...)
	}
	pre, checks := r.pre, r.preCheck
	r.pre, r.preCheck = nil, nil
	err := r.tx.batch(ctx, append(pre, stmts...)...)
	for _, c := range checks {
		if cerr := c(); cerr != nil {
			return cerr
		}
	}
	return err
}

func (r *reqTx) batch(ctx context.Context, stmts ...stmt) error { return r.sendAhead(ctx, stmts...) }

func (r *reqTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if err := r.sendAhead(ctx); err != nil {
		return 0, err
	}
	return r.tx.exec(ctx, q, args...)
}

func (r *reqTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	if err := r.sendAhead(ctx); err != nil {
		return nil, err
	}
	return r.tx.query(ctx, q, args...)
}

func (r *reqTx) queryRow(ctx context.Context, q string, args ...any) row {
	if err := r.sendAhead(ctx); err != nil {
		return errRow{err}
	}
	return r.tx.queryRow(ctx, q, args...)
}

// commit and rollback belong to the pipeline, not to a request.
func (r *reqTx) commit(context.Context) error {
	return errors.New("store: a request in the commit pipeline cannot commit")
}
func (r *reqTx) rollback(context.Context) error {
	return errors.New("store: a request in the commit pipeline cannot roll back")
}

// merge makes the request's later statements and ledger writes the batch's.
func (r *reqTx) merge() {
	r.tx.later(r.queued...)
	for id, d := range r.stage.net {
		r.lb.net[id] += d
	}
	r.lb.posts = append(r.lb.posts, r.stage.posts...)
}

// ledgerBatch is a batch's ledger writes, applied at its end.
type ledgerBatch struct {
	// before is the balance of each wallet the batch touched, as read
	// before the batch changed it.
	before map[string]int64
	// net is each account's change by the requests kept so far.
	net   map[string]int64
	posts []posting
}

// ledgerStage is one request's ledger writes, until it is kept (its
// ledger transaction rows go with its later statements).
type ledgerStage struct {
	net   map[string]int64
	posts []posting
}

type posting struct {
	id, txnID, accountID, currency string
	amount, at                     int64
}

// balance is a wallet's balance as the request sees it: what it was before
// the batch, plus what the batch's kept requests and this one moved.
func (r *reqTx) balance(ctx context.Context, id string) (int64, error) {
	b, ok := r.lb.before[id]
	if !ok {
		if err := r.queryRow(ctx, `SELECT balance FROM accounts WHERE id = ?`, id).Scan(&b); err != nil {
			return 0, fmt.Errorf("read balance of %s: %w", id, err)
		}
		r.lb.before[id] = b
	}
	return b + r.lb.net[id] + r.stage.net[id], nil
}

// noteBalance records a wallet's balance read in the batch before any of
// it moved, sparing balance a read.
func (r *reqTx) noteBalance(id string, bal int64) {
	if _, ok := r.lb.before[id]; !ok {
		r.lb.before[id] = bal
	}
}

// The batch's ledger rows, merged at commit into one statement per kind
// (see mergeRows).
var (
	insertTxn = rowsStmt(`INSERT INTO txns (id, kind, ref_id, counterparty, created_at) VALUES`, `(?, ?, ?, ?, ?)`, ``)
	// addBalance adds column2 to the balance of account column1.
	addBalance = rowsStmt(`UPDATE accounts SET balance = accounts.balance + v.column2 FROM (VALUES`,
		`(?, CAST(? AS BIGINT))`, `) AS v WHERE accounts.id = v.column1`)
	// insertPosting works a posting's balance_after back from the balance
	// the batch's UPDATE left: that balance less column6, what the
	// account's later postings in the batch moved.
	insertPosting = rowsStmt(`INSERT INTO postings (id, txn_id, account_id, amount, currency, balance_after, created_at)
		SELECT v.column1, v.column2, v.column3, v.column4, v.column5, a.balance - v.column6, v.column7 FROM (VALUES`,
		`(?, ?, ?, CAST(? AS BIGINT), ?, CAST(? AS BIGINT), CAST(? AS BIGINT))`, `) AS v JOIN accounts a ON a.id = v.column3`)
)

// flush queues the batch's balance changes and postings to run with the
// COMMIT, after the ledger transactions its requests queued: each
// account's net change, then the postings, whose balance_after is worked
// back from the balance the change left. Merged, that is two statements
// for the whole batch. On PostgreSQL the accounts are first locked in
// order of id, so two batches (on two nodes or lanes) cannot deadlock on
// them. A wallet the change would take below zero (it can only happen if
// another node spent from it meanwhile) fails the accounts CHECK, so the
// COMMIT fails and the requests run again.
func (lb *ledgerBatch) flush(t tx) {
	if len(lb.posts) == 0 {
		return
	}
	byAccount := map[string][]posting{}
	for _, ps := range lb.posts {
		byAccount[ps.accountID] = append(byAccount[ps.accountID], ps)
	}
	ids := make([]string, 0, len(byAccount))
	for id := range byAccount {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, cmp.Compare)
	if isPG(t) && len(ids) > 1 {
		t.later(stmt{q: `SELECT id FROM accounts WHERE id = ANY(?) ORDER BY id FOR NO KEY UPDATE`, args: []any{ids}})
	}
	for _, id := range ids {
		t.later(stmt{q: addBalance, args: []any{id, lb.net[id]}})
	}
	for _, id := range ids {
		net := lb.net[id]
		var cum int64
		for _, ps := range byAccount[id] {
			cum += ps.amount
			t.later(stmt{q: insertPosting, args: []any{ps.id, ps.txnID, ps.accountID, ps.amount, ps.currency, net - cum, ps.at}})
		}
	}
}

// isPG says whether t is a PostgreSQL transaction (or a request in one).
func isPG(t tx) bool {
	if r, ok := t.(*reqTx); ok {
		t = r.tx
	}
	_, pg := t.(*pgTx)
	return pg
}

// ledgerOf returns the batch ledger t writes to, if t is a pipeline
// request.
func ledgerOf(t tx) *reqTx {
	r, _ := t.(*reqTx)
	return r
}
