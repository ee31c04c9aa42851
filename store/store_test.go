package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/store/storetest"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// engines lists the engines a conformance test runs on.
var engines = storetest.Engines

// openStore opens a fresh store on the engine: a temp SQLite file, or a
// new schema in the test PostgreSQL database that is dropped afterwards.
func openStore(t testing.TB, engine string) (*store.Store, *clock) {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DSN(t, engine)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clock{}
	c.ns.Store(testEpoch.UnixNano())
	configure(s, c)
	return s, c
}

// testEpoch is where every test clock starts.
var testEpoch = time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)

// configure gives a store the test clock and what the server wires in.
func configure(s *store.Store, c *clock) {
	s.Now = c.now
	s.PayCode = emvco.NewPayCode
	s.ParsePayCode = emvco.ParsePayCode
	s.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	s.AdminKeyHash = store.HashToken("admin-secret")
}

// forEachEngine runs fn as a parallel subtest on every engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store, c *clock)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			s, c := openStore(t, e)
			fn(t, s, c)
		})
	}
}

// tb is what the helpers need of a test: both *testing.T and rapid's *T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// fixture is a user with money, a merchant and its terminal.
type fixture struct {
	user     *renkei.User
	merchant *renkei.Merchant
	terminal *renkei.Terminal
}

func newFixture(t tb, s *store.Store, balance int64) fixture {
	t.Helper()
	ctx := context.Background()
	u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: "Aiko"})
	must(t, err)
	if balance > 0 {
		_, err = s.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: balance, Currency: "JPY"})
		must(t, err)
	}
	m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Cafe Hikari", MCC: "5814"})
	must(t, err)
	term, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "Register 1"})
	must(t, err)
	return fixture{u, m, term}
}

func must(t tb, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode fails unless err is a domain error with the code (and reason).
func wantCode(t tb, err error, code, reason string) *renkei.Error {
	t.Helper()
	var e *renkei.Error
	if !errors.As(err, &e) {
		t.Fatalf("want %s/%s error, got %v", code, reason, err)
	}
	if e.Code != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("want %s/%s, got %s/%s: %s", code, reason, e.Code, e.Reason, e.Message)
	}
	return e
}

func balance(t tb, s *store.Store, userID string) int64 {
	t.Helper()
	ws, err := s.Wallets(context.Background(), userID)
	must(t, err)
	for _, w := range ws {
		if w.Balance.Currency == "JPY" {
			return w.Balance.Amount
		}
	}
	t.Fatalf("user %s has no JPY wallet", userID)
	return 0
}

func checkLedger(t tb, s *store.Store) {
	t.Helper()
	c, err := s.CheckLedger(context.Background())
	must(t, err)
	if len(c.Problems) > 0 {
		t.Fatalf("ledger problems: %v", c.Problems)
	}
}

func events(t tb, s *store.Store, objectID string) []string {
	t.Helper()
	es, _, err := s.ListEvents(context.Background(), renkei.EventFilter{ObjectID: objectID, Page: renkei.Page{Limit: 100}})
	must(t, err)
	var types []string
	for i := len(es) - 1; i >= 0; i-- {
		types = append(types, es[i].Type)
	}
	return types
}

func charge(t tb, s *store.Store, f fixture, amount int64) (*renkei.Payment, error) {
	t.Helper()
	ctx := context.Background()
	pc, err := s.NewPayCode(ctx, f.user.ID, "JPY")
	must(t, err)
	return s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: amount, Currency: "JPY"})
}

