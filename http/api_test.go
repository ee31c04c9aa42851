package http_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
	rhttp "github.com/renkei/renkei/http"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/webhook"
)

const apiAdminKey = "rk_adm_test_admin_key"

// apiEnv is a real server on port 0 over a real SQLite file, with an admin
// and the objects each test needs made through the API itself.
type apiEnv struct {
	t      testing.TB
	url    string
	store  *store.Store
	client *http.Client
}

func newAPIEnv(t testing.TB) *apiEnv {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.PayCode, st.ParsePayCode = emvco.NewPayCode, emvco.ParsePayCode
	st.QR = store.EMVCoQR{Country: "JP", City: "Tokyo"}
	st.AdminKeyHash = store.HashToken(apiAdminKey)
	key := make([]byte, webhook.KeySize)
	crand.Read(key)
	sealer, _ := webhook.NewSealer(key)
	st.Secrets, st.NewSecret = sealer, webhook.NewSecret
	srv := &rhttp.Server{Services: st, QRSVG: emvco.QRSVG, FormatPayCode: emvco.FormatPayCode}
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	t.Cleanup(func() {
		// Idle keep-alive connections first: the server's graceful
		// shutdown would wait seconds for connections that never sent a
		// request.
		client.CloseIdleConnections()
		srv.Close()
		st.Close()
	})
	return &apiEnv{t: t, url: srv.URL(), store: st, client: client}
}

type apiResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *apiEnv) do(method, path, token string, body any, headers ...string) apiResp {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := apiResp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	json.Unmarshal(raw, &out.body)
	return out
}

// want checks a status; for errors also the problem+json shape.
func (e *apiEnv) want(r apiResp, status int) apiResp {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if status >= 400 {
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			e.t.Fatalf("error content type %q: %s", ct, r.raw)
		}
		if r.body["detail"] == "" || r.body["title"] == "" || r.body["type"] == "" || int(r.body["status"].(float64)) != status {
			e.t.Fatalf("problem lacks fields: %s", r.raw)
		}
	}
	return r
}

func str(v any) string { s, _ := v.(string); return s }

// party is a user with money, or a merchant with a terminal.
type party struct{ id, token, merchantID string }

func (e *apiEnv) user(name string, topup int64) party {
	e.t.Helper()
	r := e.want(e.do("POST", "/v1/users", apiAdminKey, map[string]any{"name": name}), 201)
	p := party{id: str(r.body["id"]), token: str(r.body["token"])}
	if topup > 0 {
		e.want(e.do("POST", "/v1/topups", apiAdminKey, map[string]any{"user_id": p.id, "amount": topup}), 201)
	}
	return p
}

func (e *apiEnv) terminal(name, mcc string) party {
	e.t.Helper()
	m := e.want(e.do("POST", "/v1/merchants", apiAdminKey, map[string]any{"name": name, "category_code": mcc}), 201)
	r := e.want(e.do("POST", "/v1/terminals", apiAdminKey, map[string]any{"merchant_id": m.body["id"], "name": "Register 1"}), 201)
	return party{id: str(r.body["id"]), token: str(r.body["api_key"]), merchantID: str(m.body["id"])}
}

func (e *apiEnv) payCode(u party) string {
	e.t.Helper()
	return str(e.want(e.do("POST", "/v1/pay_codes", u.token, map[string]any{}), 201).body["code"])
}

func (e *apiEnv) balance(u party) int64 {
	e.t.Helper()
	r := e.want(e.do("GET", "/v1/wallets", u.token, nil), 200)
	w := r.body["data"].([]any)[0].(map[string]any)
	return int64(w["balance"].(map[string]any)["amount"].(float64))
}

