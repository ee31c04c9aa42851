package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// Account kinds of the ledger.
const (
	accWallet   = "wallet"
	accMerchant = "merchant"
	accFunding  = "funding"
)

// fundingOwner owns the funding account: the world outside Renkei, from
// which top-ups come. Its balance is minus all money inside.
const fundingOwner = "system"

// leg is one side of a transfer before it is written.
type leg struct {
	accountID string
	amount    int64
}

// account returns the id of the (kind, owner, currency) account, creating
// it with a zero balance if it is new.
func (s *Store) account(ctx context.Context, t tx, kind, owner, currency string) (string, error) {
	// Nearly always it exists: one read, and no write that would wait on
	// a concurrent creator.
	var id string
	err := t.queryRow(ctx, `SELECT id FROM accounts WHERE kind = ? AND owner_id = ? AND currency = ?`,
		kind, owner, currency).Scan(&id)
	if err == nil {
		return id, nil
	} else if !isNoRows(err) {
		return "", fmt.Errorf("find %s account: %w", kind, err)
	}
	prefix := "acc_"
	if kind == accWallet {
		prefix = renkei.PrefixWallet
	}
	if _, err := t.exec(ctx, `INSERT INTO accounts (id, kind, owner_id, currency, balance, created_at)
		VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (kind, owner_id, currency) DO NOTHING`,
		s.ids.New(prefix), kind, owner, currency, micros(s.Now())); err != nil {
		return "", fmt.Errorf("create %s account: %w", kind, err)
	}
	if err := t.queryRow(ctx, `SELECT id FROM accounts WHERE kind = ? AND owner_id = ? AND currency = ?`,
		kind, owner, currency).Scan(&id); err != nil {
		return "", fmt.Errorf("find %s account: %w", kind, err)
	}
	return id, nil
}

func isWallet(accountID string) bool { return strings.HasPrefix(accountID, renkei.PrefixWallet) }

// errOverdraft means a wallet leg would take the balance below zero.
var errOverdraft = renkei.Declined(renkei.ReasonInsufficientBalance, "The wallet balance is too low for this payment.")

// transfer writes one balanced ledger transaction, in the commit
// pipeline: the legs must sum to zero. Each wallet leg is checked against
// the wallet's running balance in the batch (errOverdraft if it would go
// below zero, before anything is written); the transaction, the balance
// changes and the postings are staged with the request and written with
// the batch's COMMIT (see ledgerBatch.flush).
func (s *Store) transfer(ctx context.Context, t tx, kind, refID, counterparty, currency string, legs ...leg) error {
	var sum int64
	for _, l := range legs {
		sum += l.amount
	}
	if sum != 0 {
		return fmt.Errorf("unbalanced %s transaction for %s: legs sum to %d", kind, refID, sum)
	}
	r := ledgerOf(t)
	if r == nil {
		return fmt.Errorf("store: %s transaction for %s outside the commit pipeline", kind, refID)
	}
	for _, l := range legs {
		if l.amount >= 0 || !isWallet(l.accountID) {
			continue
		}
		b, err := r.balance(ctx, l.accountID)
		if err != nil {
			return err
		}
		if b+l.amount < 0 {
			return errOverdraft
		}
	}
	now := micros(s.Now())
	txnID := s.ids.New(renkei.PrefixTxn)
	r.later(stmt{q: insertTxn, args: []any{txnID, kind, refID, counterparty, now}})
	for _, l := range legs {
		r.stage.net[l.accountID] += l.amount
		r.stage.posts = append(r.stage.posts, posting{id: s.ids.New(renkei.PrefixPosting), txnID: txnID,
			accountID: l.accountID, amount: l.amount, currency: currency, at: now})
	}
	return nil
}

// insertEvent writes one event; a batch's events merge into one statement.
var insertEvent = rowsStmt(`INSERT INTO events (id, type, object_id, user_id, merchant_id, data, created_at) VALUES`,
	`(?, ?, ?, ?, ?, ?, ?)`, ``)

// event appends one immutable event in the caller's transaction.
func (s *Store) event(ctx context.Context, t tx, typ, objectID, userID, merchantID string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	// Nothing reads an event in the transaction that writes it, so it goes
	// with the COMMIT (no round trip of its own on PostgreSQL).
	t.later(stmt{q: insertEvent, args: []any{s.ids.New(renkei.PrefixEvent), typ, objectID, userID, merchantID, string(b), micros(s.Now())}})
	return nil
}

