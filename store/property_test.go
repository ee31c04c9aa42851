package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"pgregory.net/rapid"
)

// TestLedgerProperties drives random sequences of top-ups, payments in
// both flows, declines, refunds and expiries, in several currencies at
// several merchants, some of them concurrent and some under idempotency
// keys (first calls, replays, the same key with other parameters, the same
// key from several goroutines at once). It keeps a model of every wallet
// and of what each key did, and after every step checks that the store
// agrees with the model and that the ledger's invariants hold: postings
// sum to zero per transaction and per currency, each balance equals its
// postings, no wallet is below zero, refunded is never above paid, one
// event per state change, and each idempotency key had one effect.
func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			// Each SQLite run gets its own copy of a migrated file, so the
			// checks after every step read one run's ledger, not all of
			// them; PostgreSQL runs share one schema, which it scans fast.
			var open func() (*store.Store, *clock, func())
			if e == "sqlite" {
				open = sqliteTemplate(t)
			} else {
				s, c := openStore(t, e)
				open = func() (*store.Store, *clock, func()) { return s, c, func() {} }
			}
			var st ledgerStats
			rapid.Check(t, func(rt *rapid.T) {
				s, c, done := open()
				defer done()
				(&ledgerModel{s: s, c: c, stats: &st}).run(rt)
			})
			// What the runs exercised, so a change that stops the keys or
			// the concurrency from happening shows.
			t.Logf("%+v", st)
			if st.Replays == 0 || st.Reused == 0 || st.SharedKey == 0 || st.Concurrent == 0 || st.Currencies < 2 {
				t.Fatalf("the runs did not exercise keys and concurrency: %+v", st)
			}
		})
	}
}

// ledgerCurrencies are the currencies the property test moves: no minor
// unit, two, and a third wallet currency.
var ledgerCurrencies = []string{"JPY", "USD", "EUR"}

type modelPayment struct {
	id       string
	user     int
	currency string
	amount   int64 // 0 for a declined payment
	refunded int64
	events   int
}

// keyed is what one idempotency key did the first time: the request it
// was used for and its one effect.
type keyed struct {
	scope, hash string
	name        string
	payment     string // the payment created (completed or declined)
	refund      string
	wallet      int64 // the balance a top-up answered with
}

// ledgerStats counts what the runs did.
type ledgerStats struct {
	Steps, Replays, Reused, SharedKey, Concurrent, Currencies int
}

// ledgerModel is the test's own account of one run.
type ledgerModel struct {
	stats     *ledgerStats
	s         *store.Store
	c         *clock
	users     []*renkei.User
	terminals []*renkei.Terminal
	merchants []string
	balances  []map[string]int64 // per user, per currency
	payments  []*modelPayment
	pending   []*renkei.Payment
	keys      []*keyed
	topups    int // top-up transactions that took effect
	nkey      int
}

func (m *ledgerModel) run(t *rapid.T) {
	ctx := context.Background()
	s := m.s
	for i := range rapid.IntRange(1, 3).Draw(t, "users") {
		u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: fmt.Sprintf("u%d", i)})
		must(t, err)
		// A user starts with an empty JPY wallet.
		m.users, m.balances = append(m.users, u), append(m.balances, map[string]int64{"JPY": 0})
	}
	for i, mcc := range []string{"5411", "5814", "5942"}[:rapid.IntRange(2, 3).Draw(t, "merchants")] {
		mer, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: fmt.Sprintf("Prop Shop %d", i), MCC: mcc})
		must(t, err)
		term, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: mer.ID, Name: "R"})
		must(t, err)
		m.terminals, m.merchants = append(m.terminals, term), append(m.merchants, mer.ID)
	}
	steps := rapid.IntRange(1, 25).Draw(t, "steps")
	for range steps {
		switch rapid.IntRange(0, 6).Draw(t, "op") {
		case 0:
			m.topUp(t)
		case 1:
			m.charge(t)
		case 2:
			m.request(t)
		case 3:
			m.confirm(t)
		case 4:
			m.refund(t)
		case 5: // time passes; requests expire
			m.c.advance(renkei.PaymentRequestTTL)
			_, err := s.ExpirePayments(ctx)
			must(t, err)
			m.pending = nil
		case 6:
			m.concurrent(t)
		}
		m.check(t)
		m.stats.Steps++
	}
	m.checkPayments(t)
	seen := map[string]bool{}
	for _, b := range m.balances {
		for cur := range b {
			seen[cur] = true
		}
	}
	m.stats.Currencies = max(m.stats.Currencies, len(seen))
}

