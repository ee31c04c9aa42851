package store_test

import (
	"context"
	"testing"

	"github.com/renkei/renkei"
	"pgregory.net/rapid"
)

// TestNothingSentWithoutConsent (claim 8): over random sequences of
// payments, completion views, selections, dismissals, links and unlinks,
// every queued payment.completed message to a service is explained by a
// tap on that payment for that service or by an automatic link active when
// the payment completed; and after an unlink nothing for that user and
// service stays queued.
func TestNothingSentWithoutConsent(t *testing.T) {
	t.Parallel()
	s, _ := openStore(t, "sqlite")
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		f := newFixture(rt, s, 1_000_000)
		var svcs []*renkei.RelatedService
		for i := 0; i < 2; i++ {
			in := kakeiboInput()
			in.Policy.BaseThreshold = map[string]int64{"JPY": rapid.Int64Range(0, 3000).Draw(rt, "base")}
			svcs = append(svcs, createService(rt, s, in))
		}
		type key struct{ payment, service string }
		allowed := map[key]bool{}
		links := map[string]*renkei.Link{} // service → active link
		var payments []*renkei.Payment
		for step := rapid.IntRange(1, 20).Draw(rt, "steps"); step > 0; step-- {
			svc := svcs[rapid.IntRange(0, len(svcs)-1).Draw(rt, "svc")]
			switch rapid.IntRange(0, 4).Draw(rt, "op") {
			case 0:
				p, err := charge(rt, s, f, rapid.Int64Range(1, 20_000).Draw(rt, "amount"))
				must(rt, err)
				payments = append(payments, p)
				for sid, l := range links {
					if l.Auto {
						allowed[key{p.ID, sid}] = true
					}
				}
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
				if rapid.Bool().Draw(rt, "tap") {
					if _, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: pr.ServiceID, Memo: "m"}); err == nil {
						allowed[key{p.ID, pr.ServiceID}] = true
					}
				} else {
					s.Dismiss(ctx, f.user.ID, p.ID, pr.ServiceID)
				}
			case 2:
				if links[svc.ID] != nil {
					continue
				}
				l, err := s.CreateLink(ctx, f.user.ID, svc.ID, rapid.Bool().Draw(rt, "auto"))
				must(rt, err)
				links[svc.ID] = l
			case 3:
				if l := links[svc.ID]; l != nil {
					_, err := s.RevokeLink(ctx, f.user.ID, l.ID)
					must(rt, err)
					delete(links, svc.ID)
					if n := len(deliveries(rt, s, renkei.DeliveryFilter{ServiceID: svc.ID, Status: renkei.DeliveryQueued})); n != 0 {
						rt.Fatalf("%d messages still queued after unlink", n)
					}
				}
			case 4:
				if len(payments) == 0 {
					continue
				}
				p := payments[rapid.IntRange(0, len(payments)-1).Draw(rt, "p")]
				s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 1})
			}
		}
		for _, svc := range svcs {
			for _, d := range deliveries(rt, s, renkei.DeliveryFilter{ServiceID: svc.ID}) {
				if d.Type == renkei.EventPaymentCompleted && !allowed[key{d.PaymentID, svc.ID}] {
					rt.Fatalf("payment %s was queued to %s (%s) without a tap or an automatic link", d.PaymentID, svc.ID, d.Source)
				}
				if d.Type == renkei.EventPaymentRefunded && !allowed[key{d.PaymentID, svc.ID}] {
					rt.Fatalf("refund of %s went to %s, which never had the payment", d.PaymentID, svc.ID)
				}
			}
		}
	})
}
