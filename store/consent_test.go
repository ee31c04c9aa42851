package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"pgregory.net/rapid"
)

// TestNothingSentWithoutConsent (claim 8): over random sequences of
// payments, completion views, selections, dismissals, links and unlinks,
// every queued payment.completed message to a service is explained by a
// tap on that payment for that service or by an automatic link active when
// the payment completed; and after an unlink nothing for that user and
// service stays queued.
//
// Each iteration gets a fresh database, so the only services are the two
// it checks: with one store shared across iterations the services of
// earlier iterations piled up and took the cards (after 50 iterations 3.6%
// of the cards were for the services checked), so the taps the property is
// about hardly happened. The test logs how many views had a card and how
// many taps queued a message, and fails if the run had almost none. It
// runs on SQLite, where a fresh database is a copy of a migrated file; the
// queries are the same on PostgreSQL, where the conformance tests run them.
func TestNothingSentWithoutConsent(t *testing.T) {
	t.Parallel()
	fresh := sqliteTemplate(t)
	var views, withCard, taps, auto int
	rapid.Check(t, func(rt *rapid.T) {
		s, _, done := fresh()
		defer done()
		v, c, tp, a := consentRun(rt, s)
		views, withCard, taps, auto = views+v, withCard+c, taps+tp, auto+a
	})
	t.Logf("%d completion views, %d with a card for a checked service (%.0f%%); %d taps queued a message; %d payments sent by an automatic link",
		views, withCard, 100*float64(withCard)/float64(max(views, 1)), taps, auto)
	if views == 0 || withCard*3 < views || taps == 0 || auto == 0 {
		t.Fatalf("the run hardly exercised consent: %d views, %d with a card, %d taps, %d automatic sends", views, withCard, taps, auto)
	}
}

// sqliteTemplate migrates one SQLite file and returns a function that
// opens a fresh store on a copy of it, for one rapid iteration, with its
// close. Copying is much cheaper than migrating, which matters under -race.
func sqliteTemplate(t *testing.T) func() (*store.Store, *clock, func()) {
	t.Helper()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "template.db")
	s, err := store.Open(context.Background(), tmpl)
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.Close())
	raw, err := os.ReadFile(tmpl)
	must(t, err)
	n := 0
	return func() (*store.Store, *clock, func()) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("run%d.db", n))
		must(t, os.WriteFile(path, raw, 0o600))
		s, err := store.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{}
		c.ns.Store(testEpoch.UnixNano())
		configure(s, c)
		return s, c, func() { s.Close(); os.Remove(path) }
	}
}

// consentRun is one random sequence; it returns how many completion views
// it made, how many showed a card, how many taps queued a message and how
// many payments an automatic link sent.
func consentRun(rt *rapid.T, s *store.Store) (views, withCard, taps, auto int) {
	ctx := context.Background()
	f := newFixture(rt, s, 1_000_000)
	var svcs []*renkei.RelatedService
	for i := 0; i < 2; i++ {
		in := kakeiboInput()
		in.Policy.BaseThreshold = map[string]int64{"JPY": rapid.Int64Range(0, 3000).Draw(rt, "base")}
		svcs = append(svcs, createService(rt, s, in))
	}
	checked := map[string]bool{svcs[0].ID: true, svcs[1].ID: true}
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
					auto++
				}
			}
		case 1:
			if len(payments) == 0 {
				continue
			}
			p := payments[rapid.IntRange(0, len(payments)-1).Draw(rt, "p")]
			v, err := s.Completion(ctx, f.user.ID, p.ID, "en")
			must(rt, err)
			views++
			if len(v.Proposals) == 0 {
				continue
			}
			for _, pr := range v.Proposals {
				if !checked[pr.ServiceID] {
					rt.Fatalf("a card for %s, a service this run did not create", pr.ServiceID)
				}
			}
			withCard++
			pr := v.Proposals[rapid.IntRange(0, len(v.Proposals)-1).Draw(rt, "card")]
			if rapid.Bool().Draw(rt, "tap") {
				if sel, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: pr.ServiceID, Memo: "m"}); err == nil {
					allowed[key{p.ID, pr.ServiceID}] = true
					if sel.DeliveryID != "" {
						taps++
					}
				}
			} else {
				s.Dismiss(ctx, f.user.ID, p.ID, pr.ServiceID)
			}
		case 2:
			if links[svc.ID] != nil {
				continue
			}
			l, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: svc.ID, Auto: rapid.Bool().Draw(rt, "auto")})
			must(rt, err)
			links[svc.ID] = l
		case 3:
			if l := links[svc.ID]; l != nil {
				_, err := s.RevokeLink(ctx, f.user.ID, l.ID)
				must(rt, err)
				delete(links, svc.ID)
				for _, d := range deliveries(rt, s, renkei.DeliveryFilter{ServiceID: svc.ID, Status: renkei.DeliveryQueued}) {
					if d.Type != renkei.EventLinkRevoked {
						rt.Fatalf("%s %s still queued after unlink", d.Type, d.ID)
					}
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
	return views, withCard, taps, auto
}
