package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/store/storetest"
	"pgregory.net/rapid"
)

// pipeOp is one request of a pipeline property run.
type pipeOp struct {
	kind   int // 0 charge, 1 top-up, 2 refund
	user   int
	amount int64
	code   int // charge: which pay code (codes are shared by ops on purpose)
	paid   int // refund: which of the payments made before the batch
	key    int // -1: no idempotency key; keys are shared by ops on purpose
}

func (o pipeOp) hash() string { return fmt.Sprintf("%+v", o) }

// pipeWorld is one store's side of a run: its users, shop, codes and the
// payments made before the requests under test.
type pipeWorld struct {
	s     *store.Store
	users []*renkei.User
	term  *renkei.Terminal
	shop  string
	codes []string
	paid  []*renkei.Payment
}

// TestPipelineBatchEqualsSerial runs random mixes of requests that succeed,
// are declined (a recorded decline, or a used code that leaves nothing) or
// fail (an over-refund), some under shared idempotency keys, as one batch
// of the commit pipeline on one store, and one by one in the same order on
// another. Every answer and the end state (balances, the shop's payments,
// the ledger's invariants) must be the same: a savepoint undoes exactly its
// request, and the running balances decide each overdraft as a serial run
// would.
func TestPipelineBatchEqualsSerial(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			batched, _ := openStore(t, e)
			var logs storetest.SyncBuffer
			batched.Log = slog.New(slog.NewTextHandler(&logs, nil))
			serial, _ := openStore(t, e)
			run := 0
			rapid.Check(t, func(rt *rapid.T) {
				run++
				ctx := context.Background()
				nusers := rapid.IntRange(1, 3).Draw(rt, "users")
				start := make([]int64, nusers)
				for u := range start {
					start[u] = rapid.Int64Range(300, 2000).Draw(rt, "balance")
				}
				ncodes := rapid.IntRange(1, 6).Draw(rt, "codes")
				codeUser := make([]int, ncodes)
				for c := range codeUser {
					codeUser[c] = rapid.IntRange(0, nusers-1).Draw(rt, "code user")
				}
				ops := make([]pipeOp, rapid.IntRange(2, 14).Draw(rt, "ops"))
				for i := range ops {
					o := pipeOp{kind: rapid.IntRange(0, 2).Draw(rt, "kind"), key: rapid.IntRange(-1, 2).Draw(rt, "key")}
					switch o.kind {
					case 0:
						o.code = rapid.IntRange(0, ncodes-1).Draw(rt, "code")
						o.user = codeUser[o.code]
						o.amount = rapid.Int64Range(1, 1500).Draw(rt, "amount")
					case 1:
						o.user = rapid.IntRange(0, nusers-1).Draw(rt, "user")
						o.amount = rapid.Int64Range(1, 800).Draw(rt, "amount")
					case 2:
						o.paid = rapid.IntRange(0, nusers-1).Draw(rt, "paid")
						o.amount = rapid.Int64Range(1, 400).Draw(rt, "amount")
					}
					ops[i] = o
				}
				worlds := [2]*pipeWorld{}
				for w, s := range []*store.Store{batched, serial} {
					worlds[w] = newPipeWorld(rt, s, run, start, codeUser)
				}

				// The batch: each request is queued before the next starts,
				// so the batch runs them in the order drawn.
				b := worlds[0]
				commits0, _ := batched.PipelineStats()
				queued, release := store.HoldPipeline(batched)
				got := make([]string, len(ops))
				var wg sync.WaitGroup
				for i, o := range ops {
					wg.Add(1)
					go func() {
						defer wg.Done()
						got[i] = b.do(ctx, run, o)
					}()
					for queued() < i+1 {
						runtime.Gosched()
					}
				}
				release()
				wg.Wait()
				store.WaitPipelineIdle(batched)
				// The batch ran as one transaction (a retry alone would make
				// more commits; none is expected on one node).
				if commits, _ := batched.PipelineStats(); commits-commits0 != 1 {
					rt.Fatalf("the batch made %d commits, want 1; answers %q; log:\n%s", commits-commits0, got, logs.String())
				}

				want := make([]string, len(ops))
				for i, o := range ops {
					want[i] = worlds[1].do(ctx, run, o)
				}
				if !slices.Equal(got, want) {
					for i := range ops {
						rt.Logf("%d %+v: batch %s, serial %s", i, ops[i], got[i], want[i])
					}
					rt.Fatalf("the batch answered differently from the requests one by one")
				}
				if gs, ws := worlds[0].state(rt), worlds[1].state(rt); gs != ws {
					rt.Fatalf("end state differs:\nbatch  %s\nserial %s", gs, ws)
				}
				checkLedger(rt, batched)
				checkLedger(rt, serial)
			})
		})
	}
}

