package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/renkei/renkei"
)

// NewPayCode issues a one-time pay code for the user's wallet in currency.
// Only its hash is stored: a database reader cannot pay with it.
func (s *Store) NewPayCode(ctx context.Context, userID, currency string) (*renkei.PayCode, error) {
	if currency == "" {
		currency = renkei.DefaultCurrency
	}
	if _, ok := renkei.CurrencyInfo(currency); !ok {
		return nil, renkei.Invalid("currency", "%q is not an ISO 4217 currency code.", currency)
	}
	now := s.now()
	pc := &renkei.PayCode{ExpiresAt: now.Add(renkei.PayCodeTTL), Currency: currency}
	for attempt := 0; ; attempt++ {
		code, err := s.PayCode(s.Rand)
		if err != nil {
			return nil, fmt.Errorf("make pay code: %w", err)
		}
		// Through the commit pipeline like every write. A code is only for
		// a wallet the user has: the check is part of the INSERT, one
		// statement instead of a read and a write.
		var n int64
		err = s.inTx(ctx, func(t tx) error {
			var err error
			n, err = t.exec(ctx, `INSERT INTO pay_codes (code_hash, user_id, currency, created_at, expires_at)
				SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM accounts WHERE kind = 'wallet' AND owner_id = ? AND currency = ?)`,
				HashToken(code), userID, currency, micros(now), micros(pc.ExpiresAt), userID, currency)
			return err
		})
		if err == nil && n == 0 {
			return nil, renkei.Errorf(renkei.ENOTFOUND, "The user has no %s wallet.", currency)
		} else if err == nil {
			pc.Code = code
			return pc, nil
		} else if !s.eng.isUnique(err) || attempt == 3 {
			return nil, fmt.Errorf("store pay code: %w", err)
		}
	}
}

// ReasonUnknownPayCode marks a charge with a code that was never issued;
// the HTTP layer counts these to slow down guessing.
const ReasonUnknownPayCode = renkei.ReasonUnknownPayCode

