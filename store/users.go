package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/renkei/renkei"
)

// Token prefixes tell a person what kind of secret they hold.
const (
	userTokenPrefix     = "rk_usr_"
	terminalTokenPrefix = "rk_ter_"
)

// HashToken is how tokens are kept: only their SHA-256. Tokens carry 256
// random bits, so a plain hash is enough (no password stretching needed).
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// CreateUser makes a wallet holder with an empty wallet in the default
// currency and returns the user's bearer token, which is shown only once.
func (s *Store) CreateUser(ctx context.Context, req renkei.CreateUser) (*renkei.User, string, error) {
	if err := req.Validate(); err != nil {
		return nil, "", err
	}
	token := renkei.RandomToken(s.Rand, userTokenPrefix, 32)
	u := &renkei.User{ID: s.ids.New(renkei.PrefixUser), Name: req.Name, CreatedAt: s.now()}
	err := s.inTx(ctx, func(t tx) error {
		if _, err := t.exec(ctx, `INSERT INTO users (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)`,
			u.ID, u.Name, HashToken(token), micros(u.CreatedAt)); err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		_, err := s.account(ctx, t, accWallet, u.ID, renkei.DefaultCurrency)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return u, token, nil
}

// RotateUserToken gives a user a new bearer token, shown once. Only the
// hash is kept, so the old token fails from the next call on.
func (s *Store) RotateUserToken(ctx context.Context, id string) (*renkei.User, string, error) {
	token := renkei.RandomToken(s.Rand, userTokenPrefix, 32)
	n, err := s.eng.exec(ctx, `UPDATE users SET token_hash = ? WHERE id = ?`, HashToken(token), id)
	if err != nil {
		return nil, "", fmt.Errorf("rotate token of user %s: %w", id, err)
	} else if n == 0 {
		return nil, "", renkei.Errorf(renkei.ENOTFOUND, "No user %s.", id)
	}
	u, err := s.FindUser(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return u, token, nil
}

// FindUser returns a user by id.
func (s *Store) FindUser(ctx context.Context, id string) (*renkei.User, error) {
	var (
		u  renkei.User
		at int64
	)
	err := s.eng.queryRow(ctx, `SELECT id, name, created_at, time_zone FROM users WHERE id = ?`, id).Scan(&u.ID, &u.Name, &at, &u.TimeZone)
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No user %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	u.CreatedAt = fromMicros(at)
	return &u, nil
}

// SetUserTimeZone stores the zone the user's pages show times in.
func (s *Store) SetUserTimeZone(ctx context.Context, userID, zone string) (*renkei.User, error) {
	if err := renkei.ValidateTimeZone(zone); err != nil {
		return nil, err
	}
	n, err := s.eng.exec(ctx, `UPDATE users SET time_zone = ? WHERE id = ?`, zone, userID)
	if err != nil {
		return nil, fmt.Errorf("set time zone of %s: %w", userID, err)
	} else if n == 0 {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No user %s.", userID)
	}
	return s.FindUser(ctx, userID)
}

// Wallets lists a user's wallets, one per currency.
func (s *Store) Wallets(ctx context.Context, userID string) ([]*renkei.Wallet, error) {
	if _, err := s.FindUser(ctx, userID); err != nil {
		return nil, err
	}
	r, err := s.eng.query(ctx, `SELECT id, owner_id, currency, balance, created_at FROM accounts
		WHERE kind = 'wallet' AND owner_id = ? ORDER BY currency`, userID)
	if err != nil {
		return nil, fmt.Errorf("list wallets: %w", err)
	}
	defer r.Close()
	var out []*renkei.Wallet
	for r.Next() {
		var (
			w  renkei.Wallet
			at int64
		)
		if err := r.Scan(&w.ID, &w.UserID, &w.Balance.Currency, &w.Balance.Amount, &at); err != nil {
			return nil, fmt.Errorf("scan wallet: %w", err)
		}
		w.CreatedAt = fromMicros(at)
		out = append(out, &w)
	}
	return out, r.Err()
}

func (s *Store) wallet(ctx context.Context, q querier, userID, currency string) (*renkei.Wallet, error) {
	var (
		w  renkei.Wallet
		at int64
	)
	err := q.queryRow(ctx, `SELECT id, owner_id, currency, balance, created_at FROM accounts
		WHERE kind = 'wallet' AND owner_id = ? AND currency = ?`, userID, currency).
		Scan(&w.ID, &w.UserID, &w.Balance.Currency, &w.Balance.Amount, &at)
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "The user has no %s wallet.", currency)
	} else if err != nil {
		return nil, fmt.Errorf("find wallet: %w", err)
	}
	w.CreatedAt = fromMicros(at)
	return &w, nil
}

// TopUp moves money from the outside world into a user's wallet; the
// wallet for that currency is opened if it is new.
func (s *Store) TopUp(ctx context.Context, req renkei.TopUp) (*renkei.Wallet, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.FindUser(ctx, req.UserID); err != nil {
		return nil, err
	}
	return write(ctx, s, func(t tx) (*renkei.Wallet, error) {
		wid, err := s.account(ctx, t, accWallet, req.UserID, req.Currency)
		if err != nil {
			return nil, err
		}
		fid, err := s.account(ctx, t, accFunding, fundingOwner, req.Currency)
		if err != nil {
			return nil, err
		}
		if err := s.transfer(ctx, t, "topup", wid, "", req.Currency,
			leg{fid, -req.Amount}, leg{wid, req.Amount}); err != nil {
			return nil, err
		}
		w, err := s.wallet(ctx, t, req.UserID, req.Currency)
		if err != nil {
			return nil, err
		}
		if r := ledgerOf(t); r != nil {
			// The pipeline moves balances at the end of its batch.
			if w.Balance.Amount, err = r.balance(ctx, w.ID); err != nil {
				return nil, err
			}
		}
		return w, s.event(ctx, t, renkei.EventWalletToppedUp, w.ID, req.UserID, "", map[string]any{
			"wallet": w, "amount": req.Amount, "currency": req.Currency})
	})
}

// History lists the postings on a user's wallets, newest first.
func (s *Store) History(ctx context.Context, userID string, page renkei.Page) ([]*renkei.Entry, bool, error) {
	page = page.Normalize()
	q := `SELECT p.id, t.kind, t.ref_id, p.amount, p.currency, p.balance_after, p.created_at, t.counterparty
		FROM postings p JOIN accounts a ON a.id = p.account_id JOIN txns t ON t.id = p.txn_id
		WHERE a.kind = 'wallet' AND a.owner_id = ?`
	args := []any{userID}
	if page.StartingAfter != "" {
		q += ` AND p.id < ?`
		args = append(args, page.StartingAfter)
	}
	q += ` ORDER BY p.id DESC LIMIT ?`
	args = append(args, page.Limit+1)
	r, err := s.eng.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("history: %w", err)
	}
	defer r.Close()
	var out []*renkei.Entry
	for r.Next() {
		var (
			e  renkei.Entry
			at int64
		)
		if err := r.Scan(&e.ID, &e.Kind, &e.RefID, &e.Amount.Amount, &e.Amount.Currency, &e.Balance, &at, &e.Counterparty); err != nil {
			return nil, false, fmt.Errorf("scan entry: %w", err)
		}
		e.CreatedAt = fromMicros(at)
		out = append(out, &e)
	}
	if err := r.Err(); err != nil {
		return nil, false, err
	}
	out, more := trimPage(out, page.Limit)
	return out, more, nil
}

