package partner_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renkei/renkei/partner"
)

func TestMessageRunsHandlerOnce(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	var c counter
	srv, logs := serve(t, &partner.Handler{Secrets: []string{sec}, OnPaymentCompleted: c.onCompleted})

	m := signed(t, completed, sec)
	post(t, srv, m).want(t, http.StatusOK)
	if c.runs() != 1 {
		t.Fatalf("handler ran %d times, want 1", c.runs())
	}
	ev, p := c.got()
	if ev.ID != m.id || ev.Type != partner.TypePaymentCompleted || ev.SignedAt.Unix() != m.ts.Unix() {
		t.Errorf("event %+v, want id %s signed at %v", ev, m.id, m.ts)
	}
	if p.Input == nil || p.Input.Memo != "team lunch" {
		t.Errorf("memo not decoded: %+v", p.Input)
	}

	// Renkei retries with the same id and a fresh signature.
	again := m
	again.ts = time.Now().Add(time.Second)
	again.sig = sign(t, again.id, again.ts, again.body, sec)
	a := post(t, srv, again).want(t, http.StatusOK)
	if !strings.Contains(a.text, "duplicate") {
		t.Errorf("answer %q should say duplicate", a.text)
	}
	// And an identical request, as a network retry would send it.
	post(t, srv, m).want(t, http.StatusOK)
	if c.runs() != 1 {
		t.Fatalf("handler ran %d times after redeliveries, want 1", c.runs())
	}
	if !strings.Contains(logs.String(), "duplicate "+m.id) {
		t.Errorf("log does not mention the duplicate:\n%s", logs)
	}
}

func TestSecretRotation(t *testing.T) {
	t.Parallel()
	old, new := newSecret(t), newSecret(t)
	for _, tc := range []struct {
		name       string
		signedWith []string
		configured []string
		status     int
	}{
		{"both signatures, only new configured", []string{new, old}, []string{new}, 200},
		{"both signatures, only old configured", []string{new, old}, []string{old}, 200},
		{"both signatures, both configured", []string{old, new}, []string{new, old}, 200},
		{"old signature, both configured", []string{old}, []string{new, old}, 200},
		{"old signature, only new configured", []string{old}, []string{new}, 401},
		{"new signature, only old configured", []string{new}, []string{old}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c counter
			srv, _ := serve(t, &partner.Handler{Secrets: tc.configured, OnPaymentCompleted: c.onCompleted})
			post(t, srv, signed(t, completed, tc.signedWith...)).want(t, tc.status)
			if want := map[bool]int{true: 1, false: 0}[tc.status == 200]; c.runs() != want {
				t.Errorf("handler ran %d times, want %d", c.runs(), want)
			}
		})
	}
}

func TestWrongSecretIsRejected(t *testing.T) {
	t.Parallel()
	sec, other := newSecret(t), newSecret(t)
	var c counter
	srv, logs := serve(t, &partner.Handler{Secrets: []string{sec}, OnPaymentCompleted: c.onCompleted})

	m := signed(t, completed, other)
	a := post(t, srv, m).want(t, http.StatusUnauthorized)
	// A signature of the right secret over other bytes is as wrong.
	tampered := signed(t, completed, sec)
	tampered.body = []byte(strings.Replace(completed, "12800", "128000", 1))
	post(t, srv, tampered).want(t, http.StatusUnauthorized)
	// Garbage in the header.
	junk := signed(t, completed, sec)
	junk.sig = "v1,not-base64!! v2,abc nonsense"
	post(t, srv, junk).want(t, http.StatusUnauthorized)

	if c.runs() != 0 {
		t.Fatalf("handler ran on a bad signature")
	}
	line := "renkei webhook: rejected " + m.id + ": signature does not match any configured secret"
	if !strings.Contains(logs.String(), line) {
		t.Errorf("log lacks %q:\n%s", line, logs)
	}
	if !strings.Contains(a.text, "signature does not match") {
		t.Errorf("answer %q does not say why", a.text)
	}
	assertNoLeak(t, logs.String(), sec, other, m.sig, "team lunch", "Cafe Hikari")
}

