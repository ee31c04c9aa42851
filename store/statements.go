package store

import (
	"context"
	"fmt"
	"time"

	"github.com/renkei/renkei"
)

// StatementRun is what one run of the statement feed did.
type StatementRun struct {
	Statements int // statements closed (a merchant gets one per batch)
	Lines      int // payments stated
	Messages   int // statement.line messages queued
}

// RunStatements closes, for every merchant, a statement over its completed
// payments not yet stated (claim 9: the payee side's later, batched record
// of the same payments), and queues a statement.line message, carrying the
// same payment_id as the real-time message, to every enabled service that
// wants the statement feed and that the paying user consented to give
// statement data (see statementRecipients).
// A payment is stated once: the marking UPDATE only takes unstated rows, so
// two nodes running the feed at the same time split the work.
//
// A merchant's payments are stated in batches of at most StatementBatch,
// one statement and one transaction each, so a merchant with a million
// payments never holds the writer (or a million row locks) in one
// transaction. A batch commits whole or not at all; a run that stops
// between batches (a crash, a canceled context) leaves the rest unstated,
// and the next run takes them.
func (s *Store) RunStatements(ctx context.Context) (StatementRun, error) {
	var run StatementRun
	cutoff := s.now()
	r, err := s.eng.query(ctx, `SELECT DISTINCT merchant_id FROM payments
		WHERE statement_id = '' AND status IN ('completed', 'partially_refunded', 'refunded') ORDER BY merchant_id`)
	if err != nil {
		return run, fmt.Errorf("find merchants to state: %w", err)
	}
	var merchants []string
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			r.Close()
			return run, err
		}
		merchants = append(merchants, id)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return run, err
	}
	batch := s.StatementBatch
	if batch <= 0 {
		batch = DefaultStatementBatch
	}
	for _, mid := range merchants {
		for {
			before := run.Lines
			err := s.inTx(ctx, func(t tx) error { return s.state(ctx, t, mid, cutoff, batch, &run) })
			if err != nil {
				return run, fmt.Errorf("statement of %s: %w", mid, err)
			}
			if run.Lines-before < batch {
				break // the last batch (or another node took the rest)
			}
		}
	}
	return run, nil
}

// DefaultStatementBatch is how many payments one statement takes when
// Store.StatementBatch is not set: enough that a daily run is a few
// transactions per merchant, few enough that each is short.
const DefaultStatementBatch = 500

// state closes one statement of a merchant over at most batch of its
// unstated payments, the earliest completed first, and queues its lines;
// run counts what it did.
func (s *Store) state(ctx context.Context, t tx, merchantID string, cutoff time.Time, batch int, run *StatementRun) error {
	stmtID := s.ids.New(renkei.PrefixStatement)
	// The outer statement_id = '' is what takes a payment once: a
	// concurrent run that chose the same rows finds them taken when it
	// gets their locks, and leaves them.
	n, err := t.exec(ctx, `UPDATE payments SET statement_id = ? WHERE statement_id = '' AND id IN (
			SELECT id FROM payments WHERE merchant_id = ? AND statement_id = ''
			AND status IN ('completed', 'partially_refunded', 'refunded') AND completed_at > 0 AND completed_at <= ?
			ORDER BY completed_at, id LIMIT ?)`, stmtID, merchantID, micros(cutoff), batch)
	if err != nil {
		return fmt.Errorf("mark stated payments: %w", err)
	}
	if n == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `INSERT INTO statements (id, merchant_id, period_end, lines, created_at) VALUES (?, ?, ?, ?, ?)`,
		stmtID, merchantID, micros(cutoff), n, micros(s.now())); err != nil {
		return fmt.Errorf("insert statement: %w", err)
	}
	run.Statements++
	run.Lines += int(n)
	r, err := t.query(ctx, paymentSelect+` WHERE p.statement_id = ? ORDER BY p.id`, stmtID)
	if err != nil {
		return err
	}
	var payments []*renkei.Payment
	for r.Next() {
		p, err := scanPayment(r)
		if err != nil {
			r.Close()
			return err
		}
		payments = append(payments, p)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return err
	}
	for _, p := range payments {
		svcs, err := s.statementRecipients(ctx, t, p)
		if err != nil {
			return err
		}
		for _, rs := range svcs {
			if _, err := s.enqueue(ctx, t, rs, p, renkei.EventStatementLine, renkei.SourceStatement, extra{statementID: stmtID}); err != nil {
				return err
			}
			run.Messages++
		}
	}
	return nil
}

// statementRecipients are the services a payment's statement line goes
// to: enabled, wanting the feed, and covered by a consent of the user to
// statement data: an active link with its statement feed on, or a tap
// that sent this very payment to the service (its line lets the service
// reconcile the payment, and no other) and that no unlink has ended since.
func (s *Store) statementRecipients(ctx context.Context, t tx, p *renkei.Payment) ([]*renkei.RelatedService, error) {
	svcs, err := s.services(ctx, t, `SELECT `+rServiceCols+` FROM related_services r WHERE r.enabled = 1 AND (
			EXISTS (SELECT 1 FROM links l WHERE l.user_id = ? AND l.service_id = r.id AND l.status = 'active' AND l.statement = 1)
			OR EXISTS (SELECT 1 FROM deliveries d WHERE d.payment_id = ? AND d.service_id = r.id AND d.source = 'selection'
				AND d.type = 'payment.completed' AND d.status <> 'canceled'
				AND NOT EXISTS (SELECT 1 FROM links x WHERE x.user_id = d.user_id AND x.service_id = r.id AND x.status = 'revoked'
					AND x.revoked_at >= d.created_at)))
		ORDER BY r.id`, p.UserID, p.ID)
	if err != nil {
		return nil, err
	}
	out := svcs[:0]
	for _, rs := range svcs {
		if rs.Policy.WantsStatement {
			out = append(out, rs)
		}
	}
	return out, nil
}
