package kakeibo_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func annotated(paymentID, user, memo, category string, seq int) []byte {
	return message("payment.annotated", map[string]any{"payment_id": paymentID, "user": user,
		"input": map[string]any{"memo": memo, "category": category}, "sequence": seq, "source": "selection"})
}

// TestMemoEdits: the payer's memo edit (payment.annotated) replaces the
// entry's memo and category, its reversal follows the category, a retry
// or an older edit arriving late changes nothing, another user's edit
// is ignored, and an edit that outruns its payment is refused (500) until
// the payment is booked, then taken.
func TestMemoEdits(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.MustDeliver(newID(), message("payment.completed", payment("pay_lunch", 1280, t0, "Cafe Hikari", "restaurants", "lunch", "food")))
	f.MustDeliver(newID(), message("payment.refunded", refund("pay_lunch", "rfd_1", 280, t0.Add(time.Hour))))

	edit := newID()
	f.MustDeliver(edit, annotated("pay_lunch", "pu_aiko", "team lunch with Ben", "hobby", 5))
	es := f.entries("pay_lunch")
	if len(es) != 2 {
		t.Fatalf("entries %+v", es)
	}
	for _, e := range es {
		if e.Category != "hobby" || (e.RefundID == "" && e.Memo != "team lunch with Ben") {
			t.Fatalf("after the edit: %+v", e)
		}
	}

	f.Clock.Advance(5 * time.Second)
	if answer := f.MustDeliver(edit, annotated("pay_lunch", "pu_aiko", "team lunch with Ben", "hobby", 5)); !strings.Contains(answer, "duplicate") {
		t.Errorf("retry answered %q", answer)
	}
	f.MustDeliver(newID(), annotated("pay_lunch", "pu_aiko", "an older memo", "food", 4))
	f.MustDeliver(newID(), annotated("pay_lunch", "pu_someone_else", "not yours", "food", 9))
	if e := f.entries("pay_lunch")[0]; e.Memo != "team lunch with Ben" || e.Category != "hobby" {
		t.Fatalf("an older or foreign edit won: %+v", e)
	}

	// A cleared memo clears it.
	f.MustDeliver(newID(), annotated("pay_lunch", "pu_aiko", "", "", 6))
	if e := f.entries("pay_lunch")[0]; e.Memo != "" || e.Category != "" {
		t.Fatalf("after clearing: %+v", e)
	}

	// The edit of a payment whose payment.completed is still on its way.
	early := newID()
	body := annotated("pay_late", "pu_aiko", "onigiri for two", "food", 8)
	if status, answer := f.Deliver(early, body); status != http.StatusInternalServerError {
		t.Fatalf("edit before its payment answered %d %s, want 500 so Renkei retries", status, answer)
	}
	f.MustDeliver(newID(), message("payment.completed", payment("pay_late", 700, t0, "Lawson", "groceries", "onigiri", "food")))
	f.Clock.Advance(5 * time.Second)
	f.MustDeliver(early, body)
	if e := f.entries("pay_late"); len(e) != 1 || e[0].Memo != "onigiri for two" {
		t.Fatalf("the retried edit: %+v", e)
	}
}

// TestMemoEditBeforeRealtime: an entry booked from the statement gets
// the edit, and the real-time message arriving after it does not undo it.
func TestMemoEditBeforeRealtime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.MustDeliver(newID(), message("statement.line", statementLine("pay_s", 900, t0, "Midori Mart", "groceries")))
	f.MustDeliver(newID(), annotated("pay_s", "pu_aiko", "the newer memo", "daily", 3))
	f.MustDeliver(newID(), message("payment.completed", payment("pay_s", 900, t0, "Midori Mart", "groceries", "the tap's memo", "food")))
	if e := f.entries("pay_s"); len(e) != 1 || e[0].Memo != "the newer memo" || e[0].Category != "daily" || !e[0].ConfirmedByStatement {
		t.Fatalf("entry %+v", e)
	}
}