// key draws how a call uses an idempotency key: none, a new one, or one
// used before (replayed when the request is the same). It returns the
// context to call with and the key's record, nil without a key.
func (m *ledgerModel) key(t *rapid.T, scope, hash string) (context.Context, *renkei.Idempotency, *keyed) {
	ctx := context.Background()
	mode := rapid.IntRange(0, 2).Draw(t, "key")
	if mode == 0 {
		return ctx, nil, nil
	}
	var k *keyed
	var name string
	if mode == 2 && len(m.keys) > 0 {
		i := rapid.IntRange(0, len(m.keys)-1).Draw(t, "old key")
		k, name = m.keys[i], m.keys[i].name
		if k.scope != scope {
			k = nil
		}
	}
	if k == nil {
		// Keys are unique across the runs that share the store.
		m.nkey++
		k = &keyed{scope: scope, hash: hash, name: fmt.Sprintf("%s-k%d", m.users[0].ID, m.nkey)}
		name = k.name
	}
	idem := &renkei.Idempotency{Scope: scope, Key: name, RequestHash: hash}
	return renkei.NewContextWithIdempotency(ctx, idem), idem, k
}

// retry draws whether the client retries a call that took effect under
// key k (a lost answer, a double tap), and if so returns the context of
// the retry and its key: the retry must replay, with no second effect.
func (m *ledgerModel) retry(t *rapid.T, k *keyed) (context.Context, *renkei.Idempotency, bool) {
	if k == nil || !rapid.Bool().Draw(t, "retry") {
		return nil, nil, false
	}
	m.stats.Replays++
	idem := &renkei.Idempotency{Scope: k.scope, Key: k.name, RequestHash: k.hash}
	return renkei.NewContextWithIdempotency(context.Background(), idem), idem, true
}

// remember keeps a new key that took effect.
func (m *ledgerModel) remember(k *keyed) {
	for _, o := range m.keys {
		if o == k {
			return
		}
	}
	m.keys = append(m.keys, k)
}

// reused says whether a call with a known key but another request was
// refused as idempotency_key_reused, and fails on anything else.
func (m *ledgerModel) reused(t *rapid.T, k *keyed, hash string, err error) bool {
	if k == nil || k.hash == hash {
		return false
	}
	m.stats.Reused++
	var e *renkei.Error
	if !errors.As(err, &e) || e.Code != renkei.ECONFLICT || e.Reason != "idempotency_key_reused" {
		t.Fatalf("a key used for %q again for %q: %v", k.hash, hash, err)
	}
	return true
}

func (m *ledgerModel) topUp(t *rapid.T) {
	u := rapid.IntRange(0, len(m.users)-1).Draw(t, "user")
	cur := rapid.SampledFrom(ledgerCurrencies).Draw(t, "currency")
	a := rapid.Int64Range(1, 5000).Draw(t, "topup")
	hash := fmt.Sprintf("topup %s %d %s", m.users[u].ID, a, cur)
	ctx, idem, k := m.key(t, "admin", hash)
	w, err := m.s.TopUp(ctx, renkei.TopUp{UserID: m.users[u].ID, Amount: a, Currency: cur})
	if m.reused(t, k, hash, err) {
		return
	}
	must(t, err)
	if idem != nil && idem.Replayed {
		m.stats.Replays++
		if k.wallet != w.Balance.Amount || k.hash != hash {
			t.Fatalf("top-up replay answered %d, first call %d", w.Balance.Amount, k.wallet)
		}
		return
	}
	m.balances[u][cur] += a
	m.topups++
	if w.Balance.Amount != m.balances[u][cur] {
		t.Fatalf("top-up answered balance %d, model %d", w.Balance.Amount, m.balances[u][cur])
	}
	if k != nil {
		k.wallet = w.Balance.Amount
		m.remember(k)
	}
	if rctx, ridem, ok := m.retry(t, k); ok {
		w, err := m.s.TopUp(rctx, renkei.TopUp{UserID: m.users[u].ID, Amount: a, Currency: cur})
		must(t, err)
		if !ridem.Replayed || w.Balance.Amount != k.wallet {
			t.Fatalf("a retried top-up answered %d (replayed %v), first %d", w.Balance.Amount, ridem.Replayed, k.wallet)
		}
	}
}

