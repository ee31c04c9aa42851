package store_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestEndpointHealth drives the endpoint-health rules with the store's
// fake clock: failures start a failing run, a success ends it, and an
// endpoint that fails without a break for DisableAfter is disabled with a
// reason the admin and the partner can read; re-enabling clears it.
func TestEndpointHealth(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		s.DisableAfter = 72 * time.Hour
		f := newFixture(t, s, 100_000)
		rs := createService(t, s, kakeiboInput())
		_, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		send := func(delivered bool) {
			t.Helper()
			_, err := charge(t, s, f, 1000)
			must(t, err)
			ds := deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID, Status: renkei.DeliveryQueued})
			a := store.AttemptResult{Attempt: 1, StartedAt: c.now(), Duration: time.Millisecond, Status: 503, Err: "HTTP 503"}
			if delivered {
				a = store.AttemptResult{Attempt: 1, StartedAt: c.now(), Duration: time.Millisecond, Status: 204, Delivered: true}
			}
			must(t, s.RecordAttempt(ctx, ds[0].ID, a))
		}
		health := func() *renkei.RelatedService {
			t.Helper()
			got, err := s.FindRelatedService(ctx, rs.ID)
			must(t, err)
			return got
		}

		send(false)
		if h := health(); h.FailingSince == nil || !h.Enabled {
			t.Fatalf("after a failure: %+v", h)
		}
		c.advance(24 * time.Hour)
		send(true)
		if h := health(); h.FailingSince != nil {
			t.Fatalf("a success did not end the failing run: %+v", h.FailingSince)
		}
		send(false)
		c.advance(71 * time.Hour)
		send(false)
		if !health().Enabled {
			t.Fatal("disabled before DisableAfter")
		}
		c.advance(time.Hour)
		send(false)
		h := health()
		if h.Enabled || !strings.Contains(h.DisabledReason, "Every attempt failed for 72h0m0s") {
			t.Fatalf("after 72 h of failures: enabled=%v reason=%q", h.Enabled, h.DisabledReason)
		}
		in := kakeiboInput()
		up, err := s.UpdateRelatedService(ctx, rs.ID, in)
		must(t, err)
		if up, err = s.FindRelatedService(ctx, up.ID); err != nil || !up.Enabled || up.DisabledReason != "" || up.FailingSince != nil {
			t.Fatalf("re-enabled %+v %v", up, err)
		}
	})
}

// TestRecordAttemptsBatch writes several attempts in one call, as the
// delivery engine does under load: each delivery moves on its own (one
// delivered, one queued for a retry, one failed, and one an unlink canceled
// while it was in flight, which the partner acknowledged and so counts as
// delivered), every attempt is logged, and the endpoint's health
// follows the attempts in order (a failure after a success leaves it
// failing).
func TestRecordAttemptsBatch(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		rs := createService(t, s, kakeiboInput())
		link, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		// The first is canceled by an unlink; the user links again and the
		// next three are queued.
		_, err = charge(t, s, f, 1000)
		must(t, err)
		_, err = s.RevokeLink(ctx, f.user.ID, link.ID)
		must(t, err)
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		for range 3 {
			_, err := charge(t, s, f, 1000)
			must(t, err)
		}
		ds := deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})
		ds = slices.DeleteFunc(ds, func(d *renkei.Delivery) bool { return d.Type == renkei.EventLinkRevoked })
		slices.Reverse(ds)
		if len(ds) != 4 || ds[0].Status != renkei.DeliveryCanceled {
			t.Fatalf("%d deliveries, want 4 with the first canceled", len(ds))
		}
		at := c.now()
		ok := store.AttemptResult{Attempt: 1, StartedAt: at, Duration: time.Millisecond, Status: 204, Delivered: true}
		must(t, s.RecordAttempts(ctx, []store.Attempted{
			{DeliveryID: ds[0].ID, ServiceID: rs.ID, AttemptResult: ok},
			{DeliveryID: ds[1].ID, AttemptResult: store.AttemptResult{Attempt: 1, StartedAt: at, Status: 503, Err: "HTTP 503"}},
			{DeliveryID: ds[2].ID, ServiceID: rs.ID, AttemptResult: store.AttemptResult{Attempt: 8, StartedAt: at, Err: "connection refused", Final: true}},
			{DeliveryID: ds[3].ID, ServiceID: rs.ID, AttemptResult: ok},
		}))
		// Delivered wins over the unlink that raced with the send.
		want := []string{renkei.DeliveryDelivered, renkei.DeliveryQueued, renkei.DeliveryFailed, renkei.DeliveryDelivered}
		for i, d := range ds {
			got, err := s.FindDelivery(ctx, d.ID)
			must(t, err)
			if got.Status != want[i] || got.Attempts != 1 {
				t.Errorf("delivery %d: status %s attempts %d, want %s after 1", i, got.Status, got.Attempts, want[i])
			}
			as, err := s.Attempts(ctx, d.ID)
			must(t, err)
			if len(as) != 1 {
				t.Errorf("delivery %d: %d attempts logged, want 1", i, len(as))
			}
		}
		if got, _ := s.FindDelivery(ctx, ds[2].ID); got.LastError != "connection refused" {
			t.Errorf("failed delivery's last error %q", got.LastError)
		}
		if got, _ := s.FindDelivery(ctx, ds[1].ID); got.LastError != "HTTP 503" {
			t.Errorf("retried delivery's last error %q", got.LastError)
		}
		if got, _ := s.FindDelivery(ctx, ds[3].ID); got.DeliveredAt == nil || got.LastError != "" {
			t.Errorf("delivered delivery: at %v error %q", got.DeliveredAt, got.LastError)
		}
		h, err := s.FindRelatedService(ctx, rs.ID)
		must(t, err)
		if h.FailingSince != nil {
			t.Errorf("the batch ended with a success, but the endpoint is failing since %v", h.FailingSince)
		}
		must(t, s.RecordAttempts(ctx, []store.Attempted{
			{DeliveryID: ds[3].ID, ServiceID: rs.ID, AttemptResult: ok},
			{DeliveryID: ds[1].ID, ServiceID: rs.ID, AttemptResult: store.AttemptResult{Attempt: 2, StartedAt: at, Status: 500}},
		}))
		if h, _ := s.FindRelatedService(ctx, rs.ID); h.FailingSince == nil {
			t.Error("the batch ended with a failure, but the endpoint is not failing")
		}
		if got, _ := s.FindDelivery(ctx, ds[1].ID); got.LastError != "HTTP 500" || got.Attempts != 2 {
			t.Errorf("second attempt: error %q attempts %d", got.LastError, got.Attempts)
		}
	})
}

