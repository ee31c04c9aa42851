package delivery_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/delivery"
	"github.com/renkei/renkei/emvco"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/store/storetest"
	"github.com/renkei/renkei/webhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// receiver is a partner endpoint: it verifies every message with the
// Standard Webhooks library and answers with the status fail() decides.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []received
	calls  atomic.Int64
	fail   func(call int64) int // status for this call; 0 = 200
	// tried counts every call by message type, answered or failed.
	tried map[string]int
}

type received struct {
	id  string
	msg store.Message
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.calls.Add(1)
		body, _ := io.ReadAll(req.Body)
		var typ struct{ Type string }
		json.Unmarshal(body, &typ)
		r.mu.Lock()
		secret := r.secret
		if r.tried == nil {
			r.tried = map[string]int{}
		}
		r.tried[typ.Type]++
		r.mu.Unlock()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil || wh.Verify(body, req.Header) != nil {
			t.Errorf("message %s does not verify: %v", req.Header.Get("webhook-id"), err)
			w.WriteHeader(400)
			return
		}
		if r.fail != nil {
			if st := r.fail(n); st != 0 {
				w.WriteHeader(st)
				io.WriteString(w, "try later")
				return
			}
		}
		var m store.Message
		json.Unmarshal(body, &m)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Get("webhook-id"), m})
		r.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

type env struct {
	st       *store.Store
	eng      *delivery.Engine
	user     *renkei.User
	terminal *renkei.Terminal
	svc      *renkei.RelatedService
}

func newEnv(t *testing.T, engine string, rcv *receiver, schedule []time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.DSN(t, engine)
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, webhook.KeySize)
	rand.Read(key)
	sealer, err := webhook.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	pol := webhook.Policy{AllowPrivate: true}
	st.PayCode, st.ParsePayCode = emvco.NewPayCode, emvco.ParsePayCode
	st.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	st.Secrets, st.NewSecret, st.CheckEndpoint = sealer, webhook.NewSecret, pol.CheckURL
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, err := delivery.Open(ctx, st, delivery.Config{Policy: pol, Timeout: 2 * time.Second, Work: true, Schedule: schedule, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		eng.Stop(sctx)
		st.Close()
	})
	u, _, err := st.CreateUser(ctx, renkei.CreateUser{Name: "Aiko"})
	must(t, err)
	_, err = st.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: 1_000_000})
	must(t, err)
	m, err := st.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Cafe Hikari", MCC: "5814"})
	must(t, err)
	term, _, err := st.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "R1"})
	must(t, err)
	svc, _, err := st.CreateRelatedService(ctx, renkei.RelatedServiceInput{
		Name: "Kakeibo", AppCategory: "household_budget", WebhookURL: rcv.srv.URL + "/hooks",
		Scopes: renkei.AllScopes, Input: renkei.InputFields{Memo: true},
		Policy: renkei.ServicePolicy{BaseThreshold: map[string]int64{"JPY": 1000}}, Enabled: true,
	})
	must(t, err)
	if len(svc.WebhookSecret) < 40 || svc.WebhookSecret[:6] != "whsec_" {
		t.Fatalf("secret %q", svc.WebhookSecret)
	}
	rcv.mu.Lock()
	rcv.secret = svc.WebhookSecret
	rcv.mu.Unlock()
	_, err = st.CreateLink(ctx, u.ID, renkei.LinkInput{ServiceID: svc.ID, Auto: true})
	must(t, err)
	return &env{st: st, eng: eng, user: u, terminal: term, svc: svc}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) pay(t *testing.T, amount int64) *renkei.Payment {
	t.Helper()
	ctx := context.Background()
	pc, err := e.st.NewPayCode(ctx, e.user.ID, "JPY")
	must(t, err)
	p, err := e.st.ChargeCode(ctx, renkei.ChargeCode{TerminalID: e.terminal.ID, Code: pc.Code, Amount: amount})
	must(t, err)
	return p
}