func TestChargeCode(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 10_000)
		pc, err := s.NewPayCode(ctx, f.user.ID, "")
		must(t, err)
		if len(pc.Code) != 20 || !pc.ExpiresAt.Equal(c.now().Add(renkei.PayCodeTTL)) {
			t.Fatalf("pay code %+v", pc)
		}
		// Terminals type codes with spaces; the store normalises them.
		p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: emvco.FormatPayCode(pc.Code), Amount: 1280})
		must(t, err)
		if p.Status != renkei.PaymentCompleted || p.Amount != 1280 || p.Currency != "JPY" || p.UserID != f.user.ID ||
			p.Merchant.Name != "Cafe Hikari" || p.Merchant.Category != "restaurants" || p.CompletedAt == nil {
			t.Fatalf("payment %+v", p)
		}
		if got := balance(t, s, f.user.ID); got != 10_000-1280 {
			t.Fatalf("balance %d", got)
		}
		if got := events(t, s, p.ID); fmt.Sprint(got) != "[payment.completed]" {
			t.Fatalf("events %v", got)
		}
		// A code pays once.
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 100})
		wantCode(t, err, renkei.EDECLINED, renkei.ReasonCodeUsed)
		got, err := s.FindPayment(ctx, p.ID)
		must(t, err)
		if got.Status != renkei.PaymentCompleted || got.Merchant.ID != f.merchant.ID {
			t.Fatalf("found %+v", got)
		}
		es, _, err := s.History(ctx, f.user.ID, renkei.Page{})
		must(t, err)
		if len(es) != 2 || es[0].Kind != "payment" || es[0].Amount.Amount != -1280 || es[0].Balance != 8720 || es[0].Counterparty != "Cafe Hikari" {
			t.Fatalf("history %+v", es[0])
		}
		checkLedger(t, s)
	})
}

func TestChargeCodeDeclines(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 1000)

		// Insufficient balance: a failed payment is recorded with its
		// event, no money moves, and the code stays usable.
		pc, err := s.NewPayCode(ctx, f.user.ID, "JPY")
		must(t, err)
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 1001})
		e := wantCode(t, err, renkei.EDECLINED, renkei.ReasonInsufficientBalance)
		failed, err := s.FindPayment(ctx, e.PaymentID)
		must(t, err)
		if failed.Status != renkei.PaymentFailed || failed.FailureCode != renkei.ReasonInsufficientBalance {
			t.Fatalf("failed payment %+v", failed)
		}
		if got := events(t, s, failed.ID); fmt.Sprint(got) != "[payment.failed]" {
			t.Fatalf("events %v", got)
		}
		if balance(t, s, f.user.ID) != 1000 {
			t.Fatal("balance moved on a decline")
		}
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 1000})
		must(t, err)
		if balance(t, s, f.user.ID) != 0 {
			t.Fatal("exact balance not spent")
		}

		// Currency mismatch: a JPY code charged in USD.
		_, err = s.TopUp(ctx, renkei.TopUp{UserID: f.user.ID, Amount: 500, Currency: "JPY"})
		must(t, err)
		pc, err = s.NewPayCode(ctx, f.user.ID, "JPY")
		must(t, err)
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 100, Currency: "USD"})
		wantCode(t, err, renkei.EDECLINED, renkei.ReasonCurrencyMismatch)

		// Expired code.
		c.advance(renkei.PayCodeTTL)
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 100})
		wantCode(t, err, renkei.EDECLINED, renkei.ReasonCodeExpired)

		// Unknown but well-formed code, and a malformed one.
		code, _ := emvco.NewPayCode(rand.Reader)
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: code, Amount: 100})
		if e := wantCode(t, err, renkei.EINVALID, ""); e.Reason != store.ReasonUnknownPayCode {
			t.Fatalf("reason %q", e.Reason)
		}
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: "12345", Amount: 100})
		wantCode(t, err, renkei.EINVALID, "")

		// Bad amounts never reach the database.
		for _, amt := range []int64{0, -1, renkei.MaxAmount + 1} {
			_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: code, Amount: amt})
			wantCode(t, err, renkei.EINVALID, "")
		}

		// Disabled merchant.
		_, err = s.SetMerchantStatus(ctx, f.merchant.ID, renkei.MerchantDisabled)
		must(t, err)
		pc, err = s.NewPayCode(ctx, f.user.ID, "JPY")
		must(t, err)
		_, err = s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 100})
		wantCode(t, err, renkei.EDECLINED, renkei.ReasonMerchantDisabled)
		if balance(t, s, f.user.ID) != 500 {
			t.Fatal("balance moved on a decline")
		}
		checkLedger(t, s)
	})
}