// charge is a shop charging a pay code, maybe for more than the balance,
// maybe in another currency than the code's.
func (m *ledgerModel) charge(t *rapid.T) {
	ctx := context.Background()
	u := rapid.IntRange(0, len(m.users)-1).Draw(t, "user")
	cur := rapid.SampledFrom(ledgerCurrencies).Draw(t, "code currency")
	if _, ok := m.balances[u][cur]; !ok {
		return // no wallet in that currency yet: no code either
	}
	charged := cur
	if rapid.IntRange(0, 5).Draw(t, "mismatch") == 0 {
		charged = rapid.SampledFrom(ledgerCurrencies).Draw(t, "charge currency")
	}
	pc, err := m.s.NewPayCode(ctx, m.users[u].ID, cur)
	must(t, err)
	term := m.terminals[rapid.IntRange(0, len(m.terminals)-1).Draw(t, "terminal")]
	req := renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: rapid.Int64Range(1, 5000).Draw(t, "charge"), Currency: charged}
	hash := fmt.Sprintf("charge %s %d %s", req.Code, req.Amount, req.Currency)
	kctx, idem, k := m.key(t, term.ID, hash)
	p, err := m.s.ChargeCode(kctx, req)
	if m.reused(t, k, hash, err) {
		return
	}
	id := m.chargeResult(t, u, cur, req, p, err, idem != nil && idem.Replayed)
	if idem != nil && idem.Replayed {
		m.stats.Replays++
		if id != k.payment {
			t.Fatalf("charge replay answered payment %s, first call %s", id, k.payment)
		}
		return
	}
	if k == nil || id == "" {
		return
	}
	k.payment = id
	m.remember(k)
	if rctx, ridem, ok := m.retry(t, k); ok {
		p, err := m.s.ChargeCode(rctx, req)
		var de *renkei.Error
		if err == nil {
			id = p.ID
		} else if errors.As(err, &de) && de.PaymentID != "" {
			id = de.PaymentID
		} else {
			t.Fatalf("a retried charge: %v", err)
		}
		if !ridem.Replayed || id != k.payment {
			t.Fatalf("a retried charge answered %s (replayed %v), first %s", id, ridem.Replayed, k.payment)
		}
	}
}

// chargeResult checks one charge's answer against the model and applies
// it; it returns the payment the answer names. A replay applies nothing.
func (m *ledgerModel) chargeResult(t *rapid.T, u int, cur string, req renkei.ChargeCode, p *renkei.Payment, err error, replayed bool) string {
	var de *renkei.Error
	if errors.As(err, &de) && de.Code == renkei.EDECLINED {
		switch de.Reason {
		case renkei.ReasonInsufficientBalance, renkei.ReasonCurrencyMismatch:
			if de.PaymentID == "" {
				t.Fatalf("decline %s recorded no payment", de.Reason)
			}
			if !replayed {
				if de.Reason == renkei.ReasonInsufficientBalance && req.Amount <= m.balances[u][cur] {
					t.Fatalf("charge %d %s declined with balance %d", req.Amount, cur, m.balances[u][cur])
				}
				m.payments = append(m.payments, &modelPayment{id: de.PaymentID, user: u, currency: req.Currency, events: 1})
			}
			return de.PaymentID
		case renkei.ReasonCodeUsed:
			return "" // a concurrent charge took the code first
		}
	}
	if err != nil {
		t.Fatalf("charge %d %s (code in %s, balance %d): %v", req.Amount, req.Currency, cur, m.balances[u][cur], err)
	}
	if req.Currency != cur || (!replayed && req.Amount > m.balances[u][cur]) {
		t.Fatalf("charge %d %s of a %s code with balance %d went through", req.Amount, req.Currency, cur, m.balances[u][cur])
	}
	if !replayed {
		m.balances[u][cur] -= req.Amount
		m.payments = append(m.payments, &modelPayment{id: p.ID, user: u, currency: cur, amount: req.Amount, events: 1})
	}
	return p.ID
}

