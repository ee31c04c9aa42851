package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzAPIBodies feeds arbitrary bodies to the JSON decoders of the
// money-moving operations through the real server: whatever arrives, the
// answer is never a 5xx, an error is always problem+json with a detail, and
// money moves only on a 2xx.
func FuzzAPIBodies(f *testing.F) {
	for _, seed := range []string{
		`{"code":"88123456789012345678","amount":100}`,
		`{"amount":1500,"currency":"JPY"}`,
		`{"qr_payload":"000201010212"}`,
		`{"payment_id":"pay_01M897PAVFH7DJ4CC7G2SYCJQK","amount":1}`,
		`{"amount":1e400}`, `[]`, `null`, `{"amount":-0}`, "{\"code\":\"\u0000\"}",
	} {
		for op := uint8(0); op < 4; op++ {
			f.Add(op, seed)
		}
	}
	// One server for all inputs: starting one per input would make the
	// fuzzer crawl.
	e := newAPIEnv(f)
	aiko, cafe := e.user("Aiko", 1_000_000), e.terminal("Cafe Hikari", "5814")
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		e.t = t
		paths := []struct{ path, token string }{
			{"/v1/payments/charge", cafe.token},
			{"/v1/payment_requests", cafe.token},
			{"/v1/payments/confirm", aiko.token},
			{"/v1/refunds", cafe.token},
		}
		target := paths[int(op)%len(paths)]
		before := e.balance(aiko)
		req, _ := http.NewRequest("POST", e.url+target.path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+target.token)
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q: %d %s", target.path, body, res.StatusCode, raw)
		}
		if res.StatusCode >= 400 {
			var p map[string]any
			if res.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(raw, &p) != nil || str(p["detail"]) == "" {
				t.Fatalf("%s %q: not a problem: %s", target.path, body, raw)
			}
			if after := e.balance(aiko); after != before {
				t.Fatalf("%s %q failed with %d but moved money %d -> %d", target.path, body, res.StatusCode, before, after)
			}
		}
	})
}