// ChargeCode is the consumer-presented flow: the terminal submits the code
// the user shows, and the payment completes or is declined at once.
func (s *Store) ChargeCode(ctx context.Context, req renkei.ChargeCode) (*renkei.Payment, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	code, err := s.ParsePayCode(req.Code)
	if err != nil {
		return nil, renkei.Invalid("body.code", "%s", err.Error())
	}
	return write(ctx, s, func(t tx) (*renkei.Payment, error) {
		// Two reads, in one round trip (with the idempotency claim), find
		// everything the charge needs: the terminal's merchant with its
		// account in the charge's currency, and the code with the wallet
		// it pays from.
		var (
			userID, currency string
			expires, used    int64
			walletAcc        *string
			walletBal        *int64
			codeErr          error
		)
		hash := HashToken(code)
		mr, readM := readMerchant(req.TerminalID, req.Currency)
		readCode := stmt{q: `SELECT c.user_id, c.currency, c.expires_at, c.used_at, w.id, w.balance FROM pay_codes c
			LEFT JOIN accounts w ON w.kind = 'wallet' AND w.owner_id = c.user_id AND w.currency = c.currency
			WHERE c.code_hash = ?`, args: []any{hash},
			scan: func(r row) error {
				codeErr = r.Scan(&userID, &currency, &expires, &used, &walletAcc, &walletBal)
				return nil
			}}
		if berr := t.batch(ctx, readM, readCode); berr != nil {
			return nil, berr
		}
		m, merchantAcc, merr := mr.result()
		if merr != nil {
			return nil, merr
		}
		if isNoRows(codeErr) {
			e := renkei.Invalid("body.code", "This pay code is not valid. Ask the customer to show a fresh code.")
			e.Reason = ReasonUnknownPayCode
			return nil, e
		} else if codeErr != nil {
			return nil, fmt.Errorf("find pay code: %w", codeErr)
		}
		wallet := "" // none in the code's currency
		if walletAcc != nil && walletBal != nil {
			wallet = *walletAcc
			noteWalletBalance(t, wallet, *walletBal)
		}
		now := s.now()
		switch {
		case used != 0:
			return nil, renkei.Declined(renkei.ReasonCodeUsed, "This pay code was already used. Ask the customer to show a fresh code.")
		case micros(now) >= expires:
			return nil, renkei.Declined(renkei.ReasonCodeExpired, "This pay code has expired. Ask the customer to show a fresh code.")
		}
		p := &renkei.Payment{
			ID: s.ids.New(renkei.PrefixPayment), Amount: req.Amount, Currency: req.Currency,
			Flow: renkei.FlowConsumerPresented, Method: renkei.MethodWalletBalance, UserID: userID,
			Merchant: party(m), TerminalID: req.TerminalID, CreatedAt: now,
		}
		var failure *renkei.Error
		if currency != req.Currency {
			failure = renkei.Declined(renkei.ReasonCurrencyMismatch,
				"The customer's code pays in %s but the charge is in %s.", currency, req.Currency).
				With(renkei.ReasonCurrencyMismatch, "wallet", currency, "currency", req.Currency)
		} else if err := s.movePaymentFrom(ctx, t, p, wallet, merchantAcc); errors.Is(err, errOverdraft) {
			failure = renkei.Declined(renkei.ReasonInsufficientBalance, "The customer's wallet balance is too low for this payment.")
		} else if err != nil {
			return nil, err
		}
		if failure != nil {
			// A decline is recorded: the customer and the shop can see it,
			// and a retry under the same key gets the same answer. The code
			// stays usable, so the customer can top up and pay with it.
			p.Status, p.FailureCode, p.FailureMessage = renkei.PaymentFailed, failure.Reason, failure.Message
			if err := s.insertPayment(ctx, t, p, ""); err != nil {
				return nil, err
			}
			if err := s.event(ctx, t, renkei.EventPaymentFailed, p.ID, p.UserID, m.ID, p); err != nil {
				return nil, err
			}
			failure.PaymentID = p.ID
			return nil, failure
		}
		// The code is used, the payment stored and the services the
		// user's links send to read in one round trip; if the code was
		// taken meanwhile, the request fails and its savepoint takes the
		// payment row back.
		p.Status, p.CompletedAt = renkei.PaymentCompleted, &now
		var taken bool
		useCode := stmt{q: `UPDATE pay_codes SET used_at = ?, payment_id = ? WHERE code_hash = ? AND used_at = 0 RETURNING code_hash`,
			args: []any{micros(now), p.ID, hash},
			scan: func(r row) error {
				var h string
				if err := r.Scan(&h); isNoRows(err) {
					taken = true
				} else if err != nil {
					return fmt.Errorf("use pay code: %w", err)
				}
				return nil
			}}
		svcs, readLinked := linkedServices(p.UserID)
		if err := t.batch(ctx, useCode, paymentInsert(p, ""), readLinked); err != nil {
			return nil, fmt.Errorf("complete payment: %w", err)
		} else if taken {
			return nil, renkei.Declined(renkei.ReasonCodeUsed, "This pay code was already used. Ask the customer to show a fresh code.")
		}
		if err := s.sendToLinked(ctx, t, p, *svcs); err != nil {
			return nil, err
		}
		return p, s.event(ctx, t, renkei.EventPaymentCompleted, p.ID, p.UserID, m.ID, p)
	})
}

// movePayment writes the ledger transaction of a payment: the user's
// wallet to the merchant's account. merchantAcc is that account if the
// caller has read it already, or "" to find (or open) it here.
func (s *Store) movePayment(ctx context.Context, t tx, p *renkei.Payment, merchantAcc string) error {
	wid, err := s.walletID(ctx, t, p.UserID, p.Currency)
	if err != nil {
		return err
	}
	return s.movePaymentFrom(ctx, t, p, wid, merchantAcc)
}