// waitFor polls until cond holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDeliversSignedInOrder(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			e := newEnv(t, engine, rcv, nil)
			var ids []string
			for i := 0; i < 5; i++ {
				ids = append(ids, e.pay(t, int64(1000+i)).ID)
			}
			waitFor(t, "5 messages", func() bool { return len(rcv.messages()) == 5 })
			waitFor(t, "5 recorded deliveries", func() bool {
				ds, _, _ := e.st.ListDeliveries(context.Background(), renkei.DeliveryFilter{Status: renkei.DeliveryDelivered})
				return len(ds) == 5
			})
			seen := map[int64]string{}
			for _, m := range rcv.messages() {
				if m.msg.Type != "payment.completed" || m.msg.Data.Source != "link" || m.id[:4] != "msg_" {
					t.Fatalf("message %+v", m)
				}
				seen[m.msg.Data.Sequence] = m.msg.Data.PaymentID
			}
			for i, id := range ids {
				if seen[int64(i+1)] != id {
					t.Fatalf("sequence %d is %s, want %s", i+1, seen[int64(i+1)], id)
				}
			}
			ds, _, err := e.st.ListDeliveries(context.Background(), renkei.DeliveryFilter{Status: renkei.DeliveryDelivered})
			must(t, err)
			if len(ds) != 5 || ds[0].Attempts != 1 || ds[0].DeliveredAt == nil {
				t.Fatalf("delivered %+v", ds[0])
			}
			as, err := e.st.Attempts(context.Background(), ds[0].ID)
			must(t, err)
			if len(as) != 1 || as[0].StatusCode != 204 {
				t.Fatalf("attempts %+v", as)
			}
		})
	}
}

// TestRetriesThenDelivers: a receiver that fails twice gets the message on
// the third attempt, with the same webhook-id; each attempt is logged.
func TestRetriesThenDelivers(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	rcv.fail = func(n int64) int {
		if n <= 2 {
			return 503
		}
		return 0
	}
	e := newEnv(t, "sqlite", rcv, []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond})
	e.pay(t, 2000)
	waitFor(t, "delivery after retries", func() bool { return len(rcv.messages()) == 1 })
	var ds []*renkei.Delivery
	waitFor(t, "the delivered status", func() bool {
		ds, _, _ = e.st.ListDeliveries(context.Background(), renkei.DeliveryFilter{Status: renkei.DeliveryDelivered})
		return len(ds) == 1
	})
	var err error
	as, err := e.st.Attempts(context.Background(), ds[0].ID)
	must(t, err)
	if ds[0].Status != renkei.DeliveryDelivered || len(as) != 3 || as[0].StatusCode != 503 || as[0].ResponseBody != "try later" {
		t.Fatalf("delivery %+v attempts %+v", ds[0], as)
	}
	if rcv.messages()[0].id != ds[0].ID {
		t.Fatal("webhook-id changed between attempts")
	}
}

// TestFailsAndReplays: a receiver that is down uses up every attempt; the
// delivery fails and stays listed; a replay after it comes back delivers
// it once, under its original id.
func TestFailsAndReplays(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	var down atomic.Bool
	down.Store(true)
	rcv.fail = func(int64) int {
		if down.Load() {
			return 500
		}
		return 0
	}
	e := newEnv(t, "sqlite", rcv, []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond})
	e.pay(t, 3000)
	ctx := context.Background()
	waitFor(t, "failure", func() bool {
		ds, _, _ := e.st.ListDeliveries(ctx, renkei.DeliveryFilter{Status: renkei.DeliveryFailed})
		return len(ds) == 1
	})
	if rcv.calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", rcv.calls.Load())
	}
	down.Store(false)
	n, err := e.st.Replay(ctx, store.ReplayFilter{ServiceID: e.svc.ID}, nil)
	must(t, err)
	if n != 1 {
		t.Fatalf("replayed %d", n)
	}
	waitFor(t, "replayed delivery", func() bool { return len(rcv.messages()) == 1 })
}