// Authenticate resolves a bearer token: the admin key, a user token or a
// shop terminal's API key.
func (s *Store) Authenticate(ctx context.Context, token string) (*renkei.Principal, error) {
	unauth := renkei.Errorf(renkei.EUNAUTHORIZED, "The bearer token is not valid.")
	if token == "" || len(token) > 200 {
		return nil, unauth
	}
	h := HashToken(token)
	if s.AdminKeyHash != "" && subtle.ConstantTimeCompare([]byte(h), []byte(s.AdminKeyHash)) == 1 {
		return &renkei.Principal{Kind: renkei.KindAdmin, ID: "admin"}, nil
	}
	switch {
	case len(token) > len(userTokenPrefix) && token[:len(userTokenPrefix)] == userTokenPrefix:
		var id string
		err := s.eng.queryRow(ctx, `SELECT id FROM users WHERE token_hash = ?`, h).Scan(&id)
		if isNoRows(err) {
			return nil, unauth
		} else if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		return &renkei.Principal{Kind: renkei.KindUser, ID: id}, nil
	case len(token) > len(terminalTokenPrefix) && token[:len(terminalTokenPrefix)] == terminalTokenPrefix:
		var id, mid string
		err := s.eng.queryRow(ctx, `SELECT id, merchant_id FROM terminals WHERE key_hash = ?`, h).Scan(&id, &mid)
		if isNoRows(err) {
			return nil, unauth
		} else if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		return &renkei.Principal{Kind: renkei.KindTerminal, ID: id, MerchantID: mid}, nil
	case strings.HasPrefix(token, partnerTokenPrefix):
		var id string
		err := s.eng.queryRow(ctx, `SELECT id FROM related_services WHERE key_hash = ?`, h).Scan(&id)
		if isNoRows(err) {
			return nil, unauth
		} else if err != nil {
			return nil, fmt.Errorf("authenticate: %w", err)
		}
		return &renkei.Principal{Kind: renkei.KindPartner, ID: id}, nil
	}
	return nil, unauth
}

// EndLogin records a browser login as ended (a logout) until expires,
// when its cookie is refused anyway. Ending it twice is not an error.
func (s *Store) EndLogin(ctx context.Context, id string, expires time.Time) error {
	if id == "" {
		return renkei.Invalid("id", "A login id is required.")
	}
	return s.inTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `INSERT INTO ended_logins (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, micros(expires))
		if err != nil {
			return fmt.Errorf("end login: %w", err)
		}
		return nil
	})
}

// LoginEnded says whether the browser login with this id was ended.
func (s *Store) LoginEnded(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.eng.queryRow(ctx, `SELECT COUNT(*) FROM ended_logins WHERE id = ?`, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check login: %w", err)
	}
	return n > 0, nil
}

// PurgeEndedLogins forgets ended logins whose cookies have expired.
func (s *Store) PurgeEndedLogins(ctx context.Context) (int64, error) {
	return s.eng.exec(ctx, `DELETE FROM ended_logins WHERE expires_at < ?`, micros(s.Now()))
}
