package partner_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/renkei/renkei/partner"
	"github.com/renkei/renkei/webhook"
)

// TestRenkeiSignerInterop proves that what Renkei's own delivery code
// sends, this package accepts: the same headers, the same signature
// scheme, several signatures during a rotation.
func TestRenkeiSignerInterop(t *testing.T) {
	t.Parallel()
	old, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	var c counter
	srv, _ := serve(t, &partner.Handler{Secrets: []string{cur}, OnPaymentCompleted: c.onCompleted})

	t.Run("webhook.Headers", func(t *testing.T) {
		id := newMsgID()
		h, err := webhook.Headers(id, time.Now(), []byte(completed), cur, old)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader([]byte(completed)))
		req.Header = h
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ev, _ := c.got(); ev.ID != id {
			t.Errorf("event id %q, want %q", ev.ID, id)
		}
	})

	t.Run("webhook.Send and its retry", func(t *testing.T) {
		id := newMsgID()
		for attempt := range 2 {
			a := webhook.Send(context.Background(), srv.Client(), srv.URL, id, time.Now(), []byte(completed), old, cur)
			if !a.Delivered || a.Err != "" {
				t.Fatalf("attempt %d: %+v", attempt, a)
			}
		}
	})

	t.Run("only the old secret after the grace period", func(t *testing.T) {
		a := webhook.Send(context.Background(), srv.Client(), srv.URL, newMsgID(), time.Now(), []byte(completed), old)
		if a.Status != http.StatusUnauthorized || a.Delivered {
			t.Fatalf("%+v", a)
		}
	})

	if c.runs() != 2 {
		t.Errorf("handler ran %d times, want 2 (one per delivered message)", c.runs())
	}
}
