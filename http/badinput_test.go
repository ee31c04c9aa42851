package http_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/renkei/renkei/emvco"
	rhttp "github.com/renkei/renkei/http"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/store/storetest"
	"github.com/renkei/renkei/webhook"
)

// badText is one input of the battery. text marks the strings that are
// not text at all (422 on every engine, naming the field); the others are
// text of a shape no field takes, which must answer the same on both
// engines and never 500.
type badText struct {
	name string
	v    string
	text bool
}

var badTexts = []badText{
	{"nul", "a\x00b", true},
	{"invalid_utf8", "a\xffb", true},
	{"overlong_nul", "a\xc0\x80b", true},
	{"surrogate", "a\xed\xa0\x80b", true},
	{"overlength", strings.Repeat("x", 5000), false},
	{"foreign_id", "pay_ü日本\u202e", false},
}

// newAPIEnvOn is newAPIEnv on either engine.
func newAPIEnvOn(t testing.TB, engine string) *apiEnv {
	t.Helper()
	st, err := store.Open(context.Background(), storetest.DSN(t, engine))
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
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		srv.Close()
		st.Close()
	})
	return &apiEnv{t: t, url: srv.URL(), store: st, client: client}
}

// badCase is one request of the battery with one input replaced.
type badCase struct {
	name     string // operation, input and value: the same on both engines
	text     bool
	location string // the field a text problem must name
	method   string
	path     string
	header   http.Header
	body     []byte
	ctype    string
	page     bool // a page: the error is a page, not problem+json
}

// badResult is what the server answered to a badCase.
type badResult struct {
	status int
	ctype  string
	raw    string
}

// placeholder stands for the bad value while a body is built, and is
// then replaced by the value as it would travel (JSON-escaped NUL, raw
// bytes otherwise: encoding/json would quietly mend them).
const placeholder = "\u2603BAD\u2603"

func jsonWithBad(body any, bad string) []byte {
	j, _ := json.Marshal(body)
	enc := strings.ReplaceAll(bad, "\x00", `\u0000`)
	return bytes.Replace(j, []byte(placeholder), []byte(enc), 1)
}

