package partner_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/renkei/renkei/partner"
)

// Example receives one payment.completed message as Renkei sends it and
// prints the memo the user typed on the completion screen.
func Example() {
	// The endpoint's signing secret, as Renkei showed it at registration.
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	h := &partner.Handler{
		Secrets: []string{secret},
		Dedup:   partner.NewMemoryDedup(),
		Log:     slog.New(slog.DiscardHandler),
		OnPaymentCompleted: func(ctx context.Context, ev *partner.Event, p *partner.PaymentCompleted) error {
			fmt.Printf("%s: %d %s at %s, memo %q\n", ev.ID, *p.Amount, p.Currency, p.Merchant.Name, p.Input.Memo)
			return nil
		},
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	// What Renkei does for each attempt: sign "id.timestamp.body" with
	// HMAC-SHA256 under the base64-decoded secret.
	id, ts := "msg_01JDEXAMPLE", strconv.FormatInt(time.Now().Unix(), 10)
	body := `{"type":"payment.completed","version":"2026-11-25","timestamp":"2026-11-25T03:12:45Z",` +
		`"data":{"payment_id":"pay_01M89","amount":1280,"currency":"JPY",` +
		`"merchant":{"name":"Cafe Hikari","category_code":"5814","category":"restaurants"},` +
		`"user":"pu_7Qx","input":{"memo":"team lunch","category":"food"},"sequence":17,"source":"selection"}}`
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + body))
	sig := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

	for range 2 { // a retry of the same message runs nothing again
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", ts)
		req.Header.Set("webhook-signature", sig)
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// msg_01JDEXAMPLE: 1280 JPY at Cafe Hikari, memo "team lunch"
	// 200 OK
	// 200 OK
}