// request is a shop showing a QR code for an amount.
func (m *ledgerModel) request(t *rapid.T) {
	term := m.terminals[rapid.IntRange(0, len(m.terminals)-1).Draw(t, "terminal")]
	p, err := m.s.CreatePaymentRequest(context.Background(), renkei.CreatePaymentRequest{TerminalID: term.ID,
		Amount: rapid.Int64Range(1, 5000).Draw(t, "request"), Currency: rapid.SampledFrom(ledgerCurrencies).Draw(t, "currency")})
	must(t, err)
	m.pending = append(m.pending, p)
}

// confirm is a user paying a pending request, under a key or not.
func (m *ledgerModel) confirm(t *rapid.T) {
	if len(m.pending) == 0 {
		return
	}
	u := rapid.IntRange(0, len(m.users)-1).Draw(t, "user")
	k := rapid.IntRange(0, len(m.pending)-1).Draw(t, "pending")
	req := m.pending[k]
	hash := "confirm " + req.QRPayload
	ctx, idem, key := m.key(t, m.users[u].ID, hash)
	p, err := m.s.ConfirmQR(ctx, m.users[u].ID, req.QRPayload)
	if m.reused(t, key, hash, err) {
		return
	}
	switch {
	case err == nil && idem != nil && idem.Replayed:
		m.stats.Replays++
		if p.ID != key.payment {
			t.Fatalf("confirm replay answered %s, first %s", p.ID, key.payment)
		}
	case err == nil:
		bal, ok := m.balances[u][req.Currency]
		if !ok || req.Amount > bal {
			t.Fatalf("confirm of %d %s with balance %d (wallet %v) went through", req.Amount, req.Currency, bal, ok)
		}
		m.balances[u][req.Currency] -= req.Amount
		m.payments = append(m.payments, &modelPayment{id: p.ID, user: u, currency: req.Currency, amount: req.Amount, events: 2})
		m.pending = append(m.pending[:k], m.pending[k+1:]...)
		if key != nil {
			key.payment = p.ID
			m.remember(key)
		}
		if rctx, ridem, ok := m.retry(t, key); ok {
			p, err := m.s.ConfirmQR(rctx, m.users[u].ID, req.QRPayload)
			must(t, err)
			if !ridem.Replayed || p.ID != key.payment {
				t.Fatalf("a retried confirm answered %s (replayed %v), first %s", p.ID, ridem.Replayed, key.payment)
			}
		}
	case renkei.ErrorCode(err) == renkei.EDECLINED:
		// Too little money or no wallet in that currency: nothing moved,
		// and the key was not kept.
		if bal, ok := m.balances[u][req.Currency]; ok && req.Amount <= bal {
			t.Fatalf("confirm of %d %s declined with balance %d: %v", req.Amount, req.Currency, bal, err)
		}
	default:
		t.Fatalf("confirm: %v", err)
	}
}

// refund is the shop's refund of part or all of a payment, maybe too much.
func (m *ledgerModel) refund(t *rapid.T) {
	if len(m.payments) == 0 {
		return
	}
	mp := m.payments[rapid.IntRange(0, len(m.payments)-1).Draw(t, "payment")]
	a := rapid.Int64Range(0, mp.amount+10).Draw(t, "refund")
	hash := fmt.Sprintf("refund %s %d", mp.id, a)
	ctx, idem, k := m.key(t, "admin", hash)
	r, err := m.s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: mp.id, Amount: a})
	if m.reused(t, k, hash, err) {
		return
	}
	if err == nil && idem != nil && idem.Replayed {
		m.stats.Replays++
		if r.ID != k.refund {
			t.Fatalf("refund replay answered %s, first %s", r.ID, k.refund)
		}
		return
	}
	left := mp.amount - mp.refunded
	want := a
	if a == 0 {
		want = left
	}
	if mp.amount == 0 || left == 0 || want > left {
		if err == nil {
			t.Fatalf("refund %d of %+v accepted", a, mp)
		}
		return
	}
	if err != nil {
		t.Fatalf("refund %d of %+v: %v", a, mp, err)
	}
	if r.Amount != want {
		t.Fatalf("refund of %d answered %d", want, r.Amount)
	}
	mp.refunded += want
	mp.events++
	m.balances[mp.user][mp.currency] += want
	if k != nil {
		k.refund = r.ID
		m.remember(k)
	}
	if rctx, ridem, ok := m.retry(t, k); ok {
		r, err := m.s.CreateRefund(rctx, renkei.CreateRefund{PaymentID: mp.id, Amount: a})
		must(t, err)
		if !ridem.Replayed || r.ID != k.refund {
			t.Fatalf("a retried refund answered %s (replayed %v), first %s", r.ID, ridem.Replayed, k.refund)
		}
	}
}

