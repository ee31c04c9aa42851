package partner_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/renkei/renkei/partner"
)

// TestPaymentAnnotated: a payment.annotated reaches OnPaymentAnnotated
// decoded, once per message id; one without a payment id is refused; and
// a handler without the callback hands it to OnOther like any type it
// does not handle.
func TestPaymentAnnotated(t *testing.T) {
	t.Parallel()
	sec := newSecret(t)
	got := make(chan *partner.PaymentAnnotated, 2)
	srv, _ := serve(t, &partner.Handler{Secrets: []string{sec},
		OnPaymentAnnotated: func(_ context.Context, ev *partner.Event, a *partner.PaymentAnnotated) error {
			if ev.Type != partner.TypePaymentAnnotated {
				t.Errorf("type %q", ev.Type)
			}
			got <- a
			return nil
		},
	})
	body := `{"type":"payment.annotated","version":"2026-11-25","timestamp":"2026-11-27T10:00:00Z",
		"data":{"payment_id":"pay_01M89","user":"pu_abc","input":{"memo":"team lunch with Ben","category":"food"},"sequence":21,"source":"selection"}}`
	m := signed(t, body, sec)
	post(t, srv, m).want(t, http.StatusOK)
	want := &partner.PaymentAnnotated{PaymentID: "pay_01M89", User: "pu_abc",
		Input: partner.Input{Memo: "team lunch with Ben", Category: "food"}, Sequence: 21, Source: partner.SourceSelection}
	if a := <-got; !reflect.DeepEqual(a, want) {
		t.Fatalf("decoded to\n%s\nwant\n%s", dump(a), dump(want))
	}
	post(t, srv, m).want(t, http.StatusOK) // Renkei's retry of the same id
	select {
	case a := <-got:
		t.Fatalf("the callback ran twice for one id: %+v", a)
	default:
	}

	// A cleared memo arrives as an input without it.
	cleared := `{"type":"payment.annotated","version":"2026-11-25","timestamp":"2026-11-27T10:01:00Z",
		"data":{"payment_id":"pay_01M89","user":"pu_abc","input":{},"sequence":22,"source":"link"}}`
	post(t, srv, signed(t, cleared, sec)).want(t, http.StatusOK)
	if a := <-got; a.Input != (partner.Input{}) || a.Sequence != 22 || a.Source != partner.SourceLink {
		t.Fatalf("cleared memo decoded to %s", dump(a))
	}

	noID := `{"type":"payment.annotated","version":"2026-11-25","timestamp":"2026-11-27T10:00:00Z",
		"data":{"user":"pu_abc","input":{"memo":"x"},"sequence":23,"source":"selection"}}`
	post(t, srv, signed(t, noID, sec)).want(t, http.StatusBadRequest)

	other := make(chan string, 1)
	old, _ := serve(t, &partner.Handler{Secrets: []string{sec},
		OnPaymentCompleted: func(context.Context, *partner.Event, *partner.PaymentCompleted) error { return nil },
		OnOther: func(_ context.Context, ev *partner.Event, _ json.RawMessage) error {
			other <- ev.Type
			return nil
		},
	})
	post(t, old, signed(t, body, sec)).want(t, http.StatusOK)
	if typ := <-other; typ != partner.TypePaymentAnnotated {
		t.Fatalf("OnOther got %q", typ)
	}
}
