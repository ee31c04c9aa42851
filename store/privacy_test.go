package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestProvisionsAndConsents: the provision record is the outbox read back
// (fields as sent, source, status, the consent that covers each message),
// a payer sees only their own, a service's record is cut by period, and
// the consents list holds every link change and tap with whether it still
// holds.
func TestProvisionsAndConsents(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		other := newFixture(t, s, 100_000)
		in := kakeiboInput()
		in.Policy.WantsStatement = true
		in.Policy.BaseThreshold = map[string]int64{"JPY": 0}
		rs := createService(t, s, in)

		p1, err := charge(t, s, f, 1500)
		must(t, err)
		_, err = s.Completion(ctx, f.user.ID, p1.ID, "en")
		must(t, err)
		sel, err := s.Select(ctx, f.user.ID, p1.ID, renkei.SelectInput{ServiceID: rs.ID, Memo: "lunch"})
		must(t, err)
		c.advance(time.Second)
		mid := c.now()
		link, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: rs.ID, Auto: true})
		must(t, err)
		p2, err := charge(t, s, f, 1600)
		must(t, err)
		_, err = charge(t, s, other, 1700) // not linked, not tapped: nothing
		must(t, err)
		_, err = s.RunStatements(ctx)
		must(t, err)

		ps, more, err := s.ListProvisions(ctx, renkei.ProvisionFilter{UserID: f.user.ID})
		must(t, err)
		if more || len(ps) != 3 {
			t.Fatalf("%d provisions (more %v), want the tap, the link's payment and the tap's statement line", len(ps), more)
		}
		byKey := map[string]*renkei.Provision{}
		for _, p := range ps {
			byKey[p.PaymentID+" "+p.Type] = p
		}
		tap := byKey[p1.ID+" payment.completed"]
		if tap == nil || tap.Source != renkei.SourceSelection || tap.ConsentID != sel.ID || tap.Status != renkei.DeliveryQueued ||
			!slices.Equal(tap.Fields, []string{"pseudonymous_id", "payment_id", "amount", "merchant_name", "merchant_category", "time", "memo"}) {
			t.Fatalf("tap provision %+v", tap)
		}
		auto := byKey[p2.ID+" payment.completed"]
		if auto == nil || auto.Source != renkei.SourceLink || auto.ConsentID != link.ConsentID || auto.User != tap.User {
			t.Fatalf("link provision %+v (link %+v)", auto, link)
		}
		line := byKey[p1.ID+" statement.line"]
		if line == nil || line.ConsentID != sel.ID || slices.Contains(line.Fields, "memo") {
			t.Fatalf("statement line provision %+v", line)
		}
		if got, _, _ := s.ListProvisions(ctx, renkei.ProvisionFilter{UserID: other.user.ID}); len(got) != 0 {
			t.Fatalf("the other payer has provisions %+v", got)
		}
		before, _, err := s.ListProvisions(ctx, renkei.ProvisionFilter{ServiceID: rs.ID, Until: mid})
		must(t, err)
		after, _, err := s.ListProvisions(ctx, renkei.ProvisionFilter{ServiceID: rs.ID, Since: mid})
		must(t, err)
		if len(before) != 1 || before[0].ID != tap.ID || len(after) != 2 || after[0].UserID != f.user.ID {
			t.Fatalf("by period: before %d, after %d", len(before), len(after))
		}

		on := false
		changed, err := s.UpdateLink(ctx, f.user.ID, link.ID, renkei.LinkChange{Auto: &on})
		must(t, err)
		c.advance(time.Second)
		_, err = s.RevokeLink(ctx, f.user.ID, link.ID)
		must(t, err)
		cs, more, err := s.ListConsents(ctx, f.user.ID, renkei.Page{Limit: 2})
		must(t, err)
		if !more || len(cs) != 2 || cs[0].ID != changed.ConsentID || cs[1].ID != link.ConsentID {
			t.Fatalf("first page of consents %+v", cs)
		}
		if cs[0].Withdrawn == nil || cs[0].Superseded != nil || cs[1].Superseded == nil || cs[1].Withdrawn != nil || !cs[1].Auto {
			t.Fatalf("consent states %+v %+v", cs[0], cs[1])
		}
		rest, more, err := s.ListConsents(ctx, f.user.ID, renkei.Page{Limit: 2, StartingAfter: cs[1].ID})
		must(t, err)
		if more || len(rest) != 1 || rest[0].ID != sel.ID || rest[0].Kind != renkei.ConsentSelection || !rest[0].Input ||
			rest[0].Withdrawn == nil || rest[0].PaymentID != p1.ID {
			t.Fatalf("second page of consents %+v", rest)
		}
		if _, err := s.FindConsent(ctx, other.user.ID, sel.ID); renkei.ErrorCode(err) != renkei.ENOTFOUND {
			t.Fatalf("another payer found the tap: %v", err)
		}
		r := rest[0].Receipt(renkei.Controller{Name: "Op"}, "/app/privacy", "en")
		if r.ConsentReceiptID != sel.ID || len(r.Services[0].Purposes) != 2 || r.Renkei.Status != "withdrawn" ||
			!slices.Contains(r.Services[0].Purposes[0].PIICategory, "memo") {
			t.Fatalf("tap receipt %+v", r)
		}
	})
}
