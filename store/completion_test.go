package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestConcurrentCompletions: two views of one completion screen that both
// decide at the same moment record one set of proposals and both answer
// with it; and while they decide, neither holds SQLite's writer nor any
// connection (the decision's reads are plain reads, not a write
// transaction).
func TestConcurrentCompletions(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		kakeibo := createService(t, s, kakeiboInput())
		pin := kakeiboInput()
		pin.Name, pin.Policy.BaseThreshold = "Points", map[string]int64{"JPY": 500}
		points := createService(t, s, pin)
		busy := func() {
			if conns, writer := store.Busy(s); conns != 0 || writer {
				t.Errorf("while deciding, the store holds %d connections (writer held: %v)", conns, writer)
			}
		}

		// One view first, alone: if deciding held the writer, the two
		// views below would wait on each other for ever.
		first, err := charge(t, s, f, 12_800)
		must(t, err)
		store.SetAfterDecide(s, func(string) { busy() })
		_, err = s.Completion(ctx, f.user.ID, first.ID, "en")
		must(t, err)
		if t.Failed() {
			t.FailNow()
		}

		// Both views wait for each other once decided, look at what the
		// store holds, and wait again before recording.
		p, err := charge(t, s, f, 12_800)
		must(t, err)
		var decided, looked sync.WaitGroup
		decided.Add(2)
		looked.Add(2)
		store.SetAfterDecide(s, func(string) {
			decided.Done()
			decided.Wait()
			busy()
			looked.Done()
			looked.Wait()
		})
		views := make([]*renkei.CompletionView, 2)
		errs := make([]error, 2)
		var done sync.WaitGroup
		for i := range views {
			done.Add(1)
			go func() {
				defer done.Done()
				views[i], errs[i] = s.Completion(ctx, f.user.ID, p.ID, "en")
			}()
		}
		done.Wait()
		store.SetAfterDecide(s, nil)
		must(t, errs[0])
		must(t, errs[1])
		later, err := s.Completion(ctx, f.user.ID, p.ID, "en")
		must(t, err)
		for _, v := range append(views, later) {
			if len(v.Proposals) != 2 || v.Proposals[0].ServiceID != points.ID || v.Proposals[1].ServiceID != kakeibo.ID {
				t.Fatalf("proposals %+v, want Points then Kakeibo", v.Proposals)
			}
			for i, pr := range v.Proposals {
				if pr.ID != views[0].Proposals[i].ID {
					t.Fatalf("two decisions were recorded: proposal %s and %s for %s", pr.ID, views[0].Proposals[i].ID, pr.ServiceID)
				}
			}
		}
		// The one recorded decision is the one a tap acts on.
		_, err = s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: kakeibo.ID})
		must(t, err)
	})
}