// assertNoLeak fails if a secret, a signature or body content is in the log.
func assertNoLeak(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, part := range strings.Fields(s) {
			part = strings.TrimPrefix(strings.TrimPrefix(part, "whsec_"), "v1,")
			if len(part) > 8 && strings.Contains(log, part) {
				t.Errorf("log holds %q:\n%s", part, log)
			}
		}
	}
}

func TestTimestampTolerance(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	now := time.Date(2026, 11, 25, 3, 12, 45, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		offset time.Duration
		status int
		says   string
	}{
		{"now", 0, 200, "ok"},
		{"4m59s old", -(5*time.Minute - time.Second), 200, "ok"},
		{"4m59s ahead", 5*time.Minute - time.Second, 200, "ok"},
		{"6 minutes old", -6 * time.Minute, 401, "ago, beyond the tolerance"},
		{"6 minutes ahead", 6 * time.Minute, 401, "in the future"},
		{"a day old", -24 * time.Hour, 401, "ago, beyond the tolerance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c counter
			srv, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Now: func() time.Time { return now },
				OnPaymentCompleted: c.onCompleted})
			m := msg{id: newMsgID(), ts: now.Add(tc.offset), body: []byte(completed)}
			m.sig = sign(t, m.id, m.ts, m.body, sec)
			a := post(t, srv, m).want(t, tc.status)
			if !strings.Contains(a.text, tc.says) {
				t.Errorf("answer %q should say %q", a.text, tc.says)
			}
			if (c.runs() == 1) != (tc.status == 200) {
				t.Errorf("handler ran %d times with status %d", c.runs(), tc.status)
			}
		})
	}

	t.Run("custom tolerance", func(t *testing.T) {
		t.Parallel()
		srv, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Tolerance: 30 * time.Second,
			Now: func() time.Time { return now }, OnPaymentCompleted: (&counter{}).onCompleted})
		m := msg{id: newMsgID(), ts: now.Add(-time.Minute), body: []byte(completed)}
		m.sig = sign(t, m.id, m.ts, m.body, sec)
		post(t, srv, m).want(t, http.StatusUnauthorized)
	})
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	var c counter
	srv, logs := serve(t, &partner.Handler{Secrets: []string{sec}, MaxBody: 1 << 10, OnPaymentCompleted: c.onCompleted,
		OnPaymentRefunded: func(context.Context, *partner.Event, *partner.PaymentRefunded) error { return nil }})

	for _, tc := range []struct {
		name   string
		m      func() msg
		status int
		says   string
	}{
		{"malformed JSON", func() msg { return signed(t, `{"type":"payment.completed","data":{`, sec) }, 400, "not a JSON message"},
		{"not an object", func() msg { return signed(t, `[1,2,3]`, sec) }, 400, "not a JSON message"},
		{"empty body", func() msg { return signed(t, ``, sec) }, 400, "not a JSON message"},
		{"no type", func() msg { return signed(t, `{"data":{"payment_id":"pay_1"}}`, sec) }, 400, "no type"},
		{"no data", func() msg { return signed(t, `{"type":"payment.completed"}`, sec) }, 400, "no data"},
		{"wrong field type", func() msg {
			return signed(t, `{"type":"payment.completed","data":{"payment_id":"pay_1","amount":"a lot","user":"pu_1"}}`, sec)
		}, 400, "field amount"},
		{"no payment_id", func() msg { return signed(t, `{"type":"payment.completed","data":{"user":"pu_1"}}`, sec) }, 400, "no payment_id"},
		{"refund without refund_id", func() msg {
			return signed(t, `{"type":"payment.refunded","data":{"payment_id":"pay_1","user":"pu_1"}}`, sec)
		}, 400, "no refund_id"},
		{"oversized", func() msg {
			return signed(t, `{"type":"payment.completed","data":{"payment_id":"`+strings.Repeat("x", 2<<10)+`"}}`, sec)
		}, 413, "over the limit"},
		{"oversized without Content-Length", func() msg {
			m := signed(t, `{"type":"payment.completed","data":{"payment_id":"`+strings.Repeat("x", 2<<10)+`"}}`, sec)
			m.chunked = true
			return m
		}, 413, "over the limit"},
		{"no webhook-id", func() msg { m := signed(t, completed, sec); m.drop = []string{partner.HeaderID}; return m }, 400, "missing header webhook-id"},
		{"no webhook-timestamp", func() msg {
			m := signed(t, completed, sec)
			m.drop = []string{partner.HeaderTimestamp}
			return m
		}, 400, "missing header webhook-timestamp"},
		{"no webhook-signature", func() msg {
			m := signed(t, completed, sec)
			m.drop = []string{partner.HeaderSignature}
			return m
		}, 400, "missing header webhook-signature"},
		{"no headers at all", func() msg {
			m := signed(t, completed, sec)
			m.drop = []string{partner.HeaderID, partner.HeaderTimestamp, partner.HeaderSignature}
			return m
		}, 400, "missing header"},
		{"id with a full stop", func() msg {
			m := signed(t, completed, sec)
			m.id = "msg_1.2"
			m.sig = sign(t, m.id, m.ts, m.body, sec)
			return m
		}, 400, "forbidden character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, srv, tc.m()).want(t, tc.status)
			if !strings.Contains(a.text, tc.says) {
				t.Errorf("answer %q should say %q", a.text, tc.says)
			}
		})
	}

	t.Run("timestamp not a number", func(t *testing.T) {
		m := signed(t, completed, sec)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(completed))
		req.Header.Set(partner.HeaderID, m.id)
		req.Header.Set(partner.HeaderTimestamp, "2026-11-25T03:12:45Z")
		req.Header.Set(partner.HeaderSignature, m.sig)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})

	t.Run("GET", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
			t.Errorf("GET: %d Allow %q, want 405 POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	if c.runs() != 0 {
		t.Errorf("handler ran %d times on malformed requests", c.runs())
	}
	assertNoLeak(t, logs.String(), sec, "xxxxxxxxxxxxxxxx")
}