// TestGoneDisables: 410 stops at once and disables the endpoint, with the
// reason recorded for the admin and the partner.
func TestGoneDisables(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	rcv.fail = func(int64) int { return 410 }
	e := newEnv(t, "sqlite", rcv, nil)
	e.pay(t, 3000)
	ctx := context.Background()
	waitFor(t, "disable", func() bool {
		rs, _ := e.st.FindRelatedService(ctx, e.svc.ID)
		return rs != nil && !rs.Enabled
	})
	rs, _ := e.st.FindRelatedService(ctx, e.svc.ID)
	if rs.DisabledReason == "" {
		t.Fatal("no reason recorded")
	}
	if rcv.calls.Load() != 1 {
		t.Fatalf("%d calls after 410", rcv.calls.Load())
	}
}

// TestRotationSignsWithBoth: after a rotation the partner can verify with
// either secret during the grace period.
func TestRotationSignsWithBoth(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	e := newEnv(t, "sqlite", rcv, nil)
	newSecret, err := e.st.RotateSecret(context.Background(), e.svc.ID, time.Hour)
	must(t, err)
	e.pay(t, 1500) // verified by the receiver with the old secret
	waitFor(t, "old-secret delivery", func() bool { return len(rcv.messages()) == 1 })
	rcv.mu.Lock()
	rcv.secret = newSecret
	rcv.mu.Unlock()
	e.pay(t, 1600)
	waitFor(t, "new-secret delivery", func() bool { return len(rcv.messages()) == 2 })
}

// triedOf is how many calls carried a message of the type.
func (r *receiver) triedOf(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tried[typ]
}

// TestUnlinkCancelsQueued: messages queued for a partner that is down are
// not sent after the user unlinks; link.revoked, queued by the unlink, is
// the one message still sent.
func TestUnlinkCancelsQueued(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	rcv.fail = func(int64) int { return 503 }
	e := newEnv(t, "sqlite", rcv, []time.Duration{0, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond})
	ctx := context.Background()
	e.pay(t, 1200)
	waitFor(t, "first failed attempt", func() bool { return rcv.calls.Load() >= 1 })
	links, err := e.st.ListLinks(ctx, e.user.ID)
	must(t, err)
	_, err = e.st.RevokeLink(ctx, e.user.ID, links[0].ID)
	must(t, err)
	calls := rcv.triedOf(renkei.EventPaymentCompleted)
	// Drain the queue instead of waiting a while: once the jobs have
	// ended nothing can send again, so the counts are final. An attempt in
	// flight when the unlink committed may still land; link.revoked, queued
	// by the unlink, is sent (and here retried until it gives up).
	waitFor(t, "the jobs to end", func() bool {
		var open int
		must(t, e.st.SQLDB().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job
			WHERE kind = 'renkei_delivery' AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&open))
		return open == 0
	})
	if rcv.triedOf(renkei.EventLinkRevoked) == 0 {
		t.Fatal("link.revoked was never sent")
	}
	if got := rcv.triedOf(renkei.EventPaymentCompleted); got > calls+1 {
		t.Fatalf("sending went on after unlink: %d calls then %d", calls, got)
	}
	ds, _, err := e.st.ListDeliveries(ctx, renkei.DeliveryFilter{})
	must(t, err)
	if len(ds) != 2 || ds[0].Type != renkei.EventLinkRevoked || ds[1].Status != renkei.DeliveryCanceled {
		t.Fatalf("deliveries %+v", ds)
	}
}