func TestAPIConsumerPresentedFlow(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko, ben := e.user("Aiko", 10_000), e.user("Ben", 100)
	cafe, books := e.terminal("Cafe Hikari", "5814"), e.terminal("Tsubame Books", "5942")

	code := e.payCode(aiko)
	body := map[string]any{"code": code, "amount": 1280, "currency": "JPY"}
	first := e.want(e.do("POST", "/v1/payments/charge", cafe.token, body, "Idempotency-Key", "order-1"), 201)
	id := str(first.body["id"])
	if first.body["status"] != "completed" || first.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first charge %s", first.raw)
	}
	again := e.want(e.do("POST", "/v1/payments/charge", cafe.token, body, "Idempotency-Key", "order-1"), 201)
	if again.header.Get("Idempotent-Replayed") != "true" || str(again.body["id"]) != id {
		t.Fatalf("replay %v %s", again.header, again.raw)
	}
	body["amount"] = 1281
	r := e.want(e.do("POST", "/v1/payments/charge", cafe.token, body, "Idempotency-Key", "order-1"), 409)
	if r.body["code"] != "idempotency_key_reused" {
		t.Fatalf("reuse %s", r.raw)
	}
	if got := e.balance(aiko); got != 10_000-1280 {
		t.Fatalf("balance %d", got)
	}

	// Who may see the payment: the payer, the payee's terminal, the admin.
	e.want(e.do("GET", "/v1/payments/"+id, aiko.token, nil), 200)
	e.want(e.do("GET", "/v1/payments/"+id, cafe.token, nil), 200)
	e.want(e.do("GET", "/v1/payments/"+id, apiAdminKey, nil), 200)
	e.want(e.do("GET", "/v1/payments/"+id, ben.token, nil), 404)
	e.want(e.do("GET", "/v1/payments/"+id, books.token, nil), 404)
	list := e.want(e.do("GET", "/v1/payments", ben.token, nil), 200)
	if len(list.body["data"].([]any)) != 0 {
		t.Fatalf("Ben sees %s", list.raw)
	}
	list = e.want(e.do("GET", "/v1/payments?merchant_id="+cafe.merchantID, books.token, nil), 200)
	if len(list.body["data"].([]any)) != 0 {
		t.Fatalf("another shop sees %s", list.raw)
	}

	// Declines: too little money, a used code.
	r = e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(ben), "amount": 500}), 402)
	if r.body["code"] != "insufficient_balance" || str(r.body["payment_id"]) == "" {
		t.Fatalf("decline %s", r.raw)
	}
	r = e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": code, "amount": 10}), 402)
	if r.body["code"] != "code_already_used" {
		t.Fatalf("used code %s", r.raw)
	}

	// Refunds: only the payee's terminal (or the admin), never beyond.
	e.want(e.do("POST", "/v1/refunds", books.token, map[string]any{"payment_id": id}), 404)
	e.want(e.do("POST", "/v1/refunds", aiko.token, map[string]any{"payment_id": id}), 403)
	rf := e.want(e.do("POST", "/v1/refunds", cafe.token, map[string]any{"payment_id": id, "amount": 280}, "Idempotency-Key", "rf-1"), 201)
	e.want(e.do("POST", "/v1/refunds", cafe.token, map[string]any{"payment_id": id, "amount": 280}, "Idempotency-Key", "rf-1"), 201)
	e.want(e.do("POST", "/v1/refunds", cafe.token, map[string]any{"payment_id": id, "amount": 1001}), 422)
	e.want(e.do("GET", "/v1/refunds/"+str(rf.body["id"]), aiko.token, nil), 200)
	e.want(e.do("GET", "/v1/refunds/"+str(rf.body["id"]), ben.token, nil), 404)
	if got := e.balance(aiko); got != 10_000-1000 {
		t.Fatalf("balance after refund %d", got)
	}
	p := e.want(e.do("GET", "/v1/payments/"+id, aiko.token, nil), 200)
	if p.body["status"] != "partially_refunded" || p.body["amount_refunded"].(float64) != 280 {
		t.Fatalf("payment %s", p.raw)
	}
	ev := e.want(e.do("GET", "/v1/events?object_id="+id, apiAdminKey, nil), 200)
	if n := len(ev.body["data"].([]any)); n != 2 {
		t.Fatalf("%d events: %s", n, ev.raw)
	}
	e.want(e.do("GET", "/v1/events", cafe.token, nil), 403)
	hist := e.want(e.do("GET", "/v1/wallet_entries?limit=2", aiko.token, nil), 200)
	if len(hist.body["data"].([]any)) != 2 || hist.body["has_more"] != true {
		t.Fatalf("history %s", hist.raw)
	}
}

func TestAPIMerchantPresentedFlow(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko := e.user("Aiko", 5000)
	cafe := e.terminal("Cafe Hikari", "5814")
	req := e.want(e.do("POST", "/v1/payment_requests", cafe.token, map[string]any{"amount": 1500}, "Idempotency-Key", "qr-1"), 201)
	payload := str(req.body["qr_payload"])
	if req.body["status"] != "pending" || !strings.HasPrefix(payload, "000201") {
		t.Fatalf("request %s", req.raw)
	}
	seen := e.want(e.do("POST", "/v1/payments/scan", aiko.token, map[string]any{"qr_payload": payload}), 200)
	if seen.body["amount"].(float64) != 1500 || seen.body["status"] != "pending" {
		t.Fatalf("scan %s", seen.raw)
	}
	paid := e.want(e.do("POST", "/v1/payments/confirm", aiko.token, map[string]any{"qr_payload": payload}, "Idempotency-Key", "c-1"), 200)
	if paid.body["status"] != "completed" || paid.body["user_id"] != aiko.id {
		t.Fatalf("confirm %s", paid.raw)
	}
	e.want(e.do("POST", "/v1/payments/confirm", aiko.token, map[string]any{"qr_payload": payload}, "Idempotency-Key", "c-1"), 200)
	e.want(e.do("POST", "/v1/payments/confirm", aiko.token, map[string]any{"qr_payload": payload}), 409)
	e.want(e.do("POST", "/v1/payments/scan", aiko.token, map[string]any{"qr_payload": "hello"}), 422)
	e.want(e.do("POST", "/v1/payment_requests", aiko.token, map[string]any{"amount": 1500}), 403)
	if got := e.balance(aiko); got != 3500 {
		t.Fatalf("balance %d", got)
	}
}

