package kakeibo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/renkei/renkei/partner"
)

// errNotBooked answers a memo edit for a payment not in the book yet: its
// payment.completed is still on its way (held up by retries), so the
// Handler answers 500 and Renkei brings the edit again later.
var errNotBooked = errors.New("the payment is not booked yet")

// onPaymentAnnotated takes the payer's new memo and category for a booked
// payment: the entry shows them from now on, and its reversals follow the
// category so the month's totals still net out.
func (s *Server) onPaymentAnnotated(ctx context.Context, ev *partner.Event, a *partner.PaymentAnnotated) error {
	return s.Dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
		if err := annotate(ctx, tx, ev.ID, a, s.Now()); err != nil {
			return fmt.Errorf("memo of %s: %w", a.PaymentID, err)
		}
		return nil
	})
}

// annotate applies an edit unless a later one (a higher sequence in the
// user's stream) was applied already: retries may bring edits out of
// order, and the newest the payer wrote wins.
func annotate(ctx context.Context, tx *sql.Tx, msgID string, a *partner.PaymentAnnotated, now time.Time) error {
	var (
		id   int64
		user string
	)
	err := tx.QueryRowContext(ctx, `SELECT id, user FROM entries WHERE payment_id = ? AND refund_id = ''`, a.PaymentID).Scan(&id, &user)
	if errors.Is(err, sql.ErrNoRows) {
		return errNotBooked
	} else if err != nil {
		return err
	}
	if user != a.User {
		return nil // not this user's payment: nothing of theirs to change
	}
	var last int64
	err = tx.QueryRowContext(ctx, `SELECT sequence FROM memo_edits WHERE payment_id = ?`, a.PaymentID).Scan(&last)
	if err == nil && last >= a.Sequence {
		return nil // a later edit is in already
	} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE entries SET memo = ?, category = ? WHERE id = ?`, a.Input.Memo, a.Input.Category, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE entries SET category = ? WHERE payment_id = ? AND refund_id <> ''`,
		a.Input.Category, a.PaymentID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO memo_edits (payment_id, sequence, edited_at, message_id) VALUES (?, ?, ?, ?)
		ON CONFLICT (payment_id) DO UPDATE SET sequence = excluded.sequence, edited_at = excluded.edited_at, message_id = excluded.message_id`,
		a.PaymentID, a.Sequence, micros(now), msgID)
	return err
}