// TestManyAtOnceEachLogged sends many messages at once, some of whose first
// calls fail, so the attempt log is written in groups mixing successes and
// retries: every message arrives, and every attempt the receiver answered
// is logged once against its delivery.
func TestManyAtOnceEachLogged(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			rcv.fail = func(call int64) int {
				if call <= 45 && call%3 == 0 {
					return 503
				}
				return 0
			}
			sched := make([]time.Duration, 20)
			for i := range sched {
				sched[i] = 20 * time.Millisecond
			}
			e := newEnv(t, engine, rcv, sched)
			const n = 60
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() { e.pay(t, 1500) })
			}
			wg.Wait()
			ctx := context.Background()
			waitFor(t, "every delivery delivered", func() bool {
				ds, _, _ := e.st.ListDeliveries(ctx, renkei.DeliveryFilter{Status: renkei.DeliveryDelivered, Page: renkei.Page{Limit: 100}})
				return len(ds) == n
			})
			ds, _, err := e.st.ListDeliveries(ctx, renkei.DeliveryFilter{Page: renkei.Page{Limit: 100}})
			must(t, err)
			logged := 0
			for _, d := range ds {
				as, err := e.st.Attempts(ctx, d.ID)
				must(t, err)
				if len(as) != d.Attempts || as[len(as)-1].StatusCode != 204 {
					t.Fatalf("delivery %s: %d attempts counted, %d logged, last %+v", d.ID, d.Attempts, len(as), as[len(as)-1])
				}
				logged += len(as)
			}
			if calls := rcv.calls.Load(); int64(logged) != calls {
				t.Fatalf("the receiver answered %d calls, %d attempts logged", calls, logged)
			}
			if got := len(rcv.messages()); got != n {
				t.Fatalf("the receiver accepted %d messages, want %d", got, n)
			}
		})
	}
}

// TestUnlinkDuringSendDeliveredWins: the user unlinks while the partner is
// still answering a message. The partner answered 2xx, so it has the
// payment: the delivery is recorded delivered, not canceled, and after the
// user links again a refund of that payment is sent to the partner.
func TestUnlinkDuringSendDeliveredWins(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			arrived, unlinked := make(chan struct{}), make(chan struct{})
			var once sync.Once
			rcv.fail = func(call int64) int {
				if call == 1 {
					// Hold the first answer until the unlink has committed.
					once.Do(func() { close(arrived) })
					<-unlinked
				}
				return 0
			}
			e := newEnv(t, engine, rcv, nil)
			ctx := context.Background()
			p := e.pay(t, 2400)
			select {
			case <-arrived:
			case <-time.After(20 * time.Second):
				t.Fatal("the message never reached the partner")
			}
			links, err := e.st.ListLinks(ctx, e.user.ID)
			must(t, err)
			_, err = e.st.RevokeLink(ctx, e.user.ID, links[0].ID)
			close(unlinked)
			must(t, err)

			var d *renkei.Delivery
			waitFor(t, "the attempt to be recorded", func() bool {
				ds, _, err := e.st.ListDeliveries(ctx, renkei.DeliveryFilter{PaymentID: p.ID})
				must(t, err)
				d = ds[0]
				return len(ds) == 1 && d.Attempts == 1
			})
			if d.Status != renkei.DeliveryDelivered || d.DeliveredAt == nil {
				t.Fatalf("the partner acknowledged the message, but its delivery is %s (delivered at %v)", d.Status, d.DeliveredAt)
			}

			// The unlink's link.revoked arrives too, before the relink.
			waitFor(t, "link.revoked", func() bool { return len(rcv.messages()) == 2 })
			if a, b := rcv.messages()[0].msg.Type, rcv.messages()[1].msg.Type; a == b || (a != renkei.EventLinkRevoked && b != renkei.EventLinkRevoked) {
				t.Fatalf("first messages %s and %s, want the payment and link.revoked", a, b)
			}
			_, err = e.st.CreateLink(ctx, e.user.ID, renkei.LinkInput{ServiceID: e.svc.ID})
			must(t, err)
			rf, err := e.st.CreateRefund(ctx, renkei.CreateRefund{PaymentID: p.ID, Amount: 400})
			must(t, err)
			waitFor(t, "the refund message", func() bool { return len(rcv.messages()) == 3 })
			m := rcv.messages()[2].msg
			if m.Type != renkei.EventPaymentRefunded || m.Data.PaymentID != p.ID || m.Data.RefundID != rf.ID {
				t.Fatalf("third message %+v, want the refund %s of %s", m, rf.ID, p.ID)
			}
		})
	}
}
