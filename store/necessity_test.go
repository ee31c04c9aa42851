package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// decision reads the stored decision of the proposal engine for one
// payment and service: its status and reason code, proposed or not.
func decision(t tb, s *store.Store, paymentID, serviceID string) string {
	t.Helper()
	for _, st := range []string{"skipped", renkei.ProposalShown} {
		for _, code := range []string{"auto_link", "already_sent", "over_threshold", "first_time", "link_revoked"} {
			if rawCount(t, s, `SELECT COUNT(*) FROM proposals WHERE payment_id = '`+paymentID+`' AND service_id = '`+serviceID+
				`' AND status = '`+st+`' AND reason_code = '`+code+`'`) == 1 {
				return st + " " + code
			}
		}
	}
	return "none"
}

// TestNotNeeded (claim 10): sending is skipped where it is not needed.
// A service the user's automatic link sends to gets no card (auto_link):
// the link already queued the payment, a tap cannot send it twice. A
// service that already has the payment (delivered by a link since turned
// off) gets no card either (already_sent). Another service, for the same
// payment, is proposed as usual: the check is per service.
func TestNotNeeded(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		auto := createService(t, s, kakeiboInput())
		pts := kakeiboInput()
		pts.Name = "Points"
		other := createService(t, s, pts)
		link, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: auto.ID, Auto: true})
		must(t, err)

		// The automatic link sends; the completion screen offers only the
		// other app, and a tap on the linked one is refused.
		p, err := charge(t, s, f, 12_800)
		must(t, err)
		v, err := s.Completion(ctx, f.user.ID, p.ID, "en")
		must(t, err)
		if len(v.Proposals) != 1 || v.Proposals[0].ServiceID != other.ID {
			t.Fatalf("proposals %+v, want only %s", v.Proposals, other.ID)
		}
		if got := decision(t, s, p.ID, auto.ID); got != "skipped auto_link" {
			t.Fatalf("decision for the linked service: %s", got)
		}
		_, err = s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: auto.ID, Memo: "again"})
		wantCode(t, err, renkei.EINVALID, "")
		ds := deliveries(t, s, renkei.DeliveryFilter{PaymentID: p.ID})
		if len(ds) != 1 || ds[0].ServiceID != auto.ID || ds[0].Source != renkei.SourceLink {
			t.Fatalf("deliveries %+v, want the link's one", ds)
		}

		// Two more payments go by the link: the first one's message
		// arrives, the second's is still queued when the user turns the
		// automatic link off (unlink, link again without auto).
		p2, err := charge(t, s, f, 12_800)
		must(t, err)
		p3, err := charge(t, s, f, 12_800)
		must(t, err)
		d2 := deliveries(t, s, renkei.DeliveryFilter{PaymentID: p2.ID})
		if len(d2) != 1 {
			t.Fatalf("deliveries of the second payment %+v", d2)
		}
		must(t, s.RecordAttempt(ctx, d2[0].ID, store.AttemptResult{Attempt: 1, StartedAt: c.now(), Duration: time.Millisecond,
			Status: 204, Delivered: true}))
		_, err = s.RevokeLink(ctx, f.user.ID, link.ID)
		must(t, err)
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: auto.ID})
		must(t, err)

		// The delivered payment's screen, opened only now: the service
		// already has it, so only the other app is offered.
		v2, err := s.Completion(ctx, f.user.ID, p2.ID, "en")
		must(t, err)
		if len(v2.Proposals) != 1 || v2.Proposals[0].ServiceID != other.ID {
			t.Fatalf("proposals %+v, want only %s", v2.Proposals, other.ID)
		}
		if got := decision(t, s, p2.ID, auto.ID); got != "skipped already_sent" {
			t.Fatalf("decision for the service that has the payment: %s", got)
		}
		_, err = s.Select(ctx, f.user.ID, p2.ID, renkei.SelectInput{ServiceID: auto.ID})
		wantCode(t, err, renkei.EINVALID, "")
		if n := len(deliveries(t, s, renkei.DeliveryFilter{PaymentID: p2.ID})); n != 1 {
			t.Fatalf("%d deliveries of the delivered payment, want 1", n)
		}

		// The unlink canceled the queued one before it went: the service
		// does not have that payment, so it is offered, and a tap sends it.
		v3, err := s.Completion(ctx, f.user.ID, p3.ID, "en")
		must(t, err)
		if len(v3.Proposals) != 2 {
			t.Fatalf("proposals %+v, want both apps", v3.Proposals)
		}
		sel, err := s.Select(ctx, f.user.ID, p3.ID, renkei.SelectInput{ServiceID: auto.ID})
		must(t, err)
		if sel.Outcome != store.OutcomeQueued || sel.DeliveryID == "" {
			t.Fatalf("selection %+v", sel)
		}
	})
}