// TestAPIBadInput: every malformed request gets a 4xx problem+json with a
// sentence, and nothing is written.
func TestAPIBadInput(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko := e.user("Aiko", 5000)
	cafe := e.terminal("Cafe Hikari", "5814")
	code := e.payCode(aiko)
	big := `{"code":"` + code + `","amount":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, method, path, token, body, ctype string
		status                                 int
	}{
		{"malformed json", "POST", "/v1/payments/charge", cafe.token, `{"code": `, "", 400},
		{"unknown field", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":100,"tip":5}`, "", 422},
		{"zero amount", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":0}`, "", 422},
		{"negative amount", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":-100}`, "", 422},
		{"fractional yen", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":12.5}`, "", 422},
		{"overflowing amount", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":99999999999999999999}`, "", 422},
		{"amount as string", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":"100"}`, "", 422},
		{"unknown currency", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":100,"currency":"ABC"}`, "", 422},
		{"lowercase currency", "POST", "/v1/payments/charge", cafe.token, `{"code":"` + code + `","amount":100,"currency":"jpy"}`, "", 422},
		{"bad pay code", "POST", "/v1/payments/charge", cafe.token, `{"code":"1234","amount":100}`, "", 422},
		{"missing body", "POST", "/v1/payments/charge", cafe.token, ``, "", 400},
		{"form body", "POST", "/v1/payments/charge", cafe.token, `code=1`, "application/x-www-form-urlencoded", 415},
		{"oversized body", "POST", "/v1/payments/charge", cafe.token, big, "", 413},
		{"no token", "POST", "/v1/payments/charge", "", `{"code":"` + code + `","amount":100}`, "", 401},
		{"bad token", "POST", "/v1/payments/charge", "rk_ter_nope", `{"code":"` + code + `","amount":100}`, "", 401},
		{"user token on terminal call", "POST", "/v1/payments/charge", aiko.token, `{"code":"` + code + `","amount":100}`, "", 403},
		{"unknown payment", "GET", "/v1/payments/pay_01M897PAVFH7DJ4CC7G2SYCJQK", aiko.token, "", "", 404},
		{"unknown route", "GET", "/v1/nothing", aiko.token, "", "", 404},
		{"wrong method", "DELETE", "/v1/payments/charge", aiko.token, "", "", 405},
		{"bad limit", "GET", "/v1/payments?limit=1000", aiko.token, "", "", 422},
		{"refund of garbage id", "POST", "/v1/refunds", cafe.token, `{"payment_id":"nope"}`, "", 422},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, e.url+tc.path, strings.NewReader(tc.body))
		ct := tc.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var p map[string]any
		json.Unmarshal(raw, &p)
		if res.StatusCode != tc.status || res.Header.Get("Content-Type") != "application/problem+json" || str(p["detail"]) == "" {
			t.Errorf("%s: %d %s %s", tc.name, res.StatusCode, res.Header.Get("Content-Type"), raw)
		}
	}
	if got := e.balance(aiko); got != 5000 {
		t.Fatalf("bad input moved money: %d", got)
	}
	ps, _, err := e.store.ListPayments(context.Background(), renkei.PaymentFilter{})
	if err != nil || len(ps) != 0 {
		t.Fatalf("bad input wrote payments: %d %v", len(ps), err)
	}
}

// TestAPIAuthorizationMatrix: each kind of caller on each operation.
func TestAPIAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko, ben := e.user("Aiko", 1000), e.user("Ben", 1000)
	cafe := e.terminal("Cafe Hikari", "5814")
	tokens := map[string]string{"none": "", "user": aiko.token, "terminal": cafe.token, "admin": apiAdminKey}
	cases := []struct {
		method, path string
		body         any
		want         map[string]int
	}{
		{"GET", "/v1/me", nil, map[string]int{"none": 401, "user": 200, "terminal": 200, "admin": 200}},
		{"POST", "/v1/users", map[string]any{"name": "X"}, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 201}},
		{"GET", "/v1/users/" + aiko.id, nil, map[string]int{"none": 401, "user": 200, "terminal": 403, "admin": 200}},
		{"GET", "/v1/users/" + ben.id, nil, map[string]int{"none": 401, "user": 404, "terminal": 403, "admin": 200}},
		{"GET", "/v1/wallets?user_id=" + ben.id, nil, map[string]int{"none": 401, "user": 404, "terminal": 403, "admin": 200}},
		{"POST", "/v1/topups", map[string]any{"user_id": aiko.id, "amount": 1}, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 201}},
		{"POST", "/v1/merchants", map[string]any{"name": "M", "category_code": "5411"}, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 201}},
		{"GET", "/v1/merchants", nil, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 200}},
		{"GET", "/v1/merchants/" + cafe.merchantID, nil, map[string]int{"none": 401, "user": 403, "terminal": 200, "admin": 200}},
		{"GET", "/v1/merchants/" + cafe.merchantID + "/terminals", nil, map[string]int{"none": 401, "user": 403, "terminal": 200, "admin": 200}},
		{"POST", "/v1/terminals", map[string]any{"merchant_id": cafe.merchantID, "name": "R2"}, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 201}},
		{"POST", "/v1/pay_codes", map[string]any{}, map[string]int{"none": 401, "user": 201, "terminal": 403, "admin": 403}},
		{"POST", "/v1/payment_requests", map[string]any{"amount": 100}, map[string]int{"none": 401, "user": 403, "terminal": 201, "admin": 403}},
		{"GET", "/v1/payments", nil, map[string]int{"none": 401, "user": 200, "terminal": 200, "admin": 200}},
		{"GET", "/v1/events", nil, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 200}},
		{"POST", "/v1/merchants/" + cafe.merchantID + "/status", map[string]any{"status": "active"}, map[string]int{"none": 401, "user": 403, "terminal": 403, "admin": 200}},
	}
	for _, tc := range cases {
		for who, want := range tc.want {
			r := e.do(tc.method, tc.path, tokens[who], tc.body)
			if r.status != want {
				t.Errorf("%s %s as %s: %d, want %d: %s", tc.method, tc.path, who, r.status, want, r.raw)
			}
		}
	}
}

