package store

import (
	"context"
	"fmt"

	"github.com/renkei/renkei"
)

// CreateMerchant registers a merchant.
func (s *Store) CreateMerchant(ctx context.Context, req renkei.CreateMerchant) (*renkei.Merchant, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	m := &renkei.Merchant{ID: s.ids.New(renkei.PrefixMerchant), Name: req.Name, MCC: req.MCC,
		Status: renkei.MerchantActive, CreatedAt: s.now()}
	m.Category, _ = renkei.MCCCategory(m.MCC)
	if _, err := s.eng.exec(ctx, `INSERT INTO merchants (id, name, mcc, status, created_at) VALUES (?, ?, ?, ?, ?)`,
		m.ID, m.Name, m.MCC, m.Status, micros(m.CreatedAt)); err != nil {
		return nil, fmt.Errorf("insert merchant: %w", err)
	}
	return m, nil
}

const merchantCols = `id, name, mcc, status, created_at`

func scanMerchant(r row, extra ...any) (*renkei.Merchant, error) {
	var (
		m  renkei.Merchant
		at int64
	)
	if err := r.Scan(append([]any{&m.ID, &m.Name, &m.MCC, &m.Status, &at}, extra...)...); err != nil {
		return nil, err
	}
	m.CreatedAt = fromMicros(at)
	m.Category, _ = renkei.MCCCategory(m.MCC)
	return &m, nil
}

// FindMerchant returns a merchant by id.
func (s *Store) FindMerchant(ctx context.Context, id string) (*renkei.Merchant, error) {
	return s.findMerchant(ctx, s.eng, id)
}

func (s *Store) findMerchant(ctx context.Context, q querier, id string) (*renkei.Merchant, error) {
	m, err := scanMerchant(q.queryRow(ctx, `SELECT `+merchantCols+` FROM merchants WHERE id = ?`, id))
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No merchant %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find merchant %s: %w", id, err)
	}
	return m, nil
}

// ListMerchants lists merchants, newest first.
func (s *Store) ListMerchants(ctx context.Context, page renkei.Page) ([]*renkei.Merchant, bool, error) {
	page = page.Normalize()
	q := `SELECT ` + merchantCols + ` FROM merchants`
	var args []any
	if page.StartingAfter != "" {
		q += ` WHERE id < ?`
		args = append(args, page.StartingAfter)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, page.Limit+1)
	r, err := s.eng.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list merchants: %w", err)
	}
	defer r.Close()
	var out []*renkei.Merchant
	for r.Next() {
		m, err := scanMerchant(r)
		if err != nil {
			return nil, false, fmt.Errorf("scan merchant: %w", err)
		}
		out = append(out, m)
	}
	if err := r.Err(); err != nil {
		return nil, false, err
	}
	out, more := trimPage(out, page.Limit)
	return out, more, nil
}

// SetMerchantStatus enables or disables a merchant. A disabled merchant's
// terminals can no longer take payments.
func (s *Store) SetMerchantStatus(ctx context.Context, id, status string) (*renkei.Merchant, error) {
	if status != renkei.MerchantActive && status != renkei.MerchantDisabled {
		return nil, renkei.Invalid("body.status", "The status must be %q or %q.", renkei.MerchantActive, renkei.MerchantDisabled)
	}
	n, err := s.eng.exec(ctx, `UPDATE merchants SET status = ? WHERE id = ?`, status, id)
	if err != nil {
		return nil, fmt.Errorf("set merchant status: %w", err)
	} else if n == 0 {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No merchant %s.", id)
	}
	return s.FindMerchant(ctx, id)
}

// CreateTerminal adds a shop terminal and returns its API key, shown once.
func (s *Store) CreateTerminal(ctx context.Context, req renkei.CreateTerminal) (*renkei.Terminal, string, error) {
	if err := req.Validate(); err != nil {
		return nil, "", err
	}
	if _, err := s.FindMerchant(ctx, req.MerchantID); err != nil {
		return nil, "", err
	}
	key := renkei.RandomToken(s.Rand, terminalTokenPrefix, 32)
	t := &renkei.Terminal{ID: s.ids.New(renkei.PrefixTerminal), MerchantID: req.MerchantID, Name: req.Name, CreatedAt: s.now()}
	if _, err := s.eng.exec(ctx, `INSERT INTO terminals (id, merchant_id, name, key_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		t.ID, t.MerchantID, t.Name, HashToken(key), micros(t.CreatedAt)); err != nil {
		return nil, "", fmt.Errorf("insert terminal: %w", err)
	}
	return t, key, nil
}

// RotateTerminalKey gives a terminal a new API key, shown once. Only the
// hash is kept, so the old key fails from the next call on.
func (s *Store) RotateTerminalKey(ctx context.Context, id string) (*renkei.Terminal, string, error) {
	key := renkei.RandomToken(s.Rand, terminalTokenPrefix, 32)
	n, err := s.eng.exec(ctx, `UPDATE terminals SET key_hash = ? WHERE id = ?`, HashToken(key), id)
	if err != nil {
		return nil, "", fmt.Errorf("rotate key of terminal %s: %w", id, err)
	} else if n == 0 {
		return nil, "", renkei.Errorf(renkei.ENOTFOUND, "No terminal %s.", id)
	}
	var (
		t  renkei.Terminal
		at int64
	)
	if err := s.eng.queryRow(ctx, `SELECT id, merchant_id, name, created_at FROM terminals WHERE id = ?`, id).
		Scan(&t.ID, &t.MerchantID, &t.Name, &at); err != nil {
		return nil, "", fmt.Errorf("read terminal %s: %w", id, err)
	}
	t.CreatedAt = fromMicros(at)
	return &t, key, nil
}

// Terminals lists a merchant's terminals.
func (s *Store) Terminals(ctx context.Context, merchantID string) ([]*renkei.Terminal, error) {
	r, err := s.eng.query(ctx, `SELECT id, merchant_id, name, created_at FROM terminals WHERE merchant_id = ? ORDER BY id`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list terminals: %w", err)
	}
	defer r.Close()
	var out []*renkei.Terminal
	for r.Next() {
		var (
			t  renkei.Terminal
			at int64
		)
		if err := r.Scan(&t.ID, &t.MerchantID, &t.Name, &at); err != nil {
			return nil, err
		}
		t.CreatedAt = fromMicros(at)
		out = append(out, &t)
	}
	return out, r.Err()
}
