package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
	"pgregory.net/rapid"
)

// TestLedgerProperties drives random sequences of top-ups, payments in
// both flows, declines, refunds and expiries against a model, and checks
// after every step that the store agrees with the model and that the
// ledger's invariants hold: postings sum to zero, balances equal their
// postings, no wallet below zero, refunded never above paid, one event per
// state change.
func TestLedgerProperties(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			s, c := openStore(t, e)
			rapid.Check(t, func(rt *rapid.T) { ledgerRun(rt, s, c) })
		})
	}
}

type modelPayment struct {
	id       string
	user     int
	amount   int64
	refunded int64
	events   int
}

func ledgerRun(t *rapid.T, s *store.Store, c *clock) {
	ctx := context.Background()
	nUsers := rapid.IntRange(1, 3).Draw(t, "users")
	var (
		users    []*renkei.User
		balances []int64
		payments []*modelPayment
		pending  []*renkei.Payment
	)
	for i := 0; i < nUsers; i++ {
		u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: fmt.Sprintf("u%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		users, balances = append(users, u), append(balances, 0)
	}
	m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Prop Shop", MCC: "5411"})
	if err != nil {
		t.Fatal(err)
	}
	term, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "R"})
	if err != nil {
		t.Fatal(err)
	}
	amount := rapid.Int64Range(1, 5000)

	steps := rapid.IntRange(1, 25).Draw(t, "steps")
	for i := 0; i < steps; i++ {
		u := rapid.IntRange(0, nUsers-1).Draw(t, "user")
		switch rapid.IntRange(0, 5).Draw(t, "op") {
		case 0: // top-up
			a := amount.Draw(t, "topup")
			if _, err := s.TopUp(ctx, renkei.TopUp{UserID: users[u].ID, Amount: a}); err != nil {
				t.Fatal(err)
			}
			balances[u] += a
		case 1: // consumer-presented charge, maybe more than the balance
			a := amount.Draw(t, "charge")
			pc, err := s.NewPayCode(ctx, users[u].ID, "JPY")
			if err != nil {
				t.Fatal(err)
			}
			p, err := s.ChargeCode(ctx, renkei.ChargeCode{TerminalID: term.ID, Code: pc.Code, Amount: a})
			if a > balances[u] {
				var de *renkei.Error
				if !errors.As(err, &de) || de.Reason != renkei.ReasonInsufficientBalance || de.PaymentID == "" {
					t.Fatalf("charge %d over balance %d: %v", a, balances[u], err)
				}
				payments = append(payments, &modelPayment{id: de.PaymentID, user: u, events: 1})
				continue
			}
			if err != nil {
				t.Fatalf("charge %d of %d: %v", a, balances[u], err)
			}
			balances[u] -= a
			payments = append(payments, &modelPayment{id: p.ID, user: u, amount: a, events: 1})
		case 2: // merchant-presented request
			p, err := s.CreatePaymentRequest(ctx, renkei.CreatePaymentRequest{TerminalID: term.ID, Amount: amount.Draw(t, "request")})
			if err != nil {
				t.Fatal(err)
			}
			pending = append(pending, p)
		case 3: // confirm a pending request
			if len(pending) == 0 {
				continue
			}
			k := rapid.IntRange(0, len(pending)-1).Draw(t, "pending")
			req := pending[k]
			p, err := s.ConfirmQR(ctx, users[u].ID, req.QRPayload)
			switch {
			case err == nil:
				balances[u] -= req.Amount
				payments = append(payments, &modelPayment{id: p.ID, user: u, amount: req.Amount, events: 2})
				pending = append(pending[:k], pending[k+1:]...)
			case renkei.ErrorCode(err) == renkei.EDECLINED:
				// Too little money or expired: nothing moved.
			default:
				t.Fatalf("confirm: %v", err)
			}
		case 4: // refund part or all of a completed payment, maybe too much
			if len(payments) == 0 {
				continue
			}
			mp := payments[rapid.IntRange(0, len(payments)-1).Draw(t, "payment")]
			a := rapid.Int64Range(0, mp.amount+10).Draw(t, "refund")
			_, err := s.CreateRefund(ctx, renkei.CreateRefund{PaymentID: mp.id, Amount: a})
			left := mp.amount - mp.refunded
			want := a
			if a == 0 {
				want = left
			}
			if mp.amount == 0 || left == 0 || want > left {
				if err == nil {
					t.Fatalf("refund %d of %+v accepted", a, mp)
				}
				continue
			}
			if err != nil {
				t.Fatalf("refund %d of %+v: %v", a, mp, err)
			}
			mp.refunded += want
			mp.events++
			balances[mp.user] += want
		case 5: // time passes; requests expire
			c.advance(renkei.PaymentRequestTTL)
			if _, err := s.ExpirePayments(ctx); err != nil {
				t.Fatal(err)
			}
			pending = nil
		}

		for j, uu := range users {
			if got := balance(t, s, uu.ID); got != balances[j] {
				t.Fatalf("user %d balance %d, model %d", j, got, balances[j])
			}
		}
	}
	checkLedger(t, s)
	for _, mp := range payments {
		p, err := s.FindPayment(ctx, mp.id)
		if err != nil {
			t.Fatal(err)
		}
		if p.AmountRefunded != mp.refunded {
			t.Fatalf("payment %s refunded %d, model %d", p.ID, p.AmountRefunded, mp.refunded)
		}
		if got := len(events(t, s, mp.id)); got != mp.events {
			t.Fatalf("payment %s has %d events, model %d", mp.id, got, mp.events)
		}
	}
}
