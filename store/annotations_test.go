package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// TestAnnotate: the payer's memo edit after the fact. Only the payer, only
// for a payment an app received, held to each receiving app's limits and
// categories; it queues one payment.annotated per receiving app with the
// payment's id, the pseudonym and the next sequence, stripped to the
// fields that app takes; an Idempotency-Key makes a retry send nothing
// more; an unlinked app gets nothing.
func TestAnnotate(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		intruder := newFixture(t, s, 1000)
		rs := createService(t, s, kakeiboInput())
		exp := kakeiboInput()
		exp.Name, exp.Input = "Expenses", renkei.InputFields{Memo: true, MemoMaxLen: 10}
		exp.Policy.BaseThreshold = map[string]int64{"JPY": 1_000_000} // never proposed: it gets payments by its link
		expenses := createService(t, s, exp)

		p, err := charge(t, s, f, 12_800)
		must(t, err)
		_, err = s.Completion(ctx, f.user.ID, p.ID, "en")
		must(t, err)

		// Not sent anywhere yet: nothing to update.
		_, err = s.Annotate(ctx, f.user.ID, p.ID, renkei.AnnotateInput{Memo: "lunch"})
		wantCode(t, err, renkei.ECONFLICT, "not_received")

		_, err = s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: rs.ID, Memo: "lunch", Category: "food"})
		must(t, err)
		first := message(t, deliveries(t, s, renkei.DeliveryFilter{PaymentID: p.ID})[0])

		bad := []struct {
			user string
			in   renkei.AnnotateInput
			code string
		}{
			{intruder.user.ID, renkei.AnnotateInput{Memo: "mine now"}, renkei.ENOTFOUND},
			{f.user.ID, renkei.AnnotateInput{Memo: strings.Repeat("あ", 21)}, renkei.EINVALID},
			{f.user.ID, renkei.AnnotateInput{Memo: "ok", Category: "cars"}, renkei.EINVALID},
			{f.user.ID, renkei.AnnotateInput{Memo: "nul\x00"}, renkei.EINVALID},
			{f.user.ID, renkei.AnnotateInput{Memo: "bad \xff utf-8"}, renkei.EINVALID},
		}
		for i, b := range bad {
			_, err := s.Annotate(ctx, b.user, p.ID, b.in)
			if renkei.ErrorCode(err) != b.code {
				t.Errorf("bad annotation %d: %v", i, err)
			}
		}
		if n := len(deliveries(t, s, renkei.DeliveryFilter{PaymentID: p.ID})); n != 1 {
			t.Fatalf("refused edits queued messages: %d deliveries", n)
		}

		idem := &renkei.Idempotency{Scope: "user:" + f.user.ID, Key: "edit-1", RequestHash: "h1"}
		a, err := s.Annotate(renkei.NewContextWithIdempotency(ctx, idem), f.user.ID, p.ID,
			renkei.AnnotateInput{Memo: "team lunch w/ Ben", Category: "hobby"})
		must(t, err)
		if !renkei.HasPrefix(a.ID, renkei.PrefixAnnotation) || len(a.DeliveryIDs) != 1 || idem.Replayed {
			t.Fatalf("annotation %+v", a)
		}
		again := &renkei.Idempotency{Scope: "user:" + f.user.ID, Key: "edit-1", RequestHash: "h1"}
		b, err := s.Annotate(renkei.NewContextWithIdempotency(ctx, again), f.user.ID, p.ID,
			renkei.AnnotateInput{Memo: "team lunch w/ Ben", Category: "hobby"})
		must(t, err)
		if !again.Replayed || b.ID != a.ID || b.DeliveryIDs[0] != a.DeliveryIDs[0] {
			t.Fatalf("replay %+v (replayed %v), first %+v", b, again.Replayed, a)
		}
		ds := deliveries(t, s, renkei.DeliveryFilter{PaymentID: p.ID})
		if len(ds) != 2 || ds[0].ID != a.DeliveryIDs[0] || ds[0].Type != renkei.EventPaymentAnnotated || ds[0].ServiceID != rs.ID ||
			ds[0].Source != renkei.SourceSelection {
			t.Fatalf("deliveries after the edit and its replay: %+v", ds)
		}
		m := message(t, ds[0])
		if m.Type != "payment.annotated" || m.Data.PaymentID != p.ID || m.Data.User != first.Data.User || m.Data.User == "" ||
			m.Data.Sequence != first.Data.Sequence+1 || m.Data.Source != "selection" || m.Data.Input == nil ||
			m.Data.Input.Memo != "team lunch w/ Ben" || m.Data.Input.Category != "hobby" || m.Data.Amount != nil || m.Data.Merchant != nil {
			t.Fatalf("message %s", ds[0].Body)
		}

		note, err := s.PaymentNote(ctx, f.user.ID, p.ID)
		must(t, err)
		if note.Memo != "team lunch w/ Ben" || note.Category != "hobby" || len(note.Services) != 1 || note.Services[0].ID != rs.ID {
			t.Fatalf("note %+v", note)
		}
		_, err = s.PaymentNote(ctx, intruder.user.ID, p.ID)
		wantCode(t, err, renkei.ENOTFOUND, "")

		// A payment sent by an automatic link: the edit goes there too,
		// with only the memo (Expenses has no categories), as source link.
		lk, err := s.CreateLink(ctx, f.user.ID, renkei.LinkInput{ServiceID: expenses.ID, Auto: true})
		must(t, err)
		q, err := charge(t, s, f, 900)
		must(t, err)
		note, err = s.PaymentNote(ctx, f.user.ID, q.ID)
		must(t, err)
		if note.Memo != "" || len(note.Services) != 1 || note.Services[0].ID != expenses.ID {
			t.Fatalf("note of the linked payment %+v", note)
		}
		_, err = s.Annotate(ctx, f.user.ID, q.ID, renkei.AnnotateInput{Memo: "taxi", Category: "food"})
		wantCode(t, err, renkei.EINVALID, "")
		_, err = s.Annotate(ctx, f.user.ID, q.ID, renkei.AnnotateInput{Memo: "eleven char"})
		wantCode(t, err, renkei.EINVALID, "")
		a, err = s.Annotate(ctx, f.user.ID, q.ID, renkei.AnnotateInput{Memo: "taxi"})
		must(t, err)
		d, err := s.FindDelivery(ctx, a.DeliveryIDs[0])
		must(t, err)
		if m := message(t, d); d.ServiceID != expenses.ID || m.Data.Source != "link" || m.Data.Input == nil || m.Data.Input.Memo != "taxi" {
			t.Fatalf("linked edit %s", d.Body)
		}

		// Unlinked: no consent, so nothing to send the edit to.
		_, err = s.RevokeLink(ctx, f.user.ID, lk.ID)
		must(t, err)
		_, err = s.Annotate(ctx, f.user.ID, q.ID, renkei.AnnotateInput{Memo: "taxi home"})
		wantCode(t, err, renkei.ECONFLICT, "not_received")
	})
}

