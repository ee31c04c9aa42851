package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestCreateRelatedServiceIdempotent: the same Idempotency-Key and body
// register one service; the repeat answers it without the key, which only
// the first answer had; the key with another body is refused.
func TestCreateRelatedServiceIdempotent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		idem := func(key, hash string) (context.Context, *renkei.Idempotency) {
			i := &renkei.Idempotency{Scope: "admin:admin", Key: key, RequestHash: hash}
			return renkei.NewContextWithIdempotency(context.Background(), i), i
		}
		ctx, first := idem("form-1", "h1")
		rs, key, err := s.CreateRelatedService(ctx, kakeiboInput())
		must(t, err)
		if key == "" || first.Replayed {
			t.Fatalf("first call: key %q replayed %v", key, first.Replayed)
		}
		ctx, again := idem("form-1", "h1")
		rs2, key2, err := s.CreateRelatedService(ctx, kakeiboInput())
		must(t, err)
		if rs2.ID != rs.ID || key2 != "" || rs2.WebhookSecret != "" || !again.Replayed {
			t.Fatalf("repeat: service %s (first %s), key %q, secret %q, replayed %v", rs2.ID, rs.ID, key2, rs2.WebhookSecret, again.Replayed)
		}
		ctx, _ = idem("form-1", "h2")
		_, _, err = s.CreateRelatedService(ctx, kakeiboInput())
		wantCode(t, err, renkei.ECONFLICT, "idempotency_key_reused")
		all, _, err := s.ListRelatedServices(context.Background(), renkei.Page{Limit: 10})
		must(t, err)
		if len(all) != 1 {
			t.Fatalf("%d services after one create sent twice, want 1", len(all))
		}
		// The key still authenticates the one service.
		p, err := s.Authenticate(context.Background(), key)
		must(t, err)
		if p.ID != rs.ID {
			t.Fatalf("key authenticates as %s", p.ID)
		}
	})
}

// TestDeleteRelatedService: a deleted service is out of use at once
// (not listed, not proposed, key refused, links revoked, queued messages
// canceled, nothing replayed to it) while its delivered messages and its
// own row stay for the audit trail; deleting twice answers the same.
func TestDeleteRelatedService(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 50_000)
		rs, key, err := s.CreateRelatedService(ctx, kakeiboInput())
		must(t, err)
		other := createService(t, s, kakeiboInput())
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		// Two payments sent automatically: one delivered, one still queued.
		_, err = charge(t, s, f, 1500)
		must(t, err)
		_, err = charge(t, s, f, 2500)
		must(t, err)
		ds := deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})
		if len(ds) != 2 {
			t.Fatalf("%d deliveries before the delete, want 2", len(ds))
		}
		delivered, queued := ds[1], ds[0]
		must(t, s.RecordAttempt(ctx, delivered.ID, store.AttemptResult{Attempt: 1, StartedAt: c.now(), Duration: time.Millisecond, Status: 200, Delivered: true}))

		gone, err := s.DeleteRelatedService(ctx, rs.ID)
		must(t, err)
		if gone.DeletedAt == nil || gone.Enabled {
			t.Fatalf("deleted service %+v", gone)
		}
		// Not listed; the other service is.
		all, _, err := s.ListRelatedServices(ctx, renkei.Page{Limit: 10})
		must(t, err)
		if len(all) != 1 || all[0].ID != other.ID {
			t.Fatalf("listed after delete: %d services", len(all))
		}
		// Its key no longer works.
		_, err = s.Authenticate(ctx, key)
		wantCode(t, err, renkei.EUNAUTHORIZED, "")
		// The user's link is revoked.
		links, err := s.ListLinks(ctx, f.user.ID)
		must(t, err)
		if len(links) != 1 || links[0].Status != renkei.LinkRevoked {
			t.Fatalf("links after delete: %+v", links[0])
		}
		// The queued message is canceled, the delivered one kept as it was.
		for _, want := range []struct {
			id, status string
		}{{queued.ID, renkei.DeliveryCanceled}, {delivered.ID, renkei.DeliveryDelivered}} {
			d, err := s.FindDelivery(ctx, want.id)
			must(t, err)
			if d.Status != want.status {
				t.Fatalf("delivery %s is %s after the delete, want %s", d.ID, d.Status, want.status)
			}
		}
		if n, _ := s.Attempts(ctx, delivered.ID); len(n) != 1 {
			t.Fatalf("%d attempts kept for the delivered message, want 1", len(n))
		}
		// Nothing new is sent to it: a new payment queues nothing.
		_, err = charge(t, s, f, 3000)
		must(t, err)
		if n := len(deliveries(t, s, renkei.DeliveryFilter{ServiceID: rs.ID})); n != 2 {
			t.Fatalf("%d deliveries after a payment following the delete, want still 2", n)
		}
		// Read by id for the audit trail, with deleted_at; no change.
		found, err := s.FindRelatedService(ctx, rs.ID)
		must(t, err)
		if found.DeletedAt == nil || found.Name != "Kakeibo" {
			t.Fatalf("found %+v", found)
		}
		_, err = s.UpdateRelatedService(ctx, rs.ID, kakeiboInput())
		wantCode(t, err, renkei.ECONFLICT, "")
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: false})
		if err == nil {
			t.Fatal("linked a deleted service")
		}
		again, err := s.DeleteRelatedService(ctx, rs.ID)
		must(t, err)
		if !again.DeletedAt.Equal(*gone.DeletedAt) {
			t.Fatalf("second delete moved deleted_at: %v, %v", again.DeletedAt, gone.DeletedAt)
		}
		_, err = s.DeleteRelatedService(ctx, "rsv_nope")
		wantCode(t, err, renkei.ENOTFOUND, "")
	})
}

