package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/renkei/renkei"
)

// Result kinds stored with an idempotency key.
const (
	resultOK       = "ok"
	resultDeclined = "declined"
)

// storedError is a declined call's error as kept for replay.
type storedError struct {
	Code      string            `json:"code"`
	Reason    string            `json:"reason"`
	Message   string            `json:"message"`
	PaymentID string            `json:"payment_id"`
	Params    map[string]string `json:"params,omitempty"`
}

// errClaimed stops a request whose idempotency key another request holds.
var errClaimed = errors.New("store: idempotency key already claimed")

// storeIdemResult stores a request's result in its claimed key row.
var storeIdemResult = rowsStmt(`INSERT INTO idempotency_keys (scope, idem_key, request_hash, created_at, result_kind, result) VALUES`,
	`(?, ?, ?, ?, ?, ?)`, `ON CONFLICT (scope, idem_key) DO UPDATE SET result_kind = excluded.result_kind, result = excluded.result`)

// write runs fn in a write transaction, through the commit pipeline.
// Under an idempotency key (from ctx) the key's row is inserted first in
// the same transaction and the result is stored in it before the commit:
// the effect and its record commit together, a concurrent call with the
// same key waits on the row (PostgreSQL), on the writer lock (SQLite) or
// finds it in its own batch, and replays once that has committed.
//
// A declined payment is a result too: its failed payment row commits and a
// retry gets the same decline. Any other error rolls back everything,
// including the key, so the call can be retried with the same key.
func write[T any](ctx context.Context, s *Store, fn func(tx) (T, error)) (T, error) {
	var (
		zero      T
		res       T
		replayed  bool
		claimedAt int64
	)
	idem := renkei.IdempotencyFromContext(ctx)
	err := s.pipe.do(ctx, func(t *reqTx) (bool, error) {
		res, replayed = zero, false // the pipeline may run this again
		if idem != nil {
			// The key's row is claimed first, in the round trip of the
			// request's first statement. If someone has it before us, the
			// request stops there (errClaimed) and, once our batch (which
			// may hold it) has committed, answers with their result.
			claimedAt = micros(s.Now())
			var claimErr error
			claim := stmt{q: `INSERT INTO idempotency_keys (scope, idem_key, request_hash, created_at)
				VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING idem_key`,
				args: []any{idem.Scope, idem.Key, idem.RequestHash, claimedAt},
				scan: func(r row) error {
					var k string
					if err := r.Scan(&k); isNoRows(err) {
						claimErr = errClaimed
					} else if err != nil {
						claimErr = fmt.Errorf("claim idempotency key: %w", err)
					}
					return nil
				}}
			t.ahead(func() error { return claimErr }, claim)
		}
		r, err := fn(t)
		var derr *renkei.Error
		declined := errors.As(err, &derr) && derr.Code == renkei.EDECLINED && derr.PaymentID != ""
		if idem != nil && (err == nil || declined) {
			// A request that ran no statement has not sent its claim yet:
			// it must hold the key before its result is stored.
			if cerr := t.sendAhead(ctx); cerr != nil {
				err, declined = cerr, false
			}
		}
		if errors.Is(err, errClaimed) {
			// Whatever ran with the claim is rolled back (the request's
			// savepoint); once the batch, which may hold the key, has
			// committed, the holder's result is the answer.
			replayed = true
			return false, errClaimed
		}
		if err != nil && !declined {
			return false, err
		}
		if idem != nil {
			kind, body := resultOK, []byte(nil)
			if declined {
				kind = resultDeclined
				body, _ = json.Marshal(storedError{derr.Code, derr.Reason, derr.Message, derr.PaymentID, derr.Params})
			} else if body, err = json.Marshal(r); err != nil {
				return false, fmt.Errorf("encode idempotent result: %w", err)
			}
			// The claimed row exists: this upsert only sets its result,
			// merged with the batch's other results into one statement.
			t.later(stmt{q: storeIdemResult, args: []any{idem.Scope, idem.Key, idem.RequestHash, claimedAt, kind, string(body)}})
		}
		res = r
		return true, err
	})
	if replayed && (err == nil || errors.Is(err, errClaimed)) {
		return replay[T](ctx, s, idem)
	}
	if err != nil {
		return zero, err
	}
	return res, nil
}

func replay[T any](ctx context.Context, s *Store, idem *renkei.Idempotency) (T, error) {
	var (
		zero             T
		hash, kind, body string
	)
	err := s.eng.queryRow(ctx, `SELECT request_hash, result_kind, result FROM idempotency_keys WHERE scope = ? AND idem_key = ?`,
		idem.Scope, idem.Key).Scan(&hash, &kind, &body)
	if isNoRows(err) {
		// The holder rolled back between our insert and this read: rare,
		// and safe to ask the client to retry.
		return zero, renkei.Errorf(renkei.ECONFLICT, "A request with this Idempotency-Key was in progress; retry it.")
	} else if err != nil {
		return zero, fmt.Errorf("read idempotency key: %w", err)
	}
	if hash != idem.RequestHash {
		return zero, &renkei.Error{Code: renkei.ECONFLICT, Reason: renkei.ReasonIdempotencyKeyReused,
			Message: "This Idempotency-Key was already used with different parameters (another path or body). Use a new key for a new request."}
	}
	idem.Replayed = true
	switch kind {
	case resultOK:
		var res T
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			return zero, fmt.Errorf("decode idempotent result: %w", err)
		}
		return res, nil
	case resultDeclined:
		var se storedError
		if err := json.Unmarshal([]byte(body), &se); err != nil {
			return zero, fmt.Errorf("decode idempotent result: %w", err)
		}
		return zero, &renkei.Error{Code: se.Code, Reason: se.Reason, Message: se.Message, PaymentID: se.PaymentID, Params: se.Params}
	}
	return zero, fmt.Errorf("idempotency key %s has no result", idem.Key)
}

// PurgeIdempotencyKeys deletes keys older than renkei.IdempotencyTTL.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	cutoff := micros(s.Now().Add(-renkei.IdempotencyTTL))
	return s.eng.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, cutoff)
}