// TestSelectionStates: the card's truth after a tap follows the delivery:
// queued, retrying after a failed attempt, delivered; only the payer
// sees it.
func TestSelectionStates(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 100_000)
		intruder := newFixture(t, s, 1000)
		rs := createService(t, s, kakeiboInput())
		p, err := charge(t, s, f, 12_800)
		must(t, err)
		_, err = s.Completion(ctx, f.user.ID, p.ID, "en")
		must(t, err)
		sts, err := s.SelectionStates(ctx, f.user.ID, p.ID)
		must(t, err)
		if len(sts) != 0 {
			t.Fatalf("states before a tap: %+v", sts)
		}
		sel, err := s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: rs.ID})
		must(t, err)
		state := func(want string, final bool) {
			t.Helper()
			sts, err := s.SelectionStates(ctx, f.user.ID, p.ID)
			must(t, err)
			if len(sts) != 1 || sts[0].SelectionID != sel.ID || sts[0].ServiceID != rs.ID || sts[0].DeliveryID != sel.DeliveryID ||
				sts[0].Status != want || sts[0].Final != final {
				t.Fatalf("states %+v, want %s", sts, want)
			}
		}
		state(renkei.SelectionQueued, false)
		must(t, s.RecordAttempt(ctx, sel.DeliveryID, store.AttemptResult{Attempt: 1, StartedAt: c.now(), Duration: time.Millisecond,
			Status: 503, Err: "HTTP 503"}))
		state(renkei.SelectionRetrying, false)
		must(t, s.RecordAttempt(ctx, sel.DeliveryID, store.AttemptResult{Attempt: 2, StartedAt: c.now(), Duration: time.Millisecond,
			Status: 204, Delivered: true}))
		state(renkei.SelectionDelivered, true)
		_, err = s.SelectionStates(ctx, intruder.user.ID, p.ID)
		wantCode(t, err, renkei.ENOTFOUND, "")
	})
}