// TestUserTimeZone: a user's page time zone is stored and read back on
// both engines; names the zone database does not know are refused, and
// "" goes back to the server's default.
func TestUserTimeZone(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 0)
		if f.user.TimeZone != "" {
			t.Fatalf("a new user has zone %q, want the default (empty)", f.user.TimeZone)
		}
		u, err := s.SetUserTimeZone(ctx, f.user.ID, "America/New_York")
		must(t, err)
		again, err := s.FindUser(ctx, f.user.ID)
		must(t, err)
		if u.TimeZone != "America/New_York" || again.TimeZone != "America/New_York" {
			t.Fatalf("zone %q, read back %q", u.TimeZone, again.TimeZone)
		}
		for _, bad := range []string{"Mars/Olympus", "Local", "../../etc/passwd", "Asia/Tokyo "} {
			_, err = s.SetUserTimeZone(ctx, f.user.ID, bad)
			wantCode(t, err, renkei.EINVALID, "")
		}
		_, err = s.SetUserTimeZone(ctx, "usr_nobody", "UTC")
		wantCode(t, err, renkei.ENOTFOUND, "")
		u, err = s.SetUserTimeZone(ctx, f.user.ID, "")
		must(t, err)
		if u.TimeZone != "" {
			t.Fatalf("reset zone %q", u.TimeZone)
		}
	})
}

// TestCategoryLabelsStored: category labels round-trip on both engines,
// and a service without them reads as before.
func TestCategoryLabelsStored(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		in := kakeiboInput()
		in.Input.CategoryLabels = map[string]renkei.Localized{"food": {JA: "食費", EN: "Food"}}
		rs := createService(t, s, in)
		plain := createService(t, s, kakeiboInput())
		got, err := s.FindRelatedService(context.Background(), rs.ID)
		must(t, err)
		if got.Input.Label("food", "ja") != "食費" || got.Input.Label("food", "en") != "Food" || got.Input.Label("daily", "ja") != "daily" {
			t.Fatalf("labels %+v", got.Input.CategoryLabels)
		}
		old, err := s.FindRelatedService(context.Background(), plain.ID)
		must(t, err)
		if old.Input.CategoryLabels != nil || len(old.Input.Categories) != 3 {
			t.Fatalf("a service without labels reads %+v", old.Input)
		}
	})
}