// concurrent runs a few charges and top-ups at once. Either all of them
// are the same charge under one key (a retrying client, a double tap):
// one payment, every call answers it; or they are independent, some for
// the same wallet, and the model follows each answer.
func (m *ledgerModel) concurrent(t *rapid.T) {
	ctx := context.Background()
	n := rapid.IntRange(2, 4).Draw(t, "calls")
	u := rapid.IntRange(0, len(m.users)-1).Draw(t, "user")
	term := m.terminals[rapid.IntRange(0, len(m.terminals)-1).Draw(t, "terminal")]
	m.stats.Concurrent++
	if rapid.Bool().Draw(t, "one key") {
		m.stats.SharedKey++
		pc, err := m.s.NewPayCode(ctx, m.users[u].ID, "JPY")
		must(t, err)
		req := renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: rapid.Int64Range(1, 5000).Draw(t, "charge"), Currency: "JPY"}
		m.nkey++
		name := fmt.Sprintf("%s-same%d", m.users[0].ID, m.nkey)
		type answer struct {
			p   *renkei.Payment
			err error
			rep bool
		}
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				idem := &renkei.Idempotency{Scope: term.ID, Key: name, RequestHash: "same " + req.Code}
				p, err := m.s.ChargeCode(renkei.NewContextWithIdempotency(ctx, idem), req)
				answers[i] = answer{p, err, idem.Replayed}
			})
		}
		wg.Wait()
		first, ids := -1, map[string]bool{}
		for i, a := range answers {
			if !a.rep {
				if first >= 0 {
					t.Fatalf("calls %d and %d under one key both took effect", first, i)
				}
				first = i
			}
			var de *renkei.Error
			switch {
			case a.err == nil:
				ids[a.p.ID] = true
			case errors.As(a.err, &de) && de.PaymentID != "":
				ids[de.PaymentID] = true
			default:
				t.Fatalf("a call under a shared key: %v", a.err)
			}
		}
		if first < 0 || len(ids) != 1 {
			t.Fatalf("one key, %d calls: first %d, payments %v", n, first, ids)
		}
		m.chargeResult(t, u, "JPY", req, answers[first].p, answers[first].err, false)
		return
	}
	type call struct {
		user   int
		topup  int64
		charge renkei.ChargeCode
		p      *renkei.Payment
		w      *renkei.Wallet
		err    error
	}
	calls := make([]*call, n)
	for i := range calls {
		c := &call{user: rapid.IntRange(0, len(m.users)-1).Draw(t, "user")}
		if rapid.IntRange(0, 2).Draw(t, "topup?") == 0 {
			c.topup = rapid.Int64Range(1, 5000).Draw(t, "topup")
		} else {
			pc, err := m.s.NewPayCode(ctx, m.users[c.user].ID, "JPY")
			must(t, err)
			c.charge = renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: rapid.Int64Range(1, 5000).Draw(t, "charge"), Currency: "JPY"}
		}
		calls[i] = c
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			if c.topup > 0 {
				c.w, c.err = m.s.TopUp(ctx, renkei.TopUp{UserID: m.users[c.user].ID, Amount: c.topup, Currency: "JPY"})
			} else {
				c.p, c.err = m.s.ChargeCode(ctx, c.charge)
			}
		})
	}
	wg.Wait()
	// The order they ran in is unknown, so the model follows the answers:
	// a charge that went through spent its amount, a decline recorded a
	// failed payment, and the balances and the ledger checks that follow
	// must agree.
	for _, c := range calls {
		if c.topup > 0 {
			must(t, c.err)
			m.balances[c.user]["JPY"] += c.topup
			m.topups++
		}
	}
	for _, c := range calls {
		if c.topup > 0 {
			continue
		}
		var de *renkei.Error
		if errors.As(c.err, &de) && de.Reason == renkei.ReasonInsufficientBalance && de.PaymentID != "" {
			m.payments = append(m.payments, &modelPayment{id: de.PaymentID, user: c.user, currency: "JPY", events: 1})
			continue
		}
		must(t, c.err)
		m.balances[c.user]["JPY"] -= c.charge.Amount
		m.payments = append(m.payments, &modelPayment{id: c.p.ID, user: c.user, currency: "JPY", amount: c.charge.Amount, events: 1})
	}
}