func newPipeWorld(t *rapid.T, s *store.Store, run int, start []int64, codeUser []int) *pipeWorld {
	ctx := context.Background()
	w := &pipeWorld{s: s}
	m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: fmt.Sprintf("Batch Shop %d", run), MCC: "5814"})
	must(t, err)
	term, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "R"})
	must(t, err)
	w.term, w.shop = term, m.ID
	for u, bal := range start {
		usr, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: fmt.Sprintf("b%d-%d", run, u)})
		must(t, err)
		_, err = s.TopUp(ctx, renkei.TopUp{UserID: usr.ID, Amount: bal + 300, Currency: "JPY"})
		must(t, err)
		w.users = append(w.users, usr)
		// A payment of 300 to refund in the batch.
		pc, err := s.NewPayCode(ctx, usr.ID, "JPY")
		must(t, err)
		p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: 300, Currency: "JPY"})
		must(t, err)
		w.paid = append(w.paid, p)
	}
	for _, u := range codeUser {
		pc, err := s.NewPayCode(ctx, w.users[u].ID, "JPY")
		must(t, err)
		w.codes = append(w.codes, pc.Code)
	}
	return w
}

// do runs one request and describes its answer without ids.
func (w *pipeWorld) do(ctx context.Context, run int, o pipeOp) string {
	var idem *renkei.Idempotency
	if o.key >= 0 {
		idem = &renkei.Idempotency{Scope: fmt.Sprintf("op%d", o.kind), Key: fmt.Sprintf("r%d-k%d", run, o.key), RequestHash: o.hash()}
		ctx = renkei.NewContextWithIdempotency(ctx, idem)
	}
	var (
		out string
		err error
	)
	switch o.kind {
	case 0:
		var p *renkei.Payment
		p, err = w.s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: w.term.ID, Code: w.codes[o.code], Amount: o.amount, Currency: "JPY"})
		if err == nil {
			out = fmt.Sprintf("paid %s %d", p.Status, p.Amount)
		}
	case 1:
		var wl *renkei.Wallet
		wl, err = w.s.TopUp(ctx, renkei.TopUp{UserID: w.users[o.user].ID, Amount: o.amount, Currency: "JPY"})
		if err == nil {
			out = fmt.Sprintf("topped up to %d", wl.Balance.Amount)
		}
	case 2:
		var rf *renkei.Refund
		rf, err = w.s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: w.paid[o.paid].ID, Amount: o.amount})
		if err == nil {
			out = fmt.Sprintf("refunded %d", rf.Amount)
		}
	}
	var re *renkei.Error
	switch {
	case err == nil:
	case errors.As(err, &re):
		out = fmt.Sprintf("%s/%s", re.Code, re.Reason)
	default:
		out = "error: " + err.Error()
	}
	if idem != nil && idem.Replayed {
		out += " (replayed)"
	}
	return out
}

// state describes the balances and the shop's payments, without ids.
func (w *pipeWorld) state(t *rapid.T) string {
	var out string
	for _, u := range w.users {
		out += fmt.Sprintf("wallet %d; ", balance(t, w.s, u.ID))
	}
	ps, _, err := w.s.ListPayments(context.Background(), renkei.PaymentFilter{MerchantID: w.shop, Page: renkei.Page{Limit: 100}})
	must(t, err)
	for _, p := range ps {
		out += fmt.Sprintf("%s %d refunded %d %s; ", p.Status, p.Amount, p.AmountRefunded, p.FailureCode)
	}
	return out
}