// leaves lists the paths (huma locations after "body") of the string
// leaves of a JSON value.
func leaves(v any, at string) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, at)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, leaves(x[k], at+"."+k)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, leaves(e, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

// withLeaf is a deep copy of v with the leaf at path set to s.
func withLeaf(v any, at, path, s string) any {
	switch x := v.(type) {
	case string:
		if at == path {
			return s
		}
		return x
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = withLeaf(e, at+"."+k, path, s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withLeaf(e, fmt.Sprintf("%s[%d]", at, i), path, s)
		}
		return out
	}
	return v
}

// apiOp is one API operation with inputs that would succeed (or at least
// reach the store), so a bad value in any one of them goes as deep as it
// can.
type apiOp struct {
	method, tmpl, token string
	ids                 map[string]string // path parameters
	body                map[string]any
}

// apiCases builds the battery of the API on one server: every operation
// in the OpenAPI document, every parameter it declares and every string
// in its body, with each bad value.
func apiCases(t *testing.T, e *apiEnv) []badCase {
	aiko := e.user("Aiko", 1_000_000)
	cafe := e.terminal("Cafe Hikari", "5814")
	rs := e.want(e.do("POST", "/v1/related_services", apiAdminKey, kakeiboBody()), 201)
	sid := str(rs.body["id"])
	pay := e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201)
	pid := str(pay.body["id"])
	e.want(e.do("GET", "/v1/payments/"+pid+"/completion", aiko.token, nil), 200)
	sel := e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid, "memo": "lunch"}), 201)
	did := str(sel.body["delivery_id"])
	// A payment proposed and not yet tapped: a bad memo reaches the store.
	fresh := str(e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201).body["id"])
	e.want(e.do("GET", "/v1/payments/"+fresh+"/completion", aiko.token, nil), 200)
	link := e.want(e.do("GET", "/v1/links", aiko.token, nil), 200)
	lid := ""
	if ls, _ := link.body["data"].([]any); len(ls) > 0 {
		lid = str(ls[0].(map[string]any)["id"])
	}
	if lid == "" {
		lid = str(e.want(e.do("POST", "/v1/links", aiko.token, map[string]any{"service_id": sid}), 201).body["id"])
	}
	rf := e.want(e.do("POST", "/v1/refunds", cafe.token, map[string]any{"payment_id": pid, "amount": 100, "reason": "returned"}), 201)
	rfid := str(rf.body["id"])
	qr := e.want(e.do("POST", "/v1/payment_requests", cafe.token, map[string]any{"amount": 500}), 201)
	payload := str(qr.body["qr_payload"])
	if did == "" || payload == "" {
		t.Fatalf("fixtures: selection %s, payment request %s", sel.raw, qr.raw)
	}
	kb := map[string]any{}
	j, _ := json.Marshal(kakeiboBody())
	json.Unmarshal(j, &kb)

	// Rotation replaces a token: a user and a terminal of their own, so
	// the other operations keep theirs.
	spare := e.user("Eri", 0)
	spareTill := e.terminal("Tsubame Books", "5942")
	spareMe := e.user("Fumi", 0)

	id := func(v string) map[string]string { return map[string]string{"id": v} }
	ops := []apiOp{
		{"GET", "/v1/me", aiko.token, nil, nil},
		{"PATCH", "/v1/me", aiko.token, nil, map[string]any{"time_zone": "Asia/Tokyo"}},
		{"POST", "/v1/users", apiAdminKey, nil, map[string]any{"name": "Dai"}},
		{"GET", "/v1/users/{id}", apiAdminKey, id(aiko.id), nil},
		{"GET", "/v1/wallets", apiAdminKey, nil, nil},
		{"GET", "/v1/wallet_entries", apiAdminKey, nil, nil},
		{"POST", "/v1/topups", apiAdminKey, nil, map[string]any{"user_id": aiko.id, "amount": 100, "currency": "JPY"}},
		{"POST", "/v1/merchants", apiAdminKey, nil, map[string]any{"name": "Midori Mart", "category_code": "5411"}},
		{"GET", "/v1/merchants", apiAdminKey, nil, nil},
		{"GET", "/v1/merchants/{id}", apiAdminKey, id(cafe.merchantID), nil},
		{"POST", "/v1/merchants/{id}/status", apiAdminKey, id(cafe.merchantID), map[string]any{"status": "active"}},
		{"POST", "/v1/terminals", apiAdminKey, nil, map[string]any{"merchant_id": cafe.merchantID, "name": "Register 2"}},
		{"GET", "/v1/merchants/{id}/terminals", apiAdminKey, id(cafe.merchantID), nil},
		{"POST", "/v1/users/{id}/rotate_token", apiAdminKey, id(spare.id), nil},
		{"POST", "/v1/terminals/{id}/rotate_key", apiAdminKey, id(spareTill.id), nil},
		{"POST", "/v1/me/rotate_token", spareMe.token, nil, nil},
		{"POST", "/v1/pay_codes", aiko.token, nil, map[string]any{"currency": "JPY"}},
		{"POST", "/v1/payments/charge", cafe.token, nil, map[string]any{"code": "88000000000000000000", "amount": 100, "currency": "JPY"}},
		{"POST", "/v1/payment_requests", cafe.token, nil, map[string]any{"amount": 100, "currency": "JPY"}},
		{"POST", "/v1/payments/scan", aiko.token, nil, map[string]any{"qr_payload": payload}},
		{"POST", "/v1/payments/confirm", aiko.token, nil, map[string]any{"qr_payload": payload}},
		{"GET", "/v1/payments", apiAdminKey, nil, nil},
		{"GET", "/v1/payments/{id}", aiko.token, id(pid), nil},
		{"POST", "/v1/refunds", cafe.token, nil, map[string]any{"payment_id": pid, "amount": 1, "reason": "one item"}},
		{"GET", "/v1/refunds/{id}", cafe.token, id(rfid), nil},
		{"GET", "/v1/events", apiAdminKey, nil, nil},
		{"POST", "/v1/related_services", apiAdminKey, nil, kb},
		{"PUT", "/v1/related_services/{id}", apiAdminKey, id(sid), kb},
		{"GET", "/v1/related_services", apiAdminKey, nil, nil},
		{"GET", "/v1/related_services/{id}", aiko.token, id(sid), nil},
		{"PUT", "/v1/related_services/{id}/icon", apiAdminKey, id(sid), nil},
		{"GET", "/v1/related_services/{id}/icon", aiko.token, id(sid), nil},
		{"POST", "/v1/links", aiko.token, nil, map[string]any{"service_id": sid}},
		{"GET", "/v1/links", aiko.token, nil, nil},
		{"PATCH", "/v1/links/{id}", aiko.token, id(lid), map[string]any{"statement": true}},
		{"GET", "/v1/privacy/provisions", aiko.token, nil, nil},
		{"GET", "/v1/privacy/consents", aiko.token, nil, nil},
		{"GET", "/v1/privacy/consents/{id}/receipt", aiko.token, id(str(sel.body["id"])), nil},
		{"GET", "/v1/related_services/{id}/provisions", apiAdminKey, id(sid), nil},
		{"POST", "/v1/links/{id}/revoke", aiko.token, id(lid), nil},
		{"GET", "/v1/payments/{id}/completion", aiko.token, id(pid), nil},
		{"POST", "/v1/payments/{id}/selections", aiko.token, id(fresh), map[string]any{"service_id": sid, "memo": "lunch", "category": "food"}},
		{"POST", "/v1/payments/{id}/dismissals", aiko.token, id(fresh), map[string]any{"service_id": sid}},
		{"GET", "/v1/payments/{id}/selections", aiko.token, id(pid), nil},
		{"POST", "/v1/payments/{id}/annotations", aiko.token, id(pid), map[string]any{"memo": "team lunch", "category": "food"}},
		{"GET", "/v1/deliveries", apiAdminKey, nil, nil},
		{"GET", "/v1/deliveries/{id}", apiAdminKey, id(did), nil},
		{"POST", "/v1/deliveries/{id}/replay", apiAdminKey, id(did), nil},
		{"POST", "/v1/deliveries/replay", apiAdminKey, nil, map[string]any{"service_id": sid, "since": "2026-01-01T00:00:00Z"}},
		{"POST", "/v1/related_services/{id}/rotate_secret", apiAdminKey, id(sid), map[string]any{}},
		{"DELETE", "/v1/related_services/{id}", apiAdminKey, id(sid), nil}, // last: it takes the service out of use
	}

	// Every operation of the API is in the battery.
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ In, Name string }
		}
	}
	spec := e.want(e.do("GET", "/openapi.json", "", nil), 200)
	if err := json.Unmarshal([]byte(spec.raw), &doc); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, op := range ops {
		covered[op.method+" "+op.tmpl] = true
	}
	var missing []string
	for p, item := range doc.Paths {
		for m := range item {
			if !covered[strings.ToUpper(m)+" "+p] {
				missing = append(missing, strings.ToUpper(m)+" "+p)
			}
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("operations missing from the battery: %v", missing)
	}

	var out []badCase
	for _, op := range ops {
		params := doc.Paths[op.tmpl][strings.ToLower(op.method)].Parameters
		build := func(bv badText, in, name string, body []byte) badCase {
			c := badCase{name: fmt.Sprintf("%s %s %s.%s=%s", op.method, op.tmpl, in, name, bv.name), text: bv.text,
				location: in + "." + name, method: op.method, header: http.Header{"Authorization": {"Bearer " + op.token}}}
			path := op.tmpl
			for k, v := range op.ids {
				if in == "path" && k == name {
					v = bv.v
				}
				path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
			}
			if in == "query" {
				path += "?" + url.QueryEscape(name) + "=" + url.QueryEscape(bv.v)
			}
			if in == "header" {
				c.header.Set(name, bv.v)
			}
			c.path = path
			if body != nil {
				c.body, c.ctype = body, "application/json"
			} else if op.body != nil {
				c.body, c.ctype = jsonWithBad(op.body, ""), "application/json"
			}
			if strings.HasSuffix(op.tmpl, "/icon") && op.method == "PUT" {
				c.body, c.ctype = []byte("\x89PNG\r\n\x1a\n"), "image/png"
			}
			return c
		}
		for _, bv := range badTexts {
			for _, p := range params {
				if p.In == "header" && (strings.IndexByte(bv.v, 0) >= 0 || p.Name == "Content-Type") {
					continue // no client sends a NUL in a header; the server refuses it with 400
				}
				out = append(out, build(bv, p.In, p.Name, nil))
			}
			if op.body != nil {
				for _, leaf := range leaves(op.body, "") {
					name := strings.TrimPrefix(leaf, ".")
					out = append(out, build(bv, "body", name, jsonWithBad(withLeaf(op.body, "", leaf, placeholder), bv.v)))
				}
			}
		}
	}
	return out
}