// TestAPIConcurrentIdempotency: 100 concurrent HTTP charges sharing one
// Idempotency-Key make one payment and one debit.
func TestAPIConcurrentIdempotency(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko := e.user("Aiko", 10_000)
	cafe := e.terminal("Cafe Hikari", "5814")
	body := map[string]any{"code": e.payCode(aiko), "amount": 700}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		ids      = map[string]bool{}
	)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, _ := json.Marshal(body)
			req, _ := http.NewRequest("POST", e.url+"/v1/payments/charge", bytes.NewReader(j))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+cafe.token)
			req.Header.Set("Idempotency-Key", "one-key")
			res, err := e.client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var p map[string]any
			json.NewDecoder(res.Body).Decode(&p)
			mu.Lock()
			defer mu.Unlock()
			statuses[res.StatusCode]++
			if res.StatusCode == 201 {
				ids[str(p["id"])] = true
			}
		}()
	}
	wg.Wait()
	if len(ids) != 1 || statuses[201]+statuses[409] != 100 {
		t.Fatalf("statuses %v, payment ids %v", statuses, ids)
	}
	if got := e.balance(aiko); got != 9300 {
		t.Fatalf("balance %d, want one debit", got)
	}
}

func TestAPIDocsHealthMetrics(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	res, err := http.Get(e.url + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	json.NewDecoder(res.Body).Decode(&spec)
	res.Body.Close()
	if spec.OpenAPI != "3.1.0" || spec.Paths["/v1/payments/charge"] == nil {
		t.Fatalf("spec %s with %d paths", spec.OpenAPI, len(spec.Paths))
	}
	get := func(path string) (int, string) {
		res, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	for _, c := range []struct{ path, want string }{
		{"/docs", "Idempotency-Key"},
		{"/healthz", `"ok"`},
	} {
		if status, b := get(c.path); status != 200 || !strings.Contains(b, c.want) {
			t.Errorf("%s: %d, no %q in %.200s", c.path, status, c.want, b)
		}
	}
	// A request is counted after its answer is written, so the client can
	// ask for /metrics before the count of the request just answered is
	// in: ask again a few times rather than fail on that race (seen under
	// a loaded -race run).
	var status int
	var b string
	for range 50 {
		if status, b = get("/metrics"); status == 200 && strings.Contains(b, "renkei_http_requests_total") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("/metrics: %d, no renkei_http_requests_total in %.200s", status, b)
}

func ExampleProblem() {
	p := &rhttp.Problem{Type: "/docs#problem-insufficient_balance", Title: "Payment Required", Status: 402,
		Detail: "The customer's wallet balance is too low for this payment.", Code: "insufficient_balance"}
	b, _ := json.Marshal(p)
	fmt.Println(string(b))
	// Output: {"type":"/docs#problem-insufficient_balance","title":"Payment Required","status":402,"detail":"The customer's wallet balance is too low for this payment.","code":"insufficient_balance"}
}