func TestMisconfiguredHandlerAsksForRetry(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	for name, secrets := range map[string][]string{
		"no secrets":      nil,
		"not base64":      {"whsec_%%%"},
		"too short a key": {"whsec_c2hvcnQ="},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, logs := serve(t, &partner.Handler{Secrets: secrets, OnPaymentCompleted: (&counter{}).onCompleted})
			post(t, srv, signed(t, completed, sec)).want(t, http.StatusInternalServerError)
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("a configuration error should be logged as an error:\n%s", logs)
			}
		})
	}
}

func TestHandlerErrorIsRetried(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	c := counter{err: errors.New("database is down")}
	srv, logs := serve(t, &partner.Handler{Secrets: []string{sec}, OnPaymentCompleted: c.onCompleted})

	m := signed(t, completed, sec)
	post(t, srv, m).want(t, http.StatusInternalServerError)
	if !strings.Contains(logs.String(), "handler failed for "+m.id) || !strings.Contains(logs.String(), "database is down") {
		t.Errorf("log does not explain the failure:\n%s", logs)
	}
	post(t, srv, m).want(t, http.StatusOK) // the retry runs it again and succeeds
	post(t, srv, m).want(t, http.StatusOK) // now a duplicate
	if c.runs() != 2 {
		t.Fatalf("handler ran %d times, want 2 (failed, then succeeded)", c.runs())
	}
}