// run sends one case and returns what came back.
func (c badCase) run(t *testing.T, client *http.Client, base string) badResult {
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return badResult{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), raw: string(raw)}
}

// check asserts what holds on any engine: never a 5xx, an API error is
// problem+json, and a string that is not text is refused with 422 that
// names the field (the API) or says so on the page (the pages).
func (c badCase) check(t *testing.T, r badResult) {
	t.Helper()
	if r.status >= 500 {
		t.Errorf("%s: %d %.300s", c.name, r.status, r.raw)
		return
	}
	if !c.text {
		return
	}
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("%s: status %d, want 422: %.300s", c.name, r.status, r.raw)
		return
	}
	if c.page {
		if !strings.HasPrefix(r.ctype, "text/html") || !strings.Contains(r.raw, "not text") && !strings.Contains(r.raw, "文字として扱えない") {
			t.Errorf("%s: the page does not say what is wrong: %.500s", c.name, r.raw)
		}
		return
	}
	var p struct {
		Detail string
		Code   string
		Errors []struct{ Location, Message string }
	}
	if r.ctype != "application/problem+json" || json.Unmarshal([]byte(r.raw), &p) != nil {
		t.Errorf("%s: not problem+json: %s %.300s", c.name, r.ctype, r.raw)
		return
	}
	if p.Code != "invalid_request" || len(p.Errors) != 1 || !strings.EqualFold(p.Errors[0].Location, c.location) ||
		!strings.Contains(p.Detail, c.location) {
		t.Errorf("%s: problem does not name %s: %s", c.name, c.location, r.raw)
	}
}