// movePaymentFrom is movePayment from a wallet already found ("" for none:
// an overdraft).
func (s *Store) movePaymentFrom(ctx context.Context, t tx, p *renkei.Payment, wallet, merchantAcc string) error {
	if wallet == "" {
		return errOverdraft
	}
	if merchantAcc == "" {
		var err error
		if merchantAcc, err = s.account(ctx, t, accMerchant, p.Merchant.ID, p.Currency); err != nil {
			return err
		}
	}
	return s.transfer(ctx, t, "payment", p.ID, p.Merchant.Name, p.Currency, leg{wallet, -p.Amount}, leg{merchantAcc, p.Amount})
}

// noteWalletBalance tells the pipeline a wallet's balance read in the
// request: no balance moves before the batch's end, so it is the balance
// before the batch, and the overdraft check then needs no read of its own.
func noteWalletBalance(t querier, id string, balance int64) {
	if r, ok := t.(*reqTx); ok {
		r.noteBalance(id, balance)
	}
}

// walletID finds a user's wallet without creating one: paying needs money
// already there, and a missing wallet means the user has none of that
// currency.
func (s *Store) walletID(ctx context.Context, q querier, userID, currency string) (string, error) {
	var (
		id  string
		bal int64
	)
	err := q.queryRow(ctx, `SELECT id, balance FROM accounts WHERE kind = 'wallet' AND owner_id = ? AND currency = ?`, userID, currency).Scan(&id, &bal)
	if isNoRows(err) {
		return "", errOverdraft
	} else if err != nil {
		return "", err
	}
	noteWalletBalance(q, id, bal)
	return id, nil
}

func party(m *renkei.Merchant) renkei.PaymentParty {
	return renkei.PaymentParty{ID: m.ID, Name: m.Name, CategoryCode: m.MCC, Category: m.Category}
}

// merchantRead is the read of a terminal's merchant, for a batch.
type merchantRead struct {
	terminalID string
	m          *renkei.Merchant
	acc        *string
	err        error
}

// readMerchant returns the statement that reads the terminal's merchant
// and, in the same read, the merchant's account in currency; result says
// what it found.
func readMerchant(terminalID, currency string) (*merchantRead, stmt) {
	mr := &merchantRead{terminalID: terminalID}
	return mr, stmt{q: `SELECT m.id, m.name, m.mcc, m.status, m.created_at, a.id
		FROM terminals t JOIN merchants m ON m.id = t.merchant_id
		LEFT JOIN accounts a ON a.kind = 'merchant' AND a.owner_id = m.id AND a.currency = ?
		WHERE t.id = ?`, args: []any{currency, terminalID},
		scan: func(r row) error {
			mr.m, mr.err = scanMerchant(r, &mr.acc)
			return nil
		}}
}

// result is the active merchant and its account ("" when it has none yet
// in the currency).
func (mr *merchantRead) result() (*renkei.Merchant, string, error) {
	if isNoRows(mr.err) {
		return nil, "", renkei.Errorf(renkei.ENOTFOUND, "No terminal %s.", mr.terminalID)
	} else if mr.err != nil {
		return nil, "", fmt.Errorf("find terminal %s: %w", mr.terminalID, mr.err)
	}
	m := mr.m
	if m.Status != renkei.MerchantActive {
		return nil, "", renkei.Declined(renkei.ReasonMerchantDisabled, "The merchant %s is disabled and cannot take payments.", m.Name).
			With(renkei.ReasonMerchantDisabled, "merchant", m.Name)
	}
	if mr.acc == nil {
		return m, "", nil
	}
	return m, *mr.acc, nil
}

// terminalMerchant returns the active merchant of a terminal and its
// account in currency ("" when it has none yet).
func (s *Store) terminalMerchant(ctx context.Context, t tx, terminalID, currency string) (*renkei.Merchant, string, error) {
	mr, st := readMerchant(terminalID, currency)
	if err := t.batch(ctx, st); err != nil {
		return nil, "", fmt.Errorf("find terminal %s: %w", terminalID, err)
	}
	return mr.result()
}