// countingOutbox is the delivery engine's seam as a list: it records every
// delivery the store hands over, in the transaction that queued it.
type countingOutbox struct {
	mu  sync.Mutex
	ids map[string]int
}

func (o *countingOutbox) EnqueueTx(_ context.Context, _ any, id string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ids[id]++
	return nil
}

// TestReplayCountsWhatItQueued: several replays of the same failed
// deliveries run at once (two operators, or the CLI and the admin page);
// each delivery is queued again exactly once, and the counts the replays
// report add up to the deliveries queued, not to the ids each one saw.
func TestReplayCountsWhatItQueued(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 1_000_000)
		rs := createService(t, s, kakeiboInput())
		_, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		const n = 30
		for range n {
			_, err := charge(t, s, f, 1000)
			must(t, err)
		}
		var fails []store.Attempted
		for _, d := range deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID, Page: renkei.Page{Limit: 100}}) {
			fails = append(fails, store.Attempted{DeliveryID: d.ID, ServiceID: rs.ID,
				AttemptResult: store.AttemptResult{Attempt: 8, StartedAt: c.now(), Err: "connection refused", Final: true}})
		}
		must(t, s.RecordAttempts(ctx, fails))
		if got := len(deliveries(t, s, renkei.DeliveryFilter{Status: renkei.DeliveryFailed, Page: renkei.Page{Limit: 100}})); got != n {
			t.Fatalf("%d failed deliveries, want %d", got, n)
		}

		out := &countingOutbox{ids: map[string]int{}}
		s.Outbox = out
		const replays = 6
		var (
			wg    sync.WaitGroup
			total atomic.Int64
		)
		for range replays {
			wg.Go(func() {
				got, err := s.Replay(ctx, store.ReplayFilter{ServiceID: rs.ID}, nil)
				if err != nil {
					t.Error(err)
				}
				total.Add(int64(got))
			})
		}
		wg.Wait()
		if len(out.ids) != n {
			t.Fatalf("%d deliveries queued again, want %d", len(out.ids), n)
		}
		for id, k := range out.ids {
			if k != 1 {
				t.Errorf("delivery %s queued %d times", id, k)
			}
		}
		if total.Load() != n {
			t.Fatalf("the replays reported %d in all, but %d were queued", total.Load(), n)
		}
		if got := len(deliveries(t, s, renkei.DeliveryFilter{Status: renkei.DeliveryQueued, Page: renkei.Page{Limit: 100}})); got != n {
			t.Fatalf("%d deliveries queued, want %d", got, n)
		}
	})
}