// pageCases builds the battery of the pages: every area, its forms'
// fields, its query parameters and its path ids, each logged in.
func pageCases(t *testing.T, e *apiEnv) (cases []badCase, login func(area string) *http.Client) {
	aiko := e.user("Aiko", 1_000_000)
	cafe := e.terminal("Cafe Hikari", "5814")
	rs := e.want(e.do("POST", "/v1/related_services", apiAdminKey, kakeiboBody()), 201)
	sid, partnerKey := str(rs.body["id"]), str(rs.body["api_key"])
	pay := e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201)
	pid := str(pay.body["id"])
	e.want(e.do("GET", "/v1/payments/"+pid+"/completion", aiko.token, nil), 200)
	sel := e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid, "memo": "lunch"}), 201)
	did := str(sel.body["delivery_id"])
	fresh := str(e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201).body["id"])
	lid := str(e.want(e.do("POST", "/v1/links", aiko.token, map[string]any{"service_id": sid}), 201).body["id"])
	e.want(e.do("GET", "/v1/payments/"+fresh+"/completion", aiko.token, nil), 200)
	tokens := map[string]string{"app": aiko.token, "shop": cafe.token, "admin": apiAdminKey, "partner": partnerKey}
	login = func(area string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		res, err := c.PostForm(e.url+"/"+area+"/login", url.Values{"token": {tokens[area]}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login to %s: %d", area, res.StatusCode)
		}
		t.Cleanup(c.CloseIdleConnections)
		return c
	}
	type form struct {
		method, area, tmpl string
		ids                map[string]string
		fields             url.Values // the form, or the query of a GET
	}
	key := "pg_" + strings.Repeat("k", 20)
	forms := []form{
		{"POST", "app", "/app/login", nil, url.Values{"token": {aiko.token}}},
		{"GET", "app", "/app/payments", nil, url.Values{"after": {pid}}},
		{"GET", "app", "/app/payments/{id}", map[string]string{"id": pid}, url.Values{"lang": {"en"}}},
		{"POST", "app", "/app/payments/{id}/select", map[string]string{"id": fresh},
			url.Values{"service_id": {sid}, "memo": {"lunch"}, "category": {"food"}, "idempotency_key": {key + "1"}}},
		{"POST", "app", "/app/payments/{id}/dismiss", map[string]string{"id": fresh}, url.Values{"service_id": {sid}}},
		{"POST", "app", "/app/links", nil, url.Values{"service_id": {sid}, "idempotency_key": {key + "2"}}},
		{"POST", "app", "/app/links/{id}", map[string]string{"id": lid}, url.Values{"auto": {"1"}, "statement": {"1"}}},
		{"GET", "app", "/app/confirm", nil, url.Values{"qr": {"000201"}}},
		{"POST", "shop", "/shop/charge", nil, url.Values{"amount": {"100"}, "code": {"88000000000000000000"}, "idempotency_key": {key + "3"}}},
		{"GET", "shop", "/shop/payments", nil, url.Values{"after": {pid}}},
		{"GET", "shop", "/shop/payments/{id}", map[string]string{"id": pid}, url.Values{"refund": {"rfd_x"}}},
		{"POST", "shop", "/shop/refund", nil, url.Values{"payment_id": {pid}, "amount": {"1"}, "idempotency_key": {key + "4"}}},
		{"GET", "admin", "/admin", nil, url.Values{"after": {sid}}},
		{"GET", "admin", "/admin/services/{id}", map[string]string{"id": sid}, nil},
		{"POST", "admin", "/admin/services/{id}", map[string]string{"id": sid}, url.Values{"name": {"Kakeibo"}, "app_category": {"household_budget"},
			"webhook_url": {"https://kakeibo.example/hooks"}, "base_threshold": {"1000"}, "categories": {"food"}}},
		{"GET", "admin", "/admin/deliveries/{id}", map[string]string{"id": did}, nil},
		{"GET", "partner", "/partner/deliveries", nil, url.Values{"payment": {pid}, "starting_after": {did}, "status": {"queued"}}},
		{"POST", "partner", "/partner/deliveries/replay", nil, url.Values{"since": {"2026-01-01T00:00"}, "service": {sid}}},
		{"GET", "partner", "/partner/deliveries/{id}", map[string]string{"id": did}, nil},
	}
	for _, f := range forms {
		for _, bv := range badTexts {
			mutate := func(in, name string) badCase {
				c := badCase{name: fmt.Sprintf("%s %s %s.%s=%s", f.method, f.tmpl, in, name, bv.name), text: bv.text, page: true,
					method: f.method, header: http.Header{"X-Area": {f.area}}}
				path := f.tmpl
				for k, v := range f.ids {
					if in == "path" {
						v = bv.v
					}
					path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
				}
				vs := url.Values{}
				for k, v := range f.fields {
					vs[k] = slices.Clone(v)
				}
				if in == "form" {
					vs.Set(name, bv.v)
				}
				if f.method == "GET" {
					if len(vs) > 0 {
						path += "?" + vs.Encode()
					}
				} else {
					c.body, c.ctype = []byte(vs.Encode()), "application/x-www-form-urlencoded"
				}
				c.path = path
				return c
			}
			for k := range f.ids {
				cases = append(cases, mutate("path", k))
			}
			names := make([]string, 0, len(f.fields))
			for k := range f.fields {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				cases = append(cases, mutate("form", k))
			}
		}
	}
	return cases, login
}