func (s *Store) insertPayment(ctx context.Context, t tx, p *renkei.Payment, qrRefHash string) error {
	st := paymentInsert(p, qrRefHash)
	if _, err := t.exec(ctx, st.q, st.args...); err != nil {
		return fmt.Errorf("insert payment: %w", err)
	}
	return nil
}

// paymentInsert is the statement that stores a new payment.
func paymentInsert(p *renkei.Payment, qrRefHash string) stmt {
	var completed, expires int64
	if p.CompletedAt != nil {
		completed = micros(*p.CompletedAt)
	}
	if p.ExpiresAt != nil {
		expires = micros(*p.ExpiresAt)
	}
	var user, ref any
	if p.UserID != "" {
		user = p.UserID
	}
	if qrRefHash != "" {
		ref = qrRefHash
	}
	return stmt{q: `INSERT INTO payments (id, status, amount, currency, amount_refunded, flow, method, user_id,
		merchant_id, terminal_id, failure_code, failure_message, qr_ref_hash, qr_payload, created_at, completed_at, expires_at)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args: []any{
		p.ID, p.Status, p.Amount, p.Currency, p.Flow, p.Method, user, p.Merchant.ID, p.TerminalID,
		p.FailureCode, p.FailureMessage, ref, p.QRPayload, micros(p.CreatedAt), completed, expires}}
}

// CreatePaymentRequest is the merchant-presented flow's first half: a
// pending payment and the QR payload the terminal shows. The payload
// carries a random reference, never the payment id, so a QR cannot be
// forged from ids seen elsewhere.
func (s *Store) CreatePaymentRequest(ctx context.Context, req renkei.CreatePaymentRequest) (*renkei.Payment, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return write(ctx, s, func(t tx) (*renkei.Payment, error) {
		m, _, err := s.terminalMerchant(ctx, t, req.TerminalID, req.Currency)
		if err != nil {
			return nil, err
		}
		ref := renkei.RandomToken(s.Rand, "", 15)
		payload, err := s.QR.Encode(m, req.Amount, req.Currency, ref)
		if err != nil {
			return nil, fmt.Errorf("encode QR payload: %w", err)
		}
		now := s.now()
		exp := now.Add(renkei.PaymentRequestTTL)
		p := &renkei.Payment{
			ID: s.ids.New(renkei.PrefixPayment), Status: renkei.PaymentPending, Amount: req.Amount, Currency: req.Currency,
			Flow: renkei.FlowMerchantPresented, Method: renkei.MethodWalletBalance, Merchant: party(m),
			TerminalID: req.TerminalID, QRPayload: payload, CreatedAt: now, ExpiresAt: &exp,
		}
		if err := s.insertPayment(ctx, t, p, HashToken(ref)); err != nil {
			return nil, err
		}
		return p, s.event(ctx, t, renkei.EventPaymentCreated, p.ID, "", m.ID, p)
	})
}

// qrPayment finds the payment a scanned payload refers to.
func (s *Store) qrPayment(ctx context.Context, q querier, payload string) (*renkei.Payment, error) {
	ref, err := s.QR.Reference(payload)
	if err != nil {
		return nil, renkei.Invalid("body.qr_payload", "This is not a Renkei payment QR code: %s", err.Error())
	}
	p, err := scanPayment(q.queryRow(ctx, paymentSelect+` WHERE p.qr_ref_hash = ?`, HashToken(ref)))
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "This QR code does not belong to any payment request.")
	} else if err != nil {
		return nil, fmt.Errorf("find payment by QR: %w", err)
	}
	return p, nil
}

// ResolveQR shows the user what a scanned payload asks them to pay.
func (s *Store) ResolveQR(ctx context.Context, userID, payload string) (*renkei.Payment, error) {
	p, err := s.qrPayment(ctx, s.eng, payload)
	if err != nil {
		return nil, err
	}
	if p.Status == renkei.PaymentPending && p.ExpiresAt != nil && !s.now().Before(*p.ExpiresAt) {
		p.Status = renkei.PaymentExpired // the sweeper will record it
	}
	if p.Status != renkei.PaymentPending && p.UserID != userID {
		// Someone else paid or it lapsed: show only that it is gone.
		return nil, renkei.Errorf(renkei.ECONFLICT, "This QR code was already used or has expired. Ask the shop for a new one.")
	}
	return p, nil
}

// ConfirmQR is the merchant-presented flow's second half: the user pays the
// scanned payment request from their wallet.
func (s *Store) ConfirmQR(ctx context.Context, userID, payload string) (*renkei.Payment, error) {
	if strings.TrimSpace(payload) == "" {
		return nil, renkei.Invalid("body.qr_payload", "The QR payload is missing.")
	}
	return write(ctx, s, func(t tx) (*renkei.Payment, error) {
		p, err := s.qrPayment(ctx, t, payload)
		if err != nil {
			return nil, err
		}
		if p.Status != renkei.PaymentPending {
			return nil, renkei.Errorf(renkei.ECONFLICT, "This QR code was already used or has expired. Ask the shop for a new one.")
		}
		now := s.now()
		if p.ExpiresAt != nil && !now.Before(*p.ExpiresAt) {
			return nil, renkei.Declined(renkei.ReasonRequestExpired, "This payment request has expired. Ask the shop for a new QR code.")
		}
		m, merchantAcc, err := s.terminalMerchant(ctx, t, p.TerminalID, p.Currency)
		if err != nil {
			return nil, err
		}
		p.UserID = userID
		if err := s.movePayment(ctx, t, p, merchantAcc); errors.Is(err, errOverdraft) {
			// Not recorded as a failure: the request stays open, so the user
			// can top up and scan again before it expires.
			if _, werr := s.walletID(ctx, t, userID, p.Currency); werr != nil {
				return nil, renkei.Declined(renkei.ReasonCurrencyMismatch, "You have no %s wallet to pay this in.", p.Currency).
					With(renkei.ReasonCurrencyMismatch, "currency", p.Currency)
			}
			return nil, renkei.Declined(renkei.ReasonInsufficientBalance, "Your wallet balance is too low for this payment. Top up and scan again.")
		} else if err != nil {
			return nil, err
		}
		n, err := t.exec(ctx, `UPDATE payments SET status = 'completed', user_id = ?, completed_at = ? WHERE id = ? AND status = 'pending'`,
			userID, micros(now), p.ID)
		if err != nil {
			return nil, fmt.Errorf("complete payment: %w", err)
		} else if n == 0 {
			return nil, renkei.Errorf(renkei.ECONFLICT, "This QR code was already used or has expired. Ask the shop for a new one.")
		}
		p.Status, p.CompletedAt = renkei.PaymentCompleted, &now
		if err := s.sendByLinks(ctx, t, p); err != nil {
			return nil, err
		}
		return p, s.event(ctx, t, renkei.EventPaymentCompleted, p.ID, userID, m.ID, p)
	})
}

const paymentSelect = `SELECT p.id, p.status, p.amount, p.currency, p.amount_refunded, p.flow, p.method,
	COALESCE(p.user_id, ''), p.merchant_id, m.name, m.mcc, p.terminal_id, p.failure_code, p.failure_message,
	p.qr_payload, p.created_at, p.completed_at, p.expires_at
	FROM payments p JOIN merchants m ON m.id = p.merchant_id`

func scanPayment(r row) (*renkei.Payment, error) {
	var (
		p                           renkei.Payment
		created, completed, expires int64
	)
	if err := r.Scan(&p.ID, &p.Status, &p.Amount, &p.Currency, &p.AmountRefunded, &p.Flow, &p.Method,
		&p.UserID, &p.Merchant.ID, &p.Merchant.Name, &p.Merchant.CategoryCode, &p.TerminalID,
		&p.FailureCode, &p.FailureMessage, &p.QRPayload, &created, &completed, &expires); err != nil {
		return nil, err
	}
	p.Merchant.Category, _ = renkei.MCCCategory(p.Merchant.CategoryCode)
	p.CreatedAt, p.CompletedAt = fromMicros(created), optTime(completed)
	if p.Status == renkei.PaymentPending {
		p.ExpiresAt = optTime(expires)
	}
	return &p, nil
}

// FindPayment returns a payment with its refunds.
func (s *Store) FindPayment(ctx context.Context, id string) (*renkei.Payment, error) {
	return s.findPayment(ctx, s.eng, id)
}

func (s *Store) findPayment(ctx context.Context, q querier, id string) (*renkei.Payment, error) {
	p, err := scanPayment(q.queryRow(ctx, paymentSelect+` WHERE p.id = ?`, id))
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No payment %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find payment %s: %w", id, err)
	}
	r, err := q.query(ctx, `SELECT id, amount, created_at FROM refunds WHERE payment_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("list refunds: %w", err)
	}
	defer r.Close()
	for r.Next() {
		var (
			l  renkei.RefundLine
			at int64
		)
		if err := r.Scan(&l.ID, &l.Amount, &at); err != nil {
			return nil, err
		}
		l.CreatedAt = fromMicros(at)
		p.Refunds = append(p.Refunds, &l)
	}
	return p, r.Err()
}