func TestMerchantPresentedQR(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 5000)
		other := newFixture(t, s, 0)

		req, err := s.CreatePaymentRequest(ctx, renkei.CreatePaymentRequest{TerminalID: f.terminal.ID, Amount: 1500})
		must(t, err)
		if req.Status != renkei.PaymentPending || req.QRPayload == "" || req.ExpiresAt == nil {
			t.Fatalf("request %+v", req)
		}
		parsed, err := emvco.Parse(req.QRPayload)
		must(t, err)
		if parsed.Amount != "1500" || parsed.CurrencyNumeric != "392" || parsed.MCC != "5814" || !parsed.IsDynamic() {
			t.Fatalf("payload %+v", parsed)
		}
		seen, err := s.ResolveQR(ctx, f.user.ID, req.QRPayload)
		must(t, err)
		if seen.ID != req.ID || seen.Amount != 1500 {
			t.Fatalf("resolved %+v", seen)
		}
		_, err = s.ResolveQR(ctx, f.user.ID, "000201not-a-qr")
		wantCode(t, err, renkei.EINVALID, "")

		// A user without money cannot pay, and the request stays open.
		_, err = s.ConfirmQR(ctx, other.user.ID, req.QRPayload)
		wantCode(t, err, renkei.EDECLINED, renkei.ReasonInsufficientBalance)

		p, err := s.ConfirmQR(ctx, f.user.ID, req.QRPayload)
		must(t, err)
		if p.Status != renkei.PaymentCompleted || p.UserID != f.user.ID || balance(t, s, f.user.ID) != 3500 {
			t.Fatalf("paid %+v", p)
		}
		_, err = s.ConfirmQR(ctx, f.user.ID, req.QRPayload)
		wantCode(t, err, renkei.ECONFLICT, "")
		if got := events(t, s, p.ID); fmt.Sprint(got) != "[payment.created payment.completed]" {
			t.Fatalf("events %v", got)
		}

		// An unpaid request expires, with its event.
		req2, err := s.CreatePaymentRequest(ctx, renkei.CreatePaymentRequest{TerminalID: f.terminal.ID, Amount: 700})
		must(t, err)
		c.advance(renkei.PaymentRequestTTL)
		_, err = s.ConfirmQR(ctx, f.user.ID, req2.QRPayload)
		wantCode(t, err, renkei.EDECLINED, renkei.ReasonRequestExpired)
		n, err := s.ExpirePayments(ctx)
		must(t, err)
		if n != 1 {
			t.Fatalf("expired %d", n)
		}
		got, err := s.FindPayment(ctx, req2.ID)
		must(t, err)
		if got.Status != renkei.PaymentExpired {
			t.Fatalf("status %s", got.Status)
		}
		if ev := events(t, s, req2.ID); fmt.Sprint(ev) != "[payment.created payment.expired]" {
			t.Fatalf("events %v", ev)
		}
		checkLedger(t, s)
	})
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 10_000)
		p, err := charge(t, s, f, 3000)
		must(t, err)

		r1, err := s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 1000, Reason: "one item returned"})
		must(t, err)
		if r1.Amount != 1000 || r1.Status != renkei.RefundSucceeded {
			t.Fatalf("refund %+v", r1)
		}
		got, err := s.FindPayment(ctx, p.ID)
		must(t, err)
		if got.Status != renkei.PaymentPartiallyRefunded || got.AmountRefunded != 1000 || len(got.Refunds) != 1 {
			t.Fatalf("payment %+v", got)
		}
		_, err = s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 2001})
		wantCode(t, err, renkei.EINVALID, "")
		r2, err := s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID})
		must(t, err)
		if r2.Amount != 2000 {
			t.Fatalf("rest refund %d", r2.Amount)
		}
		_, err = s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 1})
		wantCode(t, err, renkei.ECONFLICT, "")
		if balance(t, s, f.user.ID) != 10_000 {
			t.Fatal("refunds did not restore the balance")
		}
		found, err := s.FindRefund(ctx, r2.ID)
		must(t, err)
		if found.PaymentID != p.ID {
			t.Fatalf("refund %+v", found)
		}
		if ev := events(t, s, p.ID); fmt.Sprint(ev) != "[payment.completed payment.refunded payment.refunded]" {
			t.Fatalf("events %v", ev)
		}
		_, err = s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: "pay_01M897PAVFH7DJ4CC7G2SYCJQK"})
		wantCode(t, err, renkei.ENOTFOUND, "")
		checkLedger(t, s)
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 10_000)
		pc, err := s.NewPayCode(ctx, f.user.ID, "JPY")
		must(t, err)
		req := renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 900}
		key := func(hash string) (context.Context, *renkei.Idempotency) {
			i := &renkei.Idempotency{Scope: "terminal:" + f.terminal.ID, Key: "k-1", RequestHash: hash}
			return renkei.NewContextWithIdempotency(ctx, i), i
		}
		ctx1, i1 := key("h1")
		p1, err := s.ChargeCode(ctx1, req)
		must(t, err)
		if i1.Replayed {
			t.Fatal("first call marked replayed")
		}
		ctx2, i2 := key("h1")
		p2, err := s.ChargeCode(ctx2, req)
		must(t, err)
		if !i2.Replayed || p2.ID != p1.ID || p2.Status != p1.Status {
			t.Fatalf("replay %+v replayed=%v", p2, i2.Replayed)
		}
		ctx3, _ := key("h2")
		_, err = s.ChargeCode(ctx3, req)
		if e := wantCode(t, err, renkei.ECONFLICT, ""); e.Reason != "idempotency_key_reused" {
			t.Fatalf("reason %q", e.Reason)
		}
		if balance(t, s, f.user.ID) != 9100 {
			t.Fatal("replay moved money")
		}

		// A decline is replayed as the same decline.
		pc2, err := s.NewPayCode(ctx, f.user.ID, "JPY")
		must(t, err)
		big := renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc2.Code, Amount: 50_000}
		dctx := func() context.Context {
			return renkei.NewContextWithIdempotency(ctx, &renkei.Idempotency{Scope: "terminal:" + f.terminal.ID, Key: "k-2", RequestHash: "h"})
		}
		_, err = s.ChargeCode(dctx(), big)
		d1 := wantCode(t, err, renkei.EDECLINED, renkei.ReasonInsufficientBalance)
		_, err = s.ChargeCode(dctx(), big)
		d2 := wantCode(t, err, renkei.EDECLINED, renkei.ReasonInsufficientBalance)
		if d1.PaymentID == "" || d1.PaymentID != d2.PaymentID {
			t.Fatalf("decline replay payment %q vs %q", d1.PaymentID, d2.PaymentID)
		}

		// Keys of another caller never collide.
		octx := renkei.NewContextWithIdempotency(ctx, &renkei.Idempotency{Scope: "user:" + f.user.ID, Key: "k-1", RequestHash: "zz"})
		_, err = s.TopUp(octx, renkei.TopUp{UserID: f.user.ID, Amount: 1})
		must(t, err)

		// Keys are purged after their time.
		c.advance(renkei.IdempotencyTTL + time.Minute)
		n, err := s.PurgeIdempotencyKeys(ctx)
		must(t, err)
		if n != 3 {
			t.Fatalf("purged %d keys", n)
		}
		checkLedger(t, s)
	})
}