func TestHandlerPanicIsRetried(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	var runs int
	var mu sync.Mutex
	srv, logs := serve(t, &partner.Handler{Secrets: []string{sec},
		OnPaymentCompleted: func(context.Context, *partner.Event, *partner.PaymentCompleted) error {
			mu.Lock()
			defer mu.Unlock()
			runs++
			if runs == 1 {
				panic("nil map")
			}
			return nil
		}})
	m := signed(t, completed, sec)
	post(t, srv, m).want(t, http.StatusInternalServerError)
	post(t, srv, m).want(t, http.StatusOK)
	mu.Lock()
	defer mu.Unlock()
	if runs != 2 || !strings.Contains(logs.String(), "panic: nil map") {
		t.Errorf("runs %d; log:\n%s", runs, logs)
	}
}

// watchedDedup is a real DedupStore that reports each Begin that found the
// id in progress, so a test can tell when a request is waiting.
type watchedDedup struct {
	partner.DedupStore
	busy chan struct{}
}

func (w *watchedDedup) Begin(ctx context.Context, id string) (bool, error) {
	done, err := w.DedupStore.Begin(ctx, id)
	if errors.Is(err, partner.ErrInProgress) {
		select {
		case w.busy <- struct{}{}:
		default:
		}
	}
	return done, err
}

func TestConcurrentDeliveriesRunHandlerOnce(t *testing.T) {
	t.Parallel()
	for _, engine := range append([]string{"memory"}, engines...) {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var store partner.DedupStore = partner.NewMemoryDedup()
			if engine != "memory" {
				_, store = freshDB(t, engine).dedup(t)
			}
			const n = 12
			w := &watchedDedup{DedupStore: store, busy: make(chan struct{}, 1)}
			sec := newSecret(t)
			release := make(chan struct{})
			var c counter
			srv, _ := serve(t, &partner.Handler{Secrets: []string{sec}, Dedup: w,
				OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
					<-release
					return c.onCompleted(ctx, ev, p)
				}})
			m := signed(t, completed, sec)
			answers := make(chan answer, n)
			for range n {
				go func() { answers <- send(srv, m) }()
			}
			// Let the first run only once others found it in progress.
			select {
			case <-w.busy:
			case <-time.After(30 * time.Second):
				t.Fatal("no delivery ever found the message in progress")
			}
			close(release)
			for range n {
				(<-answers).want(t, http.StatusOK)
			}
			if c.runs() != 1 {
				t.Fatalf("%d concurrent deliveries ran the handler %d times, want 1", n, c.runs())
			}
		})
	}
}

func TestConcurrentDeliveryWithoutWaitGets409(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var c counter
	srv, logs := serve(t, &partner.Handler{Secrets: []string{sec}, Wait: -1,
		OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
			close(entered)
			<-release
			return c.onCompleted(ctx, ev, p)
		}})
	m := signed(t, completed, sec)
	first := make(chan answer, 1)
	go func() { first <- send(srv, m) }()
	<-entered
	a := post(t, srv, m).want(t, http.StatusConflict)
	close(release)
	(<-first).want(t, http.StatusOK)
	post(t, srv, m).want(t, http.StatusOK) // Renkei's retry after the 409
	if c.runs() != 1 {
		t.Fatalf("handler ran %d times, want 1", c.runs())
	}
	if !strings.Contains(a.text, "in progress") || !strings.Contains(logs.String(), "deferred "+m.id) {
		t.Errorf("answer %q; log:\n%s", a.text, logs)
	}
}

func TestSlowHandlerFinishesAfterRenkeiHangsUp(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	entered, release, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	srv, _ := serve(t, &partner.Handler{Secrets: []string{sec},
		OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
			close(entered)
			<-release
			finished <- ctx.Err()
			return nil
		}})
	m := signed(t, completed, sec)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader(string(m.body)))
	req.Header.Set(partner.HeaderID, m.id)
	req.Header.Set(partner.HeaderTimestamp, strconv.FormatInt(m.ts.Unix(), 10))
	req.Header.Set(partner.HeaderSignature, m.sig)
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel() // Renkei's timeout
	if err := <-errc; err == nil {
		t.Fatal("the request should have been canceled")
	}
	close(release)
	if err := <-finished; err != nil {
		t.Fatalf("the callback's context was canceled with the request: %v", err)
	}
	// The retry finds it done (waiting for the run to record it if needed).
	a := post(t, srv, m).want(t, http.StatusOK)
	if !strings.Contains(a.text, "duplicate") {
		t.Errorf("retry answered %q, want a duplicate", a.text)
	}
}

