package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestPaymentsAndRefundsConcurrently runs payments and refunds between the
// same user and shop at the same time. A payment moves money wallet →
// merchant and a refund merchant → wallet; if each locked its debit first,
// the two would wait for each other and PostgreSQL would end one with a
// deadlock (a 500 for the caller). Every call must succeed and the ledger
// must stay whole.
func TestPaymentsAndRefundsConcurrently(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 1_000_000)
		const rounds, workers = 40, 4
		// Payments to refund, made before the race starts.
		var paid []*renkei.Payment
		for i := 0; i < rounds*workers/2; i++ {
			p, err := charge(t, s, f, 100)
			must(t, err)
			paid = append(paid, p)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		work := make(chan int)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					var err error
					if i%2 == 0 {
						_, err = s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: paid[i/2].ID})
					} else {
						var pc *renkei.PayCode
						if pc, err = s.NewPayCode(ctx, f.user.ID, "JPY"); err == nil {
							_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 100, Currency: "JPY"})
						}
					}
					if err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}()
		}
		for i := 0; i < rounds*workers; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d of %d calls failed, first: %v", len(errs), rounds*workers, errs[0])
		}
		// Every refund gave back what a later payment took: the balance is
		// where the pre-made payments left it.
		if got, want := balance(t, s, f.user.ID), int64(1_000_000-len(paid)*100); got != want {
			t.Fatalf("balance %d, want %d", got, want)
		}
		checkLedger(t, s)
	})
}
