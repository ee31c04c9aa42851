package points

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/renkei/renkei/partner"
)

// DoubleCategories are the merchant categories that earn double points.
var DoubleCategories = []string{"groceries", "restaurants", "books"}

// Earned returns the points a payment earns and the multiplier applied:
// 1 point per ¥100 (amount in yen, rounded down), times 2 at merchants of
// DoubleCategories. Other currencies and amounts below ¥100 earn 0.
func Earned(amount int64, currency, merchantCategory string) (points, multiplier int64) {
	multiplier = 1
	if slices.Contains(DoubleCategories, merchantCategory) {
		multiplier = 2
	}
	return earned(amount, currency, multiplier), multiplier
}

// earned applies the rule with a known multiplier; a refund is revoked
// with the multiplier its payment earned with.
func earned(amount int64, currency string, multiplier int64) int64 {
	if currency != "JPY" || amount <= 0 {
		return 0
	}
	return amount / 100 * multiplier
}

// Kinds of moves (Move.Kind).
const (
	// KindAward: points earned by a payment.
	KindAward = "award"
	// KindRevoke: points taken back for a refund.
	KindRevoke = "revoke"
)

// onPaymentCompleted awards a payment's points, once per payment, in the
// transaction that marks the message done.
func (s *Server) onPaymentCompleted(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
	return s.Dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
		if err := award(ctx, tx, ev.ID, p, s.Now()); err != nil {
			return fmt.Errorf("award payment %s: %w", p.PaymentID, err)
		}
		return nil
	})
}

// onPaymentRefunded revokes a refund's points, once per refund.
func (s *Server) onPaymentRefunded(ctx context.Context, ev *partner.Event, r *partner.PaymentRefunded) error {
	return s.Dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
		if err := revoke(ctx, tx, ev.ID, r, s.Now()); err != nil {
			return fmt.Errorf("revoke refund %s of %s: %w", r.RefundID, r.PaymentID, err)
		}
		return nil
	})
}

// award records a payment and its points. A payment awarded before (by
// another message) moves nothing; refunds that overtook the payment are
// settled right after.
func award(ctx context.Context, tx *sql.Tx, msgID string, p *partner.PaymentCompleted, now time.Time) error {
	var known bool
	err := tx.QueryRowContext(ctx, `SELECT award_known FROM payments WHERE payment_id = ?`, p.PaymentID).Scan(&known)
	switch {
	case err == nil && known:
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return err
	}
	var category string
	if p.Merchant != nil {
		category = p.Merchant.Category
	}
	var amount int64
	if p.Amount != nil {
		amount = *p.Amount
	}
	pts, mult := Earned(amount, p.Currency, category)
	var amt, completed sql.NullInt64
	if p.Amount != nil {
		amt = sql.NullInt64{Int64: *p.Amount, Valid: true}
	}
	if p.CompletedAt != nil {
		completed = sql.NullInt64{Int64: micros(*p.CompletedAt), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payments (payment_id, user, amount, currency, merchant_category, multiplier,
			awarded, award_known, completed_at, awarded_at, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
		ON CONFLICT (payment_id) DO UPDATE SET user = excluded.user, amount = excluded.amount, currency = excluded.currency,
			merchant_category = excluded.merchant_category, multiplier = excluded.multiplier, awarded = excluded.awarded,
			award_known = 1, completed_at = excluded.completed_at, awarded_at = excluded.awarded_at, message_id = excluded.message_id`,
		p.PaymentID, p.User, amt, p.Currency, category, mult, pts, completed, micros(now), msgID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO moves (user, payment_id, kind, points, at) VALUES (?, ?, ?, ?, ?)`,
		p.User, p.PaymentID, KindAward, pts, micros(now)); err != nil {
		return err
	}
	return settle(ctx, tx, p.PaymentID, "", now)
}

// revoke records a refund and takes back its points. A refund recorded
// before moves nothing; one that overtakes its payment is recorded and
// settled when the payment arrives.
func revoke(ctx context.Context, tx *sql.Tx, msgID string, r *partner.PaymentRefunded, now time.Time) error {
	var amt, refunded sql.NullInt64
	if r.Amount != nil {
		amt = sql.NullInt64{Int64: max(*r.Amount, 0), Valid: true}
	}
	if r.RefundedAt != nil {
		refunded = sql.NullInt64{Int64: micros(*r.RefundedAt), Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO refunds (refund_id, payment_id, amount, refunded_at, received_at, message_id)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (refund_id) DO NOTHING`,
		r.RefundID, r.PaymentID, amt, refunded, micros(now), msgID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err // nil when the refund was recorded before
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payments (payment_id, user) VALUES (?, ?) ON CONFLICT (payment_id) DO NOTHING`,
		r.PaymentID, r.User); err != nil {
		return err
	}
	// Without the amount, assume the whole payment was refunded: the
	// programme never keeps points it cannot account for.
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET refunded_amount = refunded_amount + ?,
		refunded_full = refunded_full OR ? WHERE payment_id = ?`, amt.Int64, !amt.Valid, r.PaymentID); err != nil {
		return err
	}
	return settle(ctx, tx, r.PaymentID, r.RefundID, now)
}

// settle brings a payment's revoked points to what its refunds so far
// call for: the points of the refunded amount (all refunds together, at
// most the payment's amount) by the payment's own multiplier, never more
// than it was awarded. The difference is one revoke move, credited to
// refundID ("" when the payment arrived after its refunds).
func settle(ctx context.Context, tx *sql.Tx, paymentID, refundID string, now time.Time) error {
	var (
		user, currency                string
		amount                        sql.NullInt64
		known, full                   bool
		mult, awarded, refundedAmount int64
		revoked                       int64
	)
	if err := tx.QueryRowContext(ctx, `SELECT user, amount, currency, award_known, multiplier, awarded, refunded_amount,
			refunded_full, revoked FROM payments WHERE payment_id = ?`, paymentID).
		Scan(&user, &amount, &currency, &known, &mult, &awarded, &refundedAmount, &full, &revoked); err != nil {
		return err
	}
	if !known {
		return nil // nothing awarded yet: award settles when it comes
	}
	refunded := min(refundedAmount, amount.Int64)
	if full {
		refunded = amount.Int64
	}
	target := min(awarded, earned(refunded, currency, mult))
	delta := target - revoked
	if delta <= 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE payments SET revoked = ? WHERE payment_id = ?`, target, paymentID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO moves (user, payment_id, refund_id, kind, points, at) VALUES (?, ?, ?, ?, ?, ?)`,
		user, paymentID, refundID, KindRevoke, -delta, micros(now))
	return err
}