// TestPipelineTwoNodesRetry has two nodes (two stores on one PostgreSQL
// database) spend from the same wallet in batches that each read the
// balance before the other committed. The second COMMIT would take the
// wallet below zero; the accounts CHECK refuses it, and that node runs its
// batch's requests again, one by one: the payment that no longer fits is
// declined, the other request is paid, and no caller sees an error.
func TestPipelineTwoNodesRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	var nodes [2]*store.Store
	for i := range nodes {
		s, err := store.Open(ctx, dsn)
		must(t, err)
		t.Cleanup(func() { s.Close() })
		c := &clock{}
		c.ns.Store(testEpoch.UnixNano())
		configure(s, c)
		nodes[i] = s
	}
	a, b := nodes[0], nodes[1]
	shared := newFixture(t, a, 1100)
	other := newFixture(t, a, 1100)
	// A first payment at each shop opens its account, so that the nodes'
	// batches below do not wait on each other to create it.
	for _, f := range []fixture{shared, other} {
		_, err := charge(t, a, f, 100)
		must(t, err)
	}
	codes := func(s *store.Store, userID string, n int) []string {
		var out []string
		for range n {
			pc, err := s.NewPayCode(ctx, userID, "JPY")
			must(t, err)
			out = append(out, pc.Code)
		}
		return out
	}
	ca, cb := codes(a, shared.user.ID, 1), codes(b, shared.user.ID, 1)
	co := codes(b, other.user.ID, 1)

	// Both batches reach their COMMIT before either sends it.
	var reached sync.WaitGroup
	reached.Add(2)
	for _, s := range nodes {
		var once sync.Once
		store.SetBeforeCommit(s, func() {
			once.Do(func() {
				reached.Done()
				reached.Wait()
			})
		})
	}
	commitsB, _ := b.PipelineStats()
	type answer struct {
		p   *renkei.Payment
		err error
	}
	answers := make([]answer, 3)
	pay := func(i int, s *store.Store, term *renkei.Terminal, code string) {
		p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: term.ID, Code: code, Amount: 600, Currency: "JPY"})
		answers[i] = answer{p, err}
	}
	queuedB, releaseB := store.HoldPipeline(b)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); pay(1, b, shared.terminal, cb[0]) }()
	for queuedB() < 1 {
		runtime.Gosched()
	}
	go func() { defer wg.Done(); pay(2, b, other.terminal, co[0]) }()
	for queuedB() < 2 {
		runtime.Gosched()
	}
	releaseB()
	go func() { defer wg.Done(); pay(0, a, shared.terminal, ca[0]) }()
	wg.Wait()
	store.WaitPipelineIdle(b)

	for i, an := range answers {
		if an.err != nil && !declinedFor(an.err, renkei.ReasonInsufficientBalance) {
			t.Fatalf("payment %d: %v", i, an.err)
		}
	}
	paid := 0
	for _, an := range answers[:2] {
		if an.err == nil {
			paid++
		}
	}
	if paid != 1 || answers[2].err != nil {
		t.Fatalf("want one of the two 600 payments from the 1000 wallet and the other user's paid: %+v", answers)
	}
	if got := balance(t, a, shared.user.ID); got != 400 {
		t.Fatalf("shared wallet %d, want 400", got)
	}
	if got := balance(t, a, other.user.ID); got != 400 {
		t.Fatalf("other wallet %d, want 400", got)
	}
	// Node b's batch failed at COMMIT and its two requests committed
	// again one by one (the 600 as a recorded decline, when node a won).
	if commits, _ := b.PipelineStats(); answers[1].err != nil && commits-commitsB != 2 {
		t.Fatalf("node b made %d commits, want 2 (its batch's requests again, alone)", commits-commitsB)
	}
	commits, _ := b.PipelineStats()
	t.Logf("node b: %d commits; answers: %v, %v, %v", commits-commitsB, answers[0].err, answers[1].err, answers[2].err)
	checkLedger(t, a)
}

// declinedFor says whether err is a decline for reason.
func declinedFor(err error, reason string) bool {
	var e *renkei.Error
	return errors.As(err, &e) && e.Code == renkei.EDECLINED && e.Reason == reason
}