// TestIdempotencyConcurrent sends 100 concurrent charges with one key:
// exactly one payment and one debit.
func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 10_000)
		pc, err := s.NewPayCode(ctx, f.user.ID, "JPY")
		must(t, err)
		req := renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 700}
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			ids    = map[string]int{}
			others []error
		)
		for i := 0; i < 100; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ictx := renkei.NewContextWithIdempotency(ctx, &renkei.Idempotency{Scope: "t", Key: "same", RequestHash: "h"})
				p, err := s.ChargeCode(ictx, req)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					others = append(others, err)
					return
				}
				ids[p.ID]++
			}()
		}
		wg.Wait()
		// Every caller gets the one payment: a caller whose key another
		// request holds is answered only after the holder's batch has
		// committed, so it never sees "in progress, retry".
		for _, err := range others {
			t.Errorf("a caller failed: %v", err)
		}
		if len(ids) != 1 {
			t.Fatalf("payments made: %v", ids)
		}
		if got := balance(t, s, f.user.ID); got != 9300 {
			t.Fatalf("balance %d, want one debit of 700", got)
		}
		ps, _, err := s.ListPayments(ctx, renkei.PaymentFilter{UserID: f.user.ID})
		must(t, err)
		if len(ps) != 1 {
			t.Fatalf("%d payments", len(ps))
		}
		checkLedger(t, s)
	})
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		u, tok, err := s.CreateUser(ctx, renkei.CreateUser{Name: "Ben"})
		must(t, err)
		m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Midori Mart", MCC: "5411"})
		must(t, err)
		term, key, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "R1"})
		must(t, err)
		for _, tc := range []struct {
			token, kind, id string
		}{
			{tok, renkei.KindUser, u.ID},
			{key, renkei.KindTerminal, term.ID},
			{"admin-secret", renkei.KindAdmin, "admin"},
		} {
			p, err := s.Authenticate(ctx, tc.token)
			must(t, err)
			if p.Kind != tc.kind || p.ID != tc.id {
				t.Fatalf("%s: got %+v", tc.kind, p)
			}
		}
		for _, bad := range []string{"", "rk_usr_nope", tok + "x", "admin", key[:len(key)-1]} {
			_, err := s.Authenticate(ctx, bad)
			wantCode(t, err, renkei.EUNAUTHORIZED, "")
		}
	})
}