// check compares the store with the model and checks the ledger's
// invariants; it runs after every step.
func (m *ledgerModel) check(t *rapid.T) {
	ctx := context.Background()
	s := m.s
	checkLedger(t, s)
	for i, u := range m.users {
		ws, err := s.Wallets(ctx, u.ID)
		must(t, err)
		got := map[string]int64{}
		for _, w := range ws {
			got[w.Balance.Currency] = w.Balance.Amount
		}
		if fmt.Sprint(got) != fmt.Sprint(m.balances[i]) {
			t.Fatalf("user %d wallets %v, model %v", i, got, m.balances[i])
		}
	}
	// Over the whole ledger, each currency's postings sum to zero: money
	// is moved, never made or lost.
	if bad := rawCount(t, s, `SELECT COUNT(*) FROM (SELECT currency FROM postings GROUP BY currency HAVING SUM(amount) <> 0) x`); bad != 0 {
		t.Fatalf("the postings of %d currencies do not sum to zero", bad)
	}
	// Each key had one effect: the payments and top-ups in the database
	// are exactly those the model counted, however many calls replayed.
	in := "'" + strings.Join(m.merchants, "','") + "'"
	if n := rawCount(t, s, `SELECT COUNT(*) FROM payments WHERE merchant_id IN (`+in+`) AND status NOT IN ('pending', 'expired')`); n != len(m.payments) {
		t.Fatalf("%d payments in the store, model %d", n, len(m.payments))
	}
	var owners []string
	for _, u := range m.users {
		owners = append(owners, u.ID)
	}
	if n := rawCount(t, s, `SELECT COUNT(*) FROM txns t JOIN accounts a ON a.id = t.ref_id
		WHERE t.kind = 'topup' AND a.owner_id IN ('`+strings.Join(owners, "','")+`')`); n != m.topups {
		t.Fatalf("%d top-ups in the ledger, model %d", n, m.topups)
	}
}

// checkPayments compares each payment with the model: refunded amount,
// currency and events. It runs at the end of a run, as it reads every
// payment.
func (m *ledgerModel) checkPayments(t *rapid.T) {
	ctx := context.Background()
	s := m.s
	for _, mp := range m.payments {
		p, err := s.FindPayment(ctx, mp.id)
		must(t, err)
		if p.AmountRefunded != mp.refunded || p.Currency != mp.currency {
			t.Fatalf("payment %s refunded %d %s, model %d %s", p.ID, p.AmountRefunded, p.Currency, mp.refunded, mp.currency)
		}
		if got := len(events(t, s, mp.id)); got != mp.events {
			t.Fatalf("payment %s has %d events, model %d", mp.id, got, mp.events)
		}
	}
}

// rawCount runs a COUNT query without parameters on either engine.
func rawCount(t tb, s *store.Store, q string) int {
	t.Helper()
	var n int
	var err error
	if db := s.SQLDB(); db != nil {
		err = db.QueryRowContext(context.Background(), q).Scan(&n)
	} else {
		err = s.PgxPool().QueryRow(context.Background(), q).Scan(&n)
	}
	must(t, err)
	return n
}
