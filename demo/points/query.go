package points

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Payment is one payment's points as GET /api/points serves them.
type Payment struct {
	// PaymentID is Renkei's payment id.
	PaymentID string `json:"payment_id"`
	// User is the payer's pseudonym for this service.
	User string `json:"user"`
	// Amount is in minor units of Currency; null without the amount
	// scope, or while a refund has overtaken the payment.completed.
	Amount           *int64 `json:"amount"`
	Currency         string `json:"currency"`
	MerchantCategory string `json:"merchant_category"`
	// Multiplier is 2 for DoubleCategories, else 1.
	Multiplier int64 `json:"multiplier"`
	// Awarded is what the payment earned (Earned); Revoked what its
	// refunds took back; Points what is left, never below zero.
	Awarded int64 `json:"awarded"`
	Revoked int64 `json:"revoked"`
	Points  int64 `json:"points"`
	// RefundedAmount sums the payment's refunds.
	RefundedAmount int64      `json:"refunded_amount"`
	CompletedAt    *time.Time `json:"completed_at,omitempty"`
	// AwardedAt is when the payment.completed was processed; null before.
	AwardedAt *time.Time `json:"awarded_at,omitempty"`
	// Moves are the payment's award and revocations, oldest first.
	Moves []Move `json:"moves"`
}

// Move is one change of a user's balance: an award (positive) or a
// revocation (negative).
type Move struct {
	User      string `json:"user"`
	PaymentID string `json:"payment_id"`
	// RefundID is the refund a revocation is for; empty for an award and
	// for refunds settled when their payment arrived after them.
	RefundID string    `json:"refund_id,omitempty"`
	Kind     string    `json:"kind"`
	Points   int64     `json:"points"`
	At       time.Time `json:"at"`
}

// PaymentList is the answer of GET /api/points.
type PaymentList struct {
	Points []Payment `json:"points"`
}

// Balance is one user's points.
type Balance struct {
	User string `json:"user"`
	// Points is the balance: Awarded minus Revoked.
	Points  int64 `json:"points"`
	Awarded int64 `json:"awarded"`
	Revoked int64 `json:"revoked"`
	// Payments counts the payments that earned (or could have earned)
	// points.
	Payments int `json:"payments"`
}

// BalanceList is the answer of GET /api/balances, by user.
type BalanceList struct {
	Balances []Balance `json:"balances"`
}

const paymentCols = `payment_id, user, amount, currency, merchant_category, multiplier, awarded, revoked,
	refunded_amount, completed_at, awarded_at`

// payments returns the payments matching the filter, newest award first,
// with their moves.
func (s *Server) payments(ctx context.Context, paymentID, user string, limit int) ([]Payment, error) {
	q := `SELECT ` + paymentCols + ` FROM payments`
	var args []any
	switch {
	case paymentID != "":
		q += ` WHERE payment_id = ?`
		args = append(args, paymentID)
	case user != "":
		q += ` WHERE user = ?`
		args = append(args, user)
	}
	q += ` ORDER BY awarded_at IS NULL, awarded_at DESC, payment_id LIMIT ?`
	args = append(args, limit)
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read payments: %w", err)
	}
	out := []Payment{}
	for rows.Next() {
		var p Payment
		var amount, completed, awarded sql.NullInt64
		if err := rows.Scan(&p.PaymentID, &p.User, &amount, &p.Currency, &p.MerchantCategory, &p.Multiplier,
			&p.Awarded, &p.Revoked, &p.RefundedAmount, &completed, &awarded); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read payments: %w", err)
		}
		if amount.Valid {
			a := amount.Int64
			p.Amount = &a
		}
		p.Points = p.Awarded - p.Revoked
		p.CompletedAt, p.AwardedAt = fromMicros(completed), fromMicros(awarded)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read payments: %w", err)
	}
	for i := range out {
		out[i].Moves, err = s.moves(ctx, `WHERE payment_id = ? ORDER BY id`, out[i].PaymentID)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// moves returns the moves a WHERE … ORDER BY … clause selects.
func (s *Server) moves(ctx context.Context, where string, args ...any) ([]Move, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT user, payment_id, refund_id, kind, points, at FROM moves `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read moves: %w", err)
	}
	defer rows.Close()
	out := []Move{}
	for rows.Next() {
		var m Move
		var at int64
		if err := rows.Scan(&m.User, &m.PaymentID, &m.RefundID, &m.Kind, &m.Points, &at); err != nil {
			return nil, fmt.Errorf("read moves: %w", err)
		}
		m.At = time.UnixMicro(at).UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

// balances returns every user's balance, by user.
func (s *Server) balances(ctx context.Context) ([]Balance, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT user, SUM(points),
			SUM(CASE WHEN kind = 'award' THEN points ELSE 0 END),
			-SUM(CASE WHEN kind = 'revoke' THEN points ELSE 0 END),
			COUNT(DISTINCT CASE WHEN kind = 'award' THEN payment_id END)
		FROM moves GROUP BY user ORDER BY user`)
	if err != nil {
		return nil, fmt.Errorf("read balances: %w", err)
	}
	defer rows.Close()
	out := []Balance{}
	for rows.Next() {
		var b Balance
		if err := rows.Scan(&b.User, &b.Points, &b.Awarded, &b.Revoked, &b.Payments); err != nil {
			return nil, fmt.Errorf("read balances: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
