package kakeibo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/renkei/renkei/partner"
)

// Sources: how an entry was first booked (Entry.Source).
const (
	// SourceRealtime: from Renkei's real-time message (payment.completed,
	// or payment.refunded for a reversal), the moment the user paid.
	SourceRealtime = "realtime"
	// SourceStatement: from the payee's statement feed (statement.line),
	// because no real-time message had come for the payment.
	SourceStatement = "statement"
)

// The callbacks below run inside partner.Handler: they are called once
// per message id, and each books its message and marks the id done in one
// transaction (RunTx). An error rolls both back and makes the Handler
// answer 500, so Renkei retries.

// onPaymentCompleted books a payment with the user's memo and category.
func (s *Server) onPaymentCompleted(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
	return s.Dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
		if err := bookPayment(ctx, tx, ev.ID, p, s.Now()); err != nil {
			return fmt.Errorf("book payment %s: %w", p.PaymentID, err)
		}
		return nil
	})
}

// onStatementLine reconciles a statement line with the book.
func (s *Server) onStatementLine(ctx context.Context, ev *partner.Event, l *partner.StatementLine) error {
	return s.Dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
		if err := reconcile(ctx, tx, ev.ID, l, s.Now()); err != nil {
			return fmt.Errorf("reconcile statement line of %s: %w", l.PaymentID, err)
		}
		return nil
	})
}

// onPaymentRefunded books the reversal of a refund.
func (s *Server) onPaymentRefunded(ctx context.Context, ev *partner.Event, r *partner.PaymentRefunded) error {
	return s.Dedup.RunTx(ctx, ev.ID, func(tx *sql.Tx) error {
		if err := bookReversal(ctx, tx, ev.ID, r, s.Now()); err != nil {
			return fmt.Errorf("book refund %s of %s: %w", r.RefundID, r.PaymentID, err)
		}
		return nil
	})
}

// paymentEntry is what the reconciliation needs of a payment's entry.
type paymentEntry struct {
	id          int64
	realtimeAt  sql.NullInt64
	statementAt sql.NullInt64
}

// findPayment returns the payment's entry, or nil if it has none yet.
func findPayment(ctx context.Context, tx *sql.Tx, paymentID string) (*paymentEntry, error) {
	var e paymentEntry
	err := tx.QueryRowContext(ctx, `SELECT id, realtime_at, statement_at FROM entries
		WHERE payment_id = ? AND refund_id = ''`, paymentID).Scan(&e.id, &e.realtimeAt, &e.statementAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// merchantOf returns the merchant's name and category, empty where the
// service's scopes leave them out.
func merchantOf(p *partner.PaymentInfo) (name, category string) {
	if p.Merchant == nil {
		return "", ""
	}
	return p.Merchant.Name, p.Merchant.Category
}

// bookPayment books a payment from its real-time message. If the
// statement line came first (a real-time message held up by retries), the
// entry exists already: it gains the memo and category and is confirmed.
// A second real-time message for a booked payment changes nothing.
func bookPayment(ctx context.Context, tx *sql.Tx, msgID string, p *partner.PaymentCompleted, now time.Time) error {
	var memo, category string
	if p.Input != nil {
		memo, category = p.Input.Memo, p.Input.Category
	}
	merchant, mcat := merchantOf(&p.PaymentInfo)
	e, err := findPayment(ctx, tx, p.PaymentID)
	if err != nil {
		return err
	}
	switch {
	case e == nil:
		booked := now
		if p.CompletedAt != nil {
			booked = *p.CompletedAt
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO entries (payment_id, user, amount, currency, merchant, merchant_category,
			memo, category, source, completed_at, booked_at, received_at, realtime_at, message_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.PaymentID, p.User, nullInt(p.Amount), p.Currency, merchant, mcat,
			memo, category, SourceRealtime, nullTime(p.CompletedAt), micros(booked), micros(now), micros(now), msgID)
	case e.realtimeAt.Valid:
		return nil // booked by an earlier real-time message
	default:
		// A memo edit that came in meanwhile is newer than the input of
		// the tap: it stays.
		_, err = tx.ExecContext(ctx, `UPDATE entries SET realtime_at = ?, confirmed_at = ?,
			merchant = CASE WHEN merchant = '' THEN ? ELSE merchant END,
			memo = CASE WHEN EXISTS (SELECT 1 FROM memo_edits m WHERE m.payment_id = entries.payment_id) THEN memo ELSE ? END,
			category = CASE WHEN EXISTS (SELECT 1 FROM memo_edits m WHERE m.payment_id = entries.payment_id) THEN category ELSE ? END
			WHERE id = ?`, micros(now), micros(now), merchant, memo, category, e.id)
	}
	if err != nil {
		return err
	}
	// A reversal booked before its payment takes the payment's category,
	// so that the category's total nets out.
	_, err = tx.ExecContext(ctx, `UPDATE entries SET category = ? WHERE payment_id = ? AND refund_id <> '' AND category = ''`,
		category, p.PaymentID)
	return err
}

// reconcile books a statement line: it confirms the payment's entry if
// there is one (keeping its memo), or books the payment from the statement
// without a memo. A later line for the same payment changes nothing.
func reconcile(ctx context.Context, tx *sql.Tx, msgID string, l *partner.StatementLine, now time.Time) error {
	e, err := findPayment(ctx, tx, l.PaymentID)
	if err != nil {
		return err
	}
	switch {
	case e == nil:
		merchant, mcat := merchantOf(&l.PaymentInfo)
		booked := now
		if l.CompletedAt != nil {
			booked = *l.CompletedAt
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO entries (payment_id, user, amount, currency, merchant, merchant_category,
			source, completed_at, booked_at, received_at, statement_at, statement_id, message_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.PaymentID, l.User, nullInt(l.Amount), l.Currency, merchant, mcat,
			SourceStatement, nullTime(l.CompletedAt), micros(booked), micros(now), micros(now), l.StatementID, msgID)
	case e.statementAt.Valid:
		return nil // stated before
	default:
		_, err = tx.ExecContext(ctx, `UPDATE entries SET statement_at = ?, statement_id = ?, confirmed_at = ? WHERE id = ?`,
			micros(now), l.StatementID, micros(now), e.id)
	}
	return err
}

// bookReversal books a refund as a negative entry of the refunded amount,
// in the payment's category. A refund booked before is left alone.
func bookReversal(ctx context.Context, tx *sql.Tx, msgID string, r *partner.PaymentRefunded, now time.Time) error {
	var category string
	err := tx.QueryRowContext(ctx, `SELECT category FROM entries WHERE payment_id = ? AND refund_id = ''`,
		r.PaymentID).Scan(&category)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	var amount *int64
	if r.Amount != nil {
		neg := -*r.Amount
		amount = &neg
	}
	merchant, mcat := merchantOf(&r.PaymentInfo)
	booked := now
	if r.RefundedAt != nil {
		booked = *r.RefundedAt
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO entries (payment_id, refund_id, user, amount, currency, merchant, merchant_category,
		category, source, completed_at, booked_at, received_at, realtime_at, message_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`,
		r.PaymentID, r.RefundID, r.User, nullInt(amount), r.Currency, merchant, mcat,
		category, SourceRealtime, nullTime(r.RefundedAt), micros(booked), micros(now), micros(now), msgID)
	return err
}