// TestBadTextEveryEngine sends a battery of bad strings (NUL, bytes that
// are not UTF-8, an overlong NUL, a surrogate, 5,000 characters, an id of
// a foreign shape) in every place the API and the pages take a string, to
// a real server on SQLite and on PostgreSQL: never a 500, a string that is
// not text is a 422 naming the field, and both engines answer alike.
func TestBadTextEveryEngine(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		results = map[string]map[string]int{}
	)
	t.Run("engines", func(t *testing.T) {
		for _, engine := range storetest.Engines {
			t.Run(engine, func(t *testing.T) {
				t.Parallel()
				got := map[string]int{}
				e := newAPIEnvOn(t, engine)
				for _, c := range apiCases(t, e) {
					r := c.run(t, e.client, e.url)
					c.check(t, r)
					got["api "+c.name] = r.status
				}
				pe := newAPIEnvOn(t, engine)
				cases, login := pageCases(t, pe)
				clients := map[string]*http.Client{}
				for _, c := range cases {
					area := c.header.Get("X-Area")
					if clients[area] == nil {
						clients[area] = login(area)
					}
					r := c.run(t, clients[area], pe.url)
					c.check(t, r)
					got["page "+c.name] = r.status
				}
				mu.Lock()
				results[engine] = got
				mu.Unlock()
			})
		}
	})
	if t.Failed() || len(results) != len(storetest.Engines) {
		return
	}
	a, b := results[storetest.Engines[0]], results[storetest.Engines[1]]
	if len(a) < 500 {
		t.Fatalf("only %d cases ran", len(a))
	}
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if a[n] != b[n] {
			t.Errorf("%q: %s answers %d, %s answers %d", n, storetest.Engines[0], a[n], storetest.Engines[1], b[n])
		}
	}
}
