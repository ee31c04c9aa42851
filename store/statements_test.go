package store_test

import (
	"context"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestStatementFeed (claim 9): the statement run sends each linked user's
// payments as statement.line messages with the same payment_id as the
// real-time message, to services that want the feed, once.
func TestStatementFeed(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		stranger := newFixture(t, s, 100_000)
		in := kakeiboInput()
		in.Policy.WantsStatement = true
		kakeibo := createService(t, s, in)
		noFeed := createService(t, s, kakeiboInput())
		_, err := s.CreateLink(ctx, f.user.ID, kakeibo.ID, false)
		must(t, err)
		_, err = s.CreateLink(ctx, f.user.ID, noFeed.ID, false)
		must(t, err)

		tapped, err := charge(t, s, f, 5000)
		must(t, err)
		_, err = s.Completion(ctx, f.user.ID, tapped.ID, "en")
		must(t, err)
		_, err = s.Select(ctx, f.user.ID, tapped.ID, renkei.SelectInput{ServiceID: kakeibo.ID, Memo: "dinner"})
		must(t, err)
		untapped, err := charge(t, s, f, 700)
		must(t, err)
		_, err = charge(t, s, stranger, 900) // not linked: no statement line
		must(t, err)

		run, err := s.RunStatements(ctx)
		must(t, err)
		if run.Lines != 3 || run.Messages != 2 || run.Statements != 2 {
			t.Fatalf("run %+v", run)
		}
		lines := map[string]store.Message{}
		for _, d := range deliveries(t, s, renkei.DeliveryFilter{ServiceID: kakeibo.ID}) {
			if d.Type == renkei.EventStatementLine {
				if d.Source != renkei.SourceStatement {
					t.Fatalf("source %s", d.Source)
				}
				lines[d.PaymentID] = message(t, d)
			}
		}
		if len(lines) != 2 || lines[tapped.ID].Data.StatementID == "" || lines[untapped.ID].Data.Input != nil {
			t.Fatalf("statement lines %+v", lines)
		}
		if got := deliveries(t, s, renkei.DeliveryFilter{ServiceID: noFeed.ID}); len(got) != 0 {
			t.Fatalf("a service without the feed got %d messages", len(got))
		}
		again, err := s.RunStatements(ctx)
		must(t, err)
		if again.Lines != 0 || again.Messages != 0 {
			t.Fatalf("second run stated again: %+v", again)
		}
	})
}
