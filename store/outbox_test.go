package store_test

import (
	"context"
	"strings"
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
		_, err := s.CreateLink(ctx, f.user.ID, rs.ID, true)
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