func TestTypedDecoding(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	got := make(chan any, 1)
	srv, _ := serve(t, &partner.Handler{Secrets: []string{sec},
		OnPaymentCompleted: func(_ context.Context, _ *partner.Event, p *partner.PaymentCompleted) error {
			got <- p
			return nil
		},
		OnPaymentRefunded: func(_ context.Context, _ *partner.Event, r *partner.PaymentRefunded) error {
			got <- r
			return nil
		},
		OnStatementLine: func(_ context.Context, _ *partner.Event, s *partner.StatementLine) error {
			got <- s
			return nil
		},
		OnLinkRevoked: func(_ context.Context, _ *partner.Event, l *partner.LinkRevoked) error {
			got <- l
			return nil
		},
	})

	amount, refund := int64(12800), int64(3000)
	at := time.Date(2026, 11, 25, 3, 12, 44, 123456000, time.UTC)
	refundedAt := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	revokedAt := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	merchant := &partner.Merchant{Name: "Cafe Hikari", CategoryCode: "5814", Category: "restaurants"}

	for _, tc := range []struct {
		name string
		body string
		want any
	}{
		{"payment.completed with input and fields from the future", completedWithFutureField,
			&partner.PaymentCompleted{PaymentInfo: partner.PaymentInfo{PaymentID: "pay_01M89", Amount: &amount, Currency: "JPY",
				CompletedAt: &at, Merchant: merchant, Method: "wallet_balance", User: "pu_abc", Sequence: 17, Source: partner.SourceSelection},
				Input: &partner.Input{Memo: "team lunch", Category: "food"}}},
		{"payment.completed without input, narrow scopes", `{"type":"payment.completed","version":"2026-11-25","timestamp":"2026-11-25T03:12:45Z",
			"data":{"payment_id":"pay_2","amount":980,"currency":"JPY","user":"pu_abc","sequence":20,"source":"link"}}`,
			&partner.PaymentCompleted{PaymentInfo: partner.PaymentInfo{PaymentID: "pay_2", Amount: ptr(int64(980)), Currency: "JPY",
				User: "pu_abc", Sequence: 20, Source: partner.SourceLink}}},
		{"payment.refunded", `{"type":"payment.refunded","version":"2026-11-25","timestamp":"2026-11-26T09:00:00Z",
			"data":{"payment_id":"pay_01M89","refund_id":"rfd_1","amount":3000,"currency":"JPY","completed_at":"2026-11-25T03:12:44.123456Z",
			"refunded_at":"2026-11-26T09:00:00Z","merchant":{"name":"Cafe Hikari","category_code":"5814","category":"restaurants"},
			"method":"wallet_balance","user":"pu_abc","sequence":18,"source":"link"}}`,
			&partner.PaymentRefunded{PaymentInfo: partner.PaymentInfo{PaymentID: "pay_01M89", Amount: &refund, Currency: "JPY",
				CompletedAt: &at, Merchant: merchant, Method: "wallet_balance", User: "pu_abc", Sequence: 18, Source: partner.SourceLink},
				RefundID: "rfd_1", RefundedAt: &refundedAt}},
		{"statement.line", `{"type":"statement.line","version":"2026-11-25","timestamp":"2026-11-28T00:00:00Z",
			"data":{"payment_id":"pay_01M89","merchant":{"name":"Cafe Hikari"},"user":"pu_abc","sequence":19,"source":"statement"}}`,
			&partner.StatementLine{PaymentInfo: partner.PaymentInfo{PaymentID: "pay_01M89", Merchant: &partner.Merchant{Name: "Cafe Hikari"},
				User: "pu_abc", Sequence: 19, Source: partner.SourceStatement}}},
		{"link.revoked", `{"type":"link.revoked","version":"2026-11-25","timestamp":"2026-11-28T00:00:00Z",
			"data":{"user":"pu_abc","revoked_at":"2026-11-28T00:00:00Z"}}`,
			&partner.LinkRevoked{User: "pu_abc", RevokedAt: &revokedAt}},
		{"link.revoked as Renkei sends it", `{"type":"link.revoked","version":"2026-11-25","timestamp":"2026-11-28T00:00:00Z",
			"data":{"link_id":"lnk_01M89","revoked_at":"2026-11-28T00:00:00Z","user":"pu_abc","sequence":21,"source":"link"}}`,
			&partner.LinkRevoked{User: "pu_abc", RevokedAt: &revokedAt, LinkID: "lnk_01M89", Sequence: 21, Source: partner.SourceLink}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			post(t, srv, signed(t, tc.body, sec)).want(t, http.StatusOK)
			if v := <-got; !reflect.DeepEqual(v, tc.want) {
				t.Errorf("decoded to\n%s\nwant\n%s", dump(v), dump(tc.want))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// completedWithFutureField has a field and a merchant field this package
// does not know, as a newer Renkei might send.
var completedWithFutureField = strings.Replace(strings.Replace(completed, `"source":"selection"`,
	`"source":"selection","loyalty":{"points":12}`, 1), `"category":"restaurants"`, `"category":"restaurants","country":"JP"`, 1)

func TestUnknownTypes(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	future := `{"type":"wallet.renamed","version":"2027-04-01","timestamp":"2027-04-01T00:00:00Z","data":{"anything":[1,2]}}`

	t.Run("ignored without OnOther", func(t *testing.T) {
		t.Parallel()
		var c counter
		srv, logs := serve(t, &partner.Handler{Secrets: []string{sec}, OnPaymentCompleted: c.onCompleted})
		m := signed(t, future, sec)
		a := post(t, srv, m).want(t, http.StatusOK)
		if !strings.Contains(a.text, "ignored") || c.runs() != 0 {
			t.Errorf("answer %q, runs %d", a.text, c.runs())
		}
		if !strings.Contains(logs.String(), `ignored `+m.id+`: no handler for type \"wallet.renamed\"`) {
			t.Errorf("log:\n%s", logs)
		}
		// A known type without its callback is ignored too.
		post(t, srv, signed(t, `{"type":"payment.refunded","data":{"payment_id":"pay_1","refund_id":"rfd_1","user":"pu"}}`, sec)).want(t, 200)
	})

	t.Run("OnOther", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var got []string
		srv, _ := serve(t, &partner.Handler{Secrets: []string{sec},
			OnOther: func(_ context.Context, ev *partner.Event, data json.RawMessage) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, ev.Type+" "+string(data))
				return nil
			}})
		m := signed(t, future, sec)
		post(t, srv, m).want(t, http.StatusOK)
		post(t, srv, m).want(t, http.StatusOK) // deduplicated like any other
		post(t, srv, signed(t, completed, sec)).want(t, http.StatusOK)
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || got[0] != `wallet.renamed {"anything":[1,2]}` || !strings.HasPrefix(got[1], "payment.completed {") {
			t.Errorf("OnOther got %q", got)
		}
	})
}

func TestNilDedupUsesMemory(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	var c counter
	h := &partner.Handler{Secrets: []string{sec}, OnPaymentCompleted: c.onCompleted}
	srv, _ := serve(t, h)
	m := signed(t, completed, sec)
	post(t, srv, m).want(t, 200)
	post(t, srv, m).want(t, 200)
	if c.runs() != 1 {
		t.Fatalf("runs %d, want 1", c.runs())
	}
}