func TestMerchantsAndValidation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		_, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "X", MCC: "0000"})
		wantCode(t, err, renkei.EINVALID, "")
		_, err = s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "", MCC: "5411"})
		wantCode(t, err, renkei.EINVALID, "")
		for i := 0; i < 3; i++ {
			_, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: fmt.Sprintf("Shop %d", i), MCC: "5411"})
			must(t, err)
		}
		page1, more, err := s.ListMerchants(ctx, renkei.Page{Limit: 2})
		must(t, err)
		if len(page1) != 2 || !more {
			t.Fatalf("page1 %d more=%v", len(page1), more)
		}
		page2, more, err := s.ListMerchants(ctx, renkei.Page{Limit: 2, StartingAfter: page1[1].ID})
		must(t, err)
		if len(page2) != 1 || more || page2[0].Name != "Shop 0" {
			t.Fatalf("page2 %+v more=%v", page2, more)
		}
		_, _, err = s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: "mer_missing", Name: "R"})
		wantCode(t, err, renkei.ENOTFOUND, "")
		_, err = s.TopUp(ctx, renkei.TopUp{UserID: "usr_missing", Amount: 5})
		wantCode(t, err, renkei.ENOTFOUND, "")
		_, err = s.SetMerchantStatus(ctx, page1[0].ID, "closed")
		wantCode(t, err, renkei.EINVALID, "")
	})
}

// A pay code is only for a wallet the user has; the check is part of the
// code's INSERT, so nothing is stored for a wallet that is not there, and
// a merchant without an account in the charge's currency gets one.
func TestPayCodeNeedsAWallet(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, _ *clock) {
		ctx := context.Background()
		f := newFixture(t, s, 0)
		_, err := s.NewPayCode(ctx, f.user.ID, "USD")
		e := wantCode(t, err, renkei.ENOTFOUND, "")
		if e.Message != "The user has no USD wallet." {
			t.Fatalf("message %q", e.Message)
		}
		_, err = s.TopUp(ctx, renkei.TopUp{UserID: f.user.ID, Amount: 500, Currency: "USD"})
		must(t, err)
		pc, err := s.NewPayCode(ctx, f.user.ID, "USD")
		must(t, err)
		p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: f.terminal.ID, Code: pc.Code, Amount: 200, Currency: "USD"})
		must(t, err)
		if p.Status != renkei.PaymentCompleted {
			t.Fatalf("status %s", p.Status)
		}
		checkLedger(t, s)
	})
}
