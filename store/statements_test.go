package store_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

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
		_, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: kakeibo.ID, Statement: true})
		must(t, err)
		_, err = s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: noFeed.ID, Statement: true})
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

// TestStatementBatches: a statement run over more payments than one batch
// states each payment exactly once, one statement (and one transaction)
// per batch; two runs at once split the work and state no payment twice.
func TestStatementBatches(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		s.StatementBatch = 3
		in := kakeiboInput()
		in.Policy.WantsStatement = true
		feed := createService(t, s, in)
		f := newFixture(t, s, 1_000_000)
		g := newFixture(t, s, 1_000_000) // another shop
		for _, u := range []string{f.user.ID, g.user.ID} {
			_, err := s.CreateLink(ctx, u, renkei.LinkInput{ServiceID: feed.ID, Statement: true})
			must(t, err)
		}
		pay := func(fx fixture, n int) {
			for range n {
				_, err := charge(t, s, fx, 100)
				must(t, err)
			}
		}
		// lines checks that every payment so far has exactly one
		// statement line and that no statement has more than a batch.
		lines := func(want int) {
			t.Helper()
			perPayment, perStatement := map[string]int{}, map[string]int{}
			for _, d := range deliveries(t, s, renkei.DeliveryFilter{ServiceID: feed.ID}) {
				if d.Type == renkei.EventStatementLine {
					perPayment[d.PaymentID]++
					perStatement[message(t, d).Data.StatementID]++
				}
			}
			if len(perPayment) != want {
				t.Fatalf("%d payments have statement lines, want %d", len(perPayment), want)
			}
			for id, n := range perPayment {
				if n != 1 {
					t.Fatalf("payment %s stated %d times", id, n)
				}
			}
			for id, n := range perStatement {
				if n > 3 {
					t.Fatalf("statement %s has %d lines, more than a batch of 3", id, n)
				}
			}
		}

		pay(f, 10)
		pay(g, 2)
		run, err := s.RunStatements(ctx)
		must(t, err)
		if run.Lines != 12 || run.Messages != 12 || run.Statements != 5 {
			t.Fatalf("run %+v, want 12 lines in 4 + 1 statements", run)
		}
		lines(12)

		pay(f, 7)
		runs := make(chan store.StatementRun, 2)
		for range 2 {
			go func() {
				r, err := s.RunStatements(ctx)
				if err != nil {
					t.Error(err)
				}
				runs <- r
			}()
		}
		a, b := <-runs, <-runs
		if a.Lines+b.Lines != 7 || a.Messages+b.Messages != 7 {
			t.Fatalf("two runs at once: %+v and %+v, want 7 lines between them", a, b)
		}
		lines(19)
		again, err := s.RunStatements(ctx)
		must(t, err)
		if again.Lines != 0 {
			t.Fatalf("a third run stated again: %+v", again)
		}
	})
}

// crashOutbox takes the job queue's place and fails its nth enqueue, as a
// crash in the middle of a statement run would stop it: the transaction
// of that batch rolls back.
type crashOutbox struct{ calls, failAt atomic.Int64 }

func (o *crashOutbox) EnqueueTx(context.Context, any, string) error {
	if o.calls.Add(1) == o.failAt.Load() {
		return errors.New("the node stopped")
	}
	return nil
}

// TestStatementRunResumes: a run that stops in its second batch keeps the
// first batch stated and nothing of the second; the next run states the
// rest, and no payment is stated twice.
func TestStatementRunResumes(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		s.StatementBatch = 3
		crash := &crashOutbox{}
		crash.failAt.Store(5) // the second line of the second batch
		s.Outbox = crash
		in := kakeiboInput()
		in.Policy.WantsStatement = true
		feed := createService(t, s, in)
		f := newFixture(t, s, 100_000)
		_, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: feed.ID, Statement: true})
		must(t, err)
		for range 7 {
			_, err := charge(t, s, f, 100)
			must(t, err)
		}
		stated := func() map[string]int {
			out := map[string]int{}
			for _, d := range deliveries(t, s, renkei.DeliveryFilter{ServiceID: feed.ID}) {
				if d.Type == renkei.EventStatementLine {
					out[d.PaymentID]++
				}
			}
			return out
		}
		if _, err := s.RunStatements(ctx); err == nil {
			t.Fatal("the run did not stop")
		}
		if got := stated(); len(got) != 3 {
			t.Fatalf("after stopping in the second batch, %d payments are stated, want the first batch of 3", len(got))
		}
		run, err := s.RunStatements(ctx)
		must(t, err)
		got := stated()
		if run.Lines != 4 || len(got) != 7 {
			t.Fatalf("the next run stated %d payments (%d in all), want the other 4 (7 in all)", run.Lines, len(got))
		}
		for id, n := range got {
			if n != 1 {
				t.Fatalf("payment %s stated %d times", id, n)
			}
		}
	})
}

// TestStatementConsent (issue 11): a statement line goes only where the
// user consented to statement data. A link without its statement feed
// sends no line of an untapped payment; a tap, with or without a link,
// gets the line of that payment only; turning the feed on and off takes
// effect at once (queued lines it alone allowed are canceled); an unlink
// after a tap ends the tap's consent too. Each link change leaves a new
// consent receipt.
func TestStatementConsent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		linked := newFixture(t, s, 100_000)
		tapper := newFixture(t, s, 100_000) // taps, never links
		in := kakeiboInput()
		in.Policy.WantsStatement = true
		in.Policy.BaseThreshold = map[string]int64{"JPY": 0}
		kakeibo := createService(t, s, in)
		link, err := s.CreateLink(ctx, linked.user.ID, renkei.LinkInput{ServiceID: kakeibo.ID})
		must(t, err)
		if link.Statement || link.Auto || link.ConsentID == "" {
			t.Fatalf("new link %+v", link)
		}
		tap := func(f fixture, p *renkei.Payment) *renkei.Selection {
			t.Helper()
			_, err := s.Completion(ctx, f.user.ID, p.ID, "en")
			must(t, err)
			sel, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: kakeibo.ID})
			must(t, err)
			return sel
		}
		lines := func() map[string]string { // payment → status
			out := map[string]string{}
			for _, d := range deliveries(t, s, renkei.DeliveryFilter{ServiceID: kakeibo.ID}) {
				if d.Type == renkei.EventStatementLine {
					out[d.PaymentID] = d.Status
				}
			}
			return out
		}

		untapped, err := charge(t, s, linked, 700)
		must(t, err)
		tapped, err := charge(t, s, linked, 800)
		must(t, err)
		tap(linked, tapped)
		strangerTapped, err := charge(t, s, tapper, 900)
		must(t, err)
		tap(tapper, strangerTapped)
		strangerUntapped, err := charge(t, s, tapper, 1000)
		must(t, err)
		_, err = s.RunStatements(ctx)
		must(t, err)
		got := lines()
		if len(got) != 2 || got[tapped.ID] == "" || got[strangerTapped.ID] == "" {
			t.Fatalf("lines %v; want only the tapped %s and %s (not %s, %s)", got, tapped.ID, strangerTapped.ID, untapped.ID, strangerUntapped.ID)
		}

		// The feed on: the next untapped payment gets its line.
		on, off := true, false
		changed, err := s.UpdateLink(ctx, linked.user.ID, link.ID, renkei.LinkChange{Statement: &on})
		must(t, err)
		if !changed.Statement || changed.ConsentID == link.ConsentID {
			t.Fatalf("after turning the feed on %+v (was %+v)", changed, link)
		}
		second, err := charge(t, s, linked, 1100)
		must(t, err)
		third, err := charge(t, s, linked, 1200)
		must(t, err)
		tap(linked, third)
		_, err = s.RunStatements(ctx)
		must(t, err)
		got = lines()
		if got[second.ID] != renkei.DeliveryQueued || got[third.ID] != renkei.DeliveryQueued {
			t.Fatalf("lines with the feed on %v", got)
		}
		// The feed off again: the queued line of the untapped payment is
		// canceled at once; the tapped one's stays (the tap covers it).
		_, err = s.UpdateLink(ctx, linked.user.ID, link.ID, renkei.LinkChange{Statement: &off})
		must(t, err)
		got = lines()
		if got[second.ID] != renkei.DeliveryCanceled || got[third.ID] != renkei.DeliveryQueued {
			t.Fatalf("lines after turning the feed off %v", got)
		}
		// An unlink after a tap ends the tap's consent to its line, even
		// when the tapped message was delivered before.
		fourth, err := charge(t, s, linked, 1300)
		must(t, err)
		sel := tap(linked, fourth)
		must(t, s.RecordAttempt(ctx, sel.DeliveryID, store.AttemptResult{Attempt: 1, StartedAt: c.now(), Status: 204, Delivered: true}))
		c.advance(time.Second)
		_, err = s.RevokeLink(ctx, linked.user.ID, link.ID)
		must(t, err)
		_, err = s.RunStatements(ctx)
		must(t, err)
		if got = lines(); got[fourth.ID] != "" {
			t.Fatalf("a line of %s went out after the unlink: %v", fourth.ID, got)
		}
		_, err = s.UpdateLink(ctx, linked.user.ID, link.ID, renkei.LinkChange{Statement: &on})
		wantCode(t, err, renkei.ECONFLICT, "")
		_, err = s.UpdateLink(ctx, tapper.user.ID, link.ID, renkei.LinkChange{Statement: &on})
		wantCode(t, err, renkei.ENOTFOUND, "")
	})
}