// ListPayments lists payments, newest first.
func (s *Store) ListPayments(ctx context.Context, f renkei.PaymentFilter) ([]*renkei.Payment, bool, error) {
	f.Page = f.Page.Normalize()
	q := paymentSelect + ` WHERE 1=1`
	var args []any
	if f.UserID != "" {
		q += ` AND p.user_id = ?`
		args = append(args, f.UserID)
	}
	if f.MerchantID != "" {
		q += ` AND p.merchant_id = ?`
		args = append(args, f.MerchantID)
	}
	if f.Page.StartingAfter != "" {
		q += ` AND p.id < ?`
		args = append(args, f.Page.StartingAfter)
	}
	q += ` ORDER BY p.id DESC LIMIT ?`
	args = append(args, f.Page.Limit+1)
	r, err := s.eng.query(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list payments: %w", err)
	}
	defer r.Close()
	var out []*renkei.Payment
	for r.Next() {
		p, err := scanPayment(r)
		if err != nil {
			return nil, false, fmt.Errorf("scan payment: %w", err)
		}
		out = append(out, p)
	}
	if err := r.Err(); err != nil {
		return nil, false, err
	}
	out, more := trimPage(out, f.Page.Limit)
	return out, more, nil
}

// CreateRefund gives back part or all of a completed payment, never more
// than was paid: the check and the increment are one conditional UPDATE,
// so concurrent refunds cannot together exceed the payment.
func (s *Store) CreateRefund(ctx context.Context, req renkei.CreateRefund) (*renkei.Refund, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return write(ctx, s, func(t tx) (*renkei.Refund, error) {
		p, err := s.findPayment(ctx, t, req.PaymentID)
		if err != nil {
			return nil, err
		}
		left := p.Refundable()
		if p.Status != renkei.PaymentCompleted && p.Status != renkei.PaymentPartiallyRefunded {
			if p.Status == renkei.PaymentRefunded {
				return nil, renkei.Errorf(renkei.ECONFLICT, "Payment %s is already fully refunded.", p.ID)
			}
			return nil, renkei.Errorf(renkei.ECONFLICT, "Payment %s is %s; only a completed payment can be refunded.", p.ID, p.Status)
		}
		amount := req.Amount
		if amount == 0 {
			amount = left
		}
		if amount > left {
			return nil, renkei.Invalid("body.amount", "The refund of %d is more than the %d %s left to refund on payment %s.", amount, left, p.Currency, p.ID)
		}
		n, err := t.exec(ctx, `UPDATE payments SET amount_refunded = amount_refunded + ?,
			status = CASE WHEN amount_refunded + ? = amount THEN 'refunded' ELSE 'partially_refunded' END
			WHERE id = ? AND status IN ('completed', 'partially_refunded') AND amount_refunded + ? <= amount`,
			amount, amount, p.ID, amount)
		if err != nil {
			return nil, fmt.Errorf("refund payment: %w", err)
		} else if n == 0 {
			return nil, renkei.Errorf(renkei.ECONFLICT, "Payment %s changed while refunding; retry.", p.ID)
		}
		wid, err := s.walletID(ctx, t, p.UserID, p.Currency)
		if err != nil {
			return nil, fmt.Errorf("refund to wallet: %w", err)
		}
		mid, err := s.account(ctx, t, accMerchant, p.Merchant.ID, p.Currency)
		if err != nil {
			return nil, err
		}
		now := s.now()
		rf := &renkei.Refund{ID: s.ids.New(renkei.PrefixRefund), PaymentID: p.ID, Amount: amount, Currency: p.Currency,
			Reason: req.Reason, Status: renkei.RefundSucceeded, CreatedAt: now}
		if _, err := t.exec(ctx, `INSERT INTO refunds (id, payment_id, amount, currency, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			rf.ID, rf.PaymentID, rf.Amount, rf.Currency, rf.Reason, micros(now)); err != nil {
			return nil, fmt.Errorf("insert refund: %w", err)
		}
		if err := s.transfer(ctx, t, "refund", rf.ID, p.Merchant.Name, p.Currency, leg{mid, -amount}, leg{wid, amount}); err != nil {
			return nil, err
		}
		after, err := s.findPayment(ctx, t, p.ID)
		if err != nil {
			return nil, err
		}
		if err := s.sendRefund(ctx, t, after, rf); err != nil {
			return nil, err
		}
		// The event is about the payment (its object id), like every
		// payment.* event; the refund is in its data.
		return rf, s.event(ctx, t, renkei.EventPaymentRefunded, p.ID, p.UserID, p.Merchant.ID,
			map[string]any{"refund": rf, "payment": after})
	})
}

// FindRefund returns a refund by id.
func (s *Store) FindRefund(ctx context.Context, id string) (*renkei.Refund, error) {
	var (
		rf renkei.Refund
		at int64
	)
	err := s.eng.queryRow(ctx, `SELECT id, payment_id, amount, currency, reason, created_at FROM refunds WHERE id = ?`, id).
		Scan(&rf.ID, &rf.PaymentID, &rf.Amount, &rf.Currency, &rf.Reason, &at)
	if isNoRows(err) {
		return nil, renkei.Errorf(renkei.ENOTFOUND, "No refund %s.", id)
	} else if err != nil {
		return nil, fmt.Errorf("find refund %s: %w", id, err)
	}
	rf.Status, rf.CreatedAt = renkei.RefundSucceeded, fromMicros(at)
	return &rf, nil
}

// ExpirePayments records as expired the pending payment requests whose
// time is up, each with its event.
func (s *Store) ExpirePayments(ctx context.Context) (int, error) {
	now := s.now()
	r, err := s.eng.query(ctx, `SELECT id FROM payments WHERE status = 'pending' AND expires_at <= ? ORDER BY id LIMIT 500`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("find expired payments: %w", err)
	}
	var ids []string
	for r.Next() {
		var id string
		if err := r.Scan(&id); err != nil {
			r.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return 0, fmt.Errorf("find expired payments: %w", err)
	}
	done := 0
	err = s.inTx(ctx, func(t tx) error {
		for _, id := range ids {
			n, err := t.exec(ctx, `UPDATE payments SET status = 'expired' WHERE id = ? AND status = 'pending'`, id)
			if err != nil {
				return fmt.Errorf("expire %s: %w", id, err)
			} else if n == 0 {
				continue // paid meanwhile
			}
			p, err := s.findPayment(ctx, t, id)
			if err != nil {
				return err
			}
			if err := s.event(ctx, t, renkei.EventPaymentExpired, id, "", p.Merchant.ID, p); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	return done, err
}