// ListEvents lists events, newest first.
func (s *Store) ListEvents(ctx context.Context, f renkei.EventFilter) ([]*renkei.Event, bool, error) {
	f.Page = f.Page.Normalize()
	q := `SELECT id, type, object_id, user_id, merchant_id, data, created_at FROM events WHERE 1=1`
	var args []any
	if f.ObjectID != "" {
		q += ` AND object_id = ?`
		args = append(args, f.ObjectID)
	}
	if f.Type != "" {
		q += ` AND type = ?`
		args = append(args, f.Type)
	}
	if f.Page.StartingAfter != "" {
		q += ` AND id < ?`
		args = append(args, f.Page.StartingAfter)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Page.Limit+1)
	r, err := s.eng.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	defer r.Close()
	var out []*renkei.Event
	for r.Next() {
		var (
			e    renkei.Event
			data string
			at   int64
		)
		if err := r.Scan(&e.ID, &e.Type, &e.ObjectID, &e.UserID, &e.MerchantID, &data, &at); err != nil {
			return nil, false, fmt.Errorf("scan event: %w", err)
		}
		e.Data = json.RawMessage(data)
		e.CreatedAt = fromMicros(at)
		out = append(out, &e)
	}
	if err := r.Err(); err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	out, more := trimPage(out, f.Page.Limit)
	return out, more, nil
}

// LedgerCheck is what CheckLedger found; a healthy ledger has no problems.
type LedgerCheck struct {
	Txns     int
	Postings int
	Problems []string
}

// CheckLedger verifies the ledger's invariants: every transaction's postings
// sum to zero, every account's balance equals the sum of its postings and
// the last posting's balance_after, and no wallet is below zero. Tests and
// `renkei` operators run it; it reads everything, so it is not for a hot path.
func (s *Store) CheckLedger(ctx context.Context) (*LedgerCheck, error) {
	c := &LedgerCheck{}
	if err := s.eng.queryRow(ctx, `SELECT COUNT(*) FROM txns`).Scan(&c.Txns); err != nil {
		return nil, err
	}
	if err := s.eng.queryRow(ctx, `SELECT COUNT(*) FROM postings`).Scan(&c.Postings); err != nil {
		return nil, err
	}
	checks := []struct{ name, q string }{
		{"unbalanced transaction", `SELECT txn_id || ' ' || currency || ' sums to ' || CAST(SUM(amount) AS TEXT) FROM postings GROUP BY txn_id, currency HAVING SUM(amount) <> 0`},
		{"balance differs from postings", `SELECT a.id || ' balance ' || CAST(a.balance AS TEXT) FROM accounts a
			WHERE a.balance <> COALESCE((SELECT SUM(p.amount) FROM postings p WHERE p.account_id = a.id), 0)`},
		{"negative wallet", `SELECT id FROM accounts WHERE kind = 'wallet' AND balance < 0`},
		{"over-refunded payment", `SELECT p.id FROM payments p WHERE p.amount_refunded <> COALESCE((SELECT SUM(r.amount) FROM refunds r WHERE r.payment_id = p.id), 0) OR p.amount_refunded > p.amount`},
		{"completed payment without ledger", `SELECT p.id FROM payments p WHERE p.status IN ('completed','partially_refunded','refunded')
			AND NOT EXISTS (SELECT 1 FROM txns t WHERE t.ref_id = p.id AND t.kind = 'payment')`},
		{"failed payment with ledger", `SELECT p.id FROM payments p WHERE p.status IN ('pending','failed','expired')
			AND EXISTS (SELECT 1 FROM txns t WHERE t.ref_id = p.id)`},
	}
	for _, ch := range checks {
		r, err := s.eng.query(ctx, ch.q)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", ch.name, err)
		}
		for r.Next() {
			var what string
			if err := r.Scan(&what); err != nil {
				r.Close()
				return nil, err
			}
			c.Problems = append(c.Problems, ch.name+": "+what)
		}
		err = r.Err()
		r.Close()
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// now is the injected clock at the precision the database keeps.
func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }
