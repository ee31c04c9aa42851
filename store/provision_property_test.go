package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"pgregory.net/rapid"
)

// TestProvisionRecordProperty (issue 11): over random histories of
// payments, taps, links made with random consents, consent changes,
// unlinks, statement runs, refunds and sends, (1) nothing is sent without
// a live consent covering that message type, checked against a model of
// the user's consents at the moment each message is sent, and (2) the
// provision record lists exactly the messages that exist, with exactly
// the ones sent marked delivered, each with the fields its body carries.
//
// "Sending" is what the delivery engine does: it takes the queued
// messages and records each attempt (store.RecordAttempts); a message
// that was canceled is not queued and so never sent.
func TestProvisionRecordProperty(t *testing.T) {
	t.Parallel()
	fresh := sqliteTemplate(t)
	var sentTotal, lines, revoked int
	rapid.Check(t, func(rt *rapid.T) {
		s, c, done := fresh()
		defer done()
		sent, l, r := provisionRun(rt, s, c)
		sentTotal, lines, revoked = sentTotal+sent, lines+l, revoked+r
	})
	t.Logf("%d messages sent, %d of them statement lines, %d link.revoked", sentTotal, lines, revoked)
	if sentTotal == 0 || lines == 0 || revoked == 0 {
		t.Fatalf("the run hardly sent anything: %d sent, %d statement lines, %d link.revoked", sentTotal, lines, revoked)
	}
}

// consentModel is what the user consented to, per service, as the test
// did it.
type consentModel struct {
	link        *renkei.Link   // the active link, or nil
	taps        map[string]int // payment → step of the tap that queued it
	lastRevoke  int            // step of the last unlink; -1 for none
	hadPayments map[string]bool
}

func provisionRun(rt *rapid.T, s *store.Store, c *clock) (sent, lines, revokedSent int) {
	ctx := context.Background()
	f := newFixture(rt, s, 10_000_000)
	models := map[string]*consentModel{}
	var svcs []*renkei.RelatedService
	for i := 0; i < 2; i++ {
		in := kakeiboInput()
		in.Policy.BaseThreshold = map[string]int64{"JPY": 0}
		in.Policy.WantsStatement = i == 0 || rapid.Bool().Draw(rt, "feed")
		rs := createService(rt, s, in)
		svcs = append(svcs, rs)
		models[rs.ID] = &consentModel{taps: map[string]int{}, lastRevoke: -1, hadPayments: map[string]bool{}}
	}
	var payments []*renkei.Payment
	delivered := map[string]bool{}
	tapLive := func(m *consentModel, payment string) bool {
		st, ok := m.taps[payment]
		return ok && st > m.lastRevoke
	}
	steps := rapid.IntRange(1, 80).Draw(rt, "steps")
	for step := 0; step < steps; step++ {
		c.advance(time.Millisecond)
		svc := svcs[rapid.IntRange(0, len(svcs)-1).Draw(rt, "svc")]
		m := models[svc.ID]
		switch rapid.IntRange(0, 7).Draw(rt, "op") {
		case 0:
			p, err := charge(rt, s, f, rapid.Int64Range(100, 5000).Draw(rt, "amount"))
			must(rt, err)
			payments = append(payments, p)
		case 1:
			if len(payments) == 0 {
				continue
			}
			p := payments[rapid.IntRange(0, len(payments)-1).Draw(rt, "p")]
			v, err := s.Completion(ctx, f.user.ID, p.ID, "en")
			must(rt, err)
			if len(v.Proposals) == 0 {
				continue
			}
			pr := v.Proposals[rapid.IntRange(0, len(v.Proposals)-1).Draw(rt, "card")]
			if sel, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: pr.ServiceID}); err == nil && sel.DeliveryID != "" {
				models[pr.ServiceID].taps[p.ID] = step
			}
		case 2:
			if m.link != nil {
				continue
			}
			l, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: svc.ID,
				Auto: rapid.Bool().Draw(rt, "auto"), Statement: rapid.Bool().Draw(rt, "statement")})
			must(rt, err)
			m.link = l
		case 3:
			if m.link == nil {
				continue
			}
			var ch renkei.LinkChange
			if rapid.Bool().Draw(rt, "change auto") {
				v := rapid.Bool().Draw(rt, "auto to")
				ch.Auto = &v
			}
			if rapid.Bool().Draw(rt, "change statement") {
				v := rapid.Bool().Draw(rt, "statement to")
				ch.Statement = &v
			}
			l, err := s.UpdateLink(ctx, f.user.ID, m.link.ID, ch)
			must(rt, err)
			m.link = l
		case 4:
			if m.link == nil {
				continue
			}
			_, err := s.RevokeLink(ctx, f.user.ID, m.link.ID)
			must(rt, err)
			m.link, m.lastRevoke = nil, step
		case 5:
			_, err := s.RunStatements(ctx)
			must(rt, err)
		case 6:
			if len(payments) == 0 {
				continue
			}
			p := payments[rapid.IntRange(0, len(payments)-1).Draw(rt, "p")]
			s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 1})
		case 7:
			// Send what is queued, as the delivery engine would, checking
			// each message against the consents as they stand now.
			var as []store.Attempted
			for _, d := range deliveries(rt, s, renkei.DeliveryFilter{Status: renkei.DeliveryQueued, Page: renkei.Page{Limit: 100}}) {
				dm := models[d.ServiceID]
				live := false
				switch {
				case d.Type == renkei.EventLinkRevoked:
					live = dm.lastRevoke >= 0
				case d.Type == renkei.EventPaymentCompleted && d.Source == renkei.SourceSelection:
					live = tapLive(dm, d.PaymentID)
				case d.Type == renkei.EventPaymentCompleted && d.Source == renkei.SourceLink:
					live = dm.link != nil && dm.link.Auto
				case d.Type == renkei.EventStatementLine:
					live = (dm.link != nil && dm.link.Statement) || tapLive(dm, d.PaymentID)
				case d.Type == renkei.EventPaymentRefunded:
					live = dm.hadPayments[d.PaymentID] && (dm.link != nil || tapLive(dm, d.PaymentID))
				}
				if !live {
					rt.Fatalf("step %d: %s %s (%s) to %s is queued to be sent without a live consent (model %+v)",
						step, d.Type, d.ID, d.Source, d.ServiceID, *dm)
				}
				as = append(as, store.Attempted{DeliveryID: d.ID, ServiceID: d.ServiceID,
					AttemptResult: store.AttemptResult{Attempt: 1, StartedAt: c.now(), Status: 204, Delivered: true}})
				delivered[d.ID] = true
				if d.Type == renkei.EventPaymentCompleted {
					dm.hadPayments[d.PaymentID] = true
				}
				switch d.Type {
				case renkei.EventStatementLine:
					lines++
				case renkei.EventLinkRevoked:
					revokedSent++
				}
			}
			must(rt, s.RecordAttempts(ctx, as))
		}
		// A queued payment.completed counts as the service's once sent;
		// the model learns of it when the message is, above. Until then a
		// refund of it is queued too, which the check covers as well.
		for _, d := range deliveries(rt, s, renkei.DeliveryFilter{Status: renkei.DeliveryQueued, Page: renkei.Page{Limit: 100}}) {
			if d.Type == renkei.EventPaymentCompleted {
				models[d.ServiceID].hadPayments[d.PaymentID] = true
			}
		}
	}

	// The record is the messages: the same ids, and delivered exactly
	// where the test sent them, with the fields of each body.
	all := map[string]*renkei.Delivery{}
	for page := ""; ; {
		ds, more, err := s.ListDeliveries(ctx, renkei.DeliveryFilter{Page: renkei.Page{Limit: 100, StartingAfter: page}})
		must(rt, err)
		for _, d := range ds {
			all[d.ID] = d
		}
		if !more {
			break
		}
		page = ds[len(ds)-1].ID
	}
	seen := map[string]bool{}
	for page := ""; ; {
		ps, more, err := s.ListProvisions(ctx, renkei.ProvisionFilter{UserID: f.user.ID, Page: renkei.Page{Limit: 7, StartingAfter: page}})
		must(rt, err)
		for _, p := range ps {
			d := all[p.ID]
			if d == nil || seen[p.ID] {
				rt.Fatalf("the record lists %s, which is not a message (or twice)", p.ID)
			}
			seen[p.ID] = true
			if (p.Status == renkei.DeliveryDelivered) != delivered[p.ID] || p.Type != d.Type || p.Source != d.Source || p.PaymentID != d.PaymentID {
				rt.Fatalf("record %+v for message %+v (sent: %v)", p, d, delivered[p.ID])
			}
			if !slices.Equal(p.Fields, renkei.MessageFields(d.Body)) || !slices.Contains(p.Fields, renkei.FieldPseudonym) {
				rt.Fatalf("record fields %v for body %s", p.Fields, d.Body)
			}
			if p.ConsentID == "" {
				rt.Fatalf("record %+v names no consent", p)
			}
		}
		if !more {
			break
		}
		page = ps[len(ps)-1].ID
	}
	if len(seen) != len(all) {
		rt.Fatalf("the record lists %d of %d messages", len(seen), len(all))
	}
	return len(delivered), lines, revokedSent
}
