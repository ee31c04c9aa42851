package http_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei/store"
)

func kakeiboBody() map[string]any {
	return map[string]any{
		"name":         "Kakeibo",
		"description":  map[string]any{"ja": "家計簿に記録", "en": "Record in your account book"},
		"app_category": "household_budget",
		"webhook_url":  "https://kakeibo.example/hooks",
		"scopes":       []string{"amount", "merchant_name", "merchant_category", "time"},
		"input":        map[string]any{"memo": true, "memo_max_length": 30, "categories": []string{"food", "daily"}},
		"policy":       map[string]any{"base_threshold": map[string]any{"JPY": 1000}},
		"enabled":      true,
	}
}

// TestAPICompletionFlow is claims 2–8 over HTTP: register a service, pay,
// read the completion view with its reasons, tap with a memo, and see the
// queued message as the admin and as the partner.
func TestAPICompletionFlow(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko, ben := e.user("Aiko", 50_000), e.user("Ben", 1000)
	cafe := e.terminal("Cafe Hikari", "5814")

	e.want(e.do("POST", "/v1/related_services", aiko.token, kakeiboBody()), 403)
	bad := kakeiboBody()
	bad["scopes"] = []string{"card_number"}
	e.want(e.do("POST", "/v1/related_services", apiAdminKey, bad), 422)
	rs := e.want(e.do("POST", "/v1/related_services", apiAdminKey, kakeiboBody()), 201)
	sid, partnerKey := str(rs.body["id"]), str(rs.body["api_key"])
	if !strings.HasPrefix(partnerKey, "rk_rsv_") {
		t.Fatalf("service %s", rs.raw)
	}
	pub := e.want(e.do("GET", "/v1/related_services/"+sid, aiko.token, nil), 200)
	if pub.body["webhook_url"] != "" || pub.body["name"] != "Kakeibo" {
		t.Fatalf("a user sees the endpoint: %s", pub.raw)
	}

	pay := e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201)
	pid := str(pay.body["id"])
	e.want(e.do("GET", "/v1/payments/"+pid+"/completion", ben.token, nil), 404)
	e.want(e.do("GET", "/v1/payments/"+pid+"/completion", cafe.token, nil), 403)
	v := e.want(e.do("GET", "/v1/payments/"+pid+"/completion?lang=en", aiko.token, nil), 200)
	props := v.body["proposals"].([]any)
	if len(props) != 1 {
		t.Fatalf("completion %s", v.raw)
	}
	card := props[0].(map[string]any)
	reason := card["reason"].(map[string]any)
	if card["service_id"] != sid || !strings.Contains(str(reason["text"]), "¥12,800") || reason["code"] == "" {
		t.Fatalf("card %v", card)
	}
	vja := e.want(e.do("GET", "/v1/payments/"+pid+"/completion", aiko.token, nil, "Accept-Language", "ja-JP,ja;q=0.9"), 200)
	if !strings.Contains(vja.raw, "しきい値") {
		t.Fatalf("ja completion %s", vja.raw)
	}

	e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid, "memo": strings.Repeat("x", 31)}), 422)
	e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid, "category": "cars"}), 422)
	e.want(e.do("POST", "/v1/payments/"+pid+"/selections", ben.token, map[string]any{"service_id": sid}), 404)
	sel := e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token,
		map[string]any{"service_id": sid, "memo": "team lunch", "category": "food"}, "Idempotency-Key", "tap-1"), 201)
	if sel.body["outcome"] != "queued" {
		t.Fatalf("selection %s", sel.raw)
	}
	again := e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token,
		map[string]any{"service_id": sid, "memo": "team lunch", "category": "food"}, "Idempotency-Key", "tap-1"), 201)
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("retried tap not replayed")
	}
	e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid}), 409)

	for _, who := range []string{apiAdminKey, partnerKey} {
		ds := e.want(e.do("GET", "/v1/deliveries?payment_id="+pid, who, nil), 200)
		data := ds.body["data"].([]any)
		if len(data) != 1 || !strings.Contains(str(data[0].(map[string]any)["body"]), `"memo":"team lunch"`) {
			t.Fatalf("deliveries %s", ds.raw)
		}
	}
	e.want(e.do("GET", "/v1/deliveries", aiko.token, nil), 403)
	if !strings.HasPrefix(str(rs.body["webhook_secret"]), "whsec_") {
		t.Fatalf("no signing secret shown at creation: %s", rs.raw)
	}
	other := kakeiboBody()
	other["name"] = "Points"
	otherKey := str(e.want(e.do("POST", "/v1/related_services", apiAdminKey, other), 201).body["api_key"])
	did := str(sel.body["delivery_id"])
	d := e.want(e.do("GET", "/v1/deliveries/"+did, partnerKey, nil), 200)
	if d.body["status"] != "queued" || d.body["attempt_log"] == nil {
		t.Fatalf("delivery detail %s", d.raw)
	}
	e.want(e.do("GET", "/v1/deliveries/"+did, otherKey, nil), 404)
	e.want(e.do("POST", "/v1/deliveries/"+did+"/replay", partnerKey, nil), 409)
	rp := e.want(e.do("POST", "/v1/deliveries/replay", partnerKey, map[string]any{"since": "2020-01-01T00:00:00Z"}), 200)
	if rp.body["replayed"].(float64) != 0 {
		t.Fatalf("replay %s", rp.raw)
	}
	e.want(e.do("POST", "/v1/related_services/"+sid+"/rotate_secret", partnerKey, map[string]any{}), 403)
	rot := e.want(e.do("POST", "/v1/related_services/"+sid+"/rotate_secret", apiAdminKey, map[string]any{"grace_hours": 2}), 200)
	if !strings.HasPrefix(str(rot.body["webhook_secret"]), "whsec_") || rot.body["webhook_secret"] == rs.body["webhook_secret"] {
		t.Fatalf("rotation %s", rot.raw)
	}

	// Links: link, list, unlink; another user's link is not found.
	l := e.want(e.do("POST", "/v1/links", ben.token, map[string]any{"service_id": sid, "auto": true}), 201)
	lid := str(l.body["id"])
	e.want(e.do("POST", "/v1/links", ben.token, map[string]any{"service_id": sid}), 409)
	e.want(e.do("POST", "/v1/links/"+lid+"/revoke", aiko.token, nil), 404)
	ls := e.want(e.do("GET", "/v1/links", ben.token, nil), 200)
	if len(ls.body["data"].([]any)) != 1 {
		t.Fatalf("links %s", ls.raw)
	}
	r := e.want(e.do("POST", "/v1/links/"+lid+"/revoke", ben.token, nil), 200)
	if r.body["status"] != "revoked" {
		t.Fatalf("revoke %s", r.raw)
	}

	// Icons: admin uploads PNG; anyone can fetch it; SVG is refused.
	png := []byte("\x89PNG\r\n\x1a\n0000")
	up := func(ct string, body []byte) int {
		req, _ := http.NewRequest("PUT", e.url+"/v1/related_services/"+sid+"/icon", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer "+apiAdminKey)
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := up("image/svg+xml", []byte("<svg/>")); st != 422 && st != 415 {
		t.Fatalf("svg icon: %d", st)
	}
	if st := up("image/png", png); st != 200 {
		t.Fatalf("png icon: %d", st)
	}
	res, err := e.client.Get(e.url + "/v1/related_services/" + sid + "/icon")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("icon fetch %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// TestAPINotNeeded is claim 10 over HTTP: no card, and no second message,
// for a service the user's automatic link sends to, or for one that
// already has the payment; the other app is offered as usual.
func TestAPINotNeeded(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko := e.user("Aiko", 100_000)
	cafe := e.terminal("Cafe Hikari", "5814")
	sid := str(e.want(e.do("POST", "/v1/related_services", apiAdminKey, kakeiboBody()), 201).body["id"])
	pts := kakeiboBody()
	pts["name"] = "Points"
	other := str(e.want(e.do("POST", "/v1/related_services", apiAdminKey, pts), 201).body["id"])
	lid := str(e.want(e.do("POST", "/v1/links", aiko.token, map[string]any{"service_id": sid, "auto": true}), 201).body["id"])

	pay := func() string {
		t.Helper()
		return str(e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201).body["id"])
	}
	onlyOther := func(pid string) {
		t.Helper()
		v := e.want(e.do("GET", "/v1/payments/"+pid+"/completion?lang=en", aiko.token, nil), 200)
		props := v.body["proposals"].([]any)
		if len(props) != 1 || props[0].(map[string]any)["service_id"] != other {
			t.Fatalf("completion %s, want only %s", v.raw, other)
		}
		r := e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid}), 422)
		if r.body["code"] != "not_proposed" {
			t.Fatalf("refused tap %s, want code not_proposed", r.raw)
		}
	}
	sentTo := func(pid string) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, d := range e.want(e.do("GET", "/v1/deliveries?payment_id="+pid, apiAdminKey, nil), 200).body["data"].([]any) {
			if d := d.(map[string]any); d["service_id"] == sid {
				out = append(out, d)
			}
		}
		return out
	}

	// The automatic link sends: no card, a tap is refused, one message.
	p1 := pay()
	onlyOther(p1)
	if ds := sentTo(p1); len(ds) != 1 || ds[0]["source"] != "link" {
		t.Fatalf("messages to the linked service %v", ds)
	}

	// A payment the link delivered, opened only after the link turned
	// manual: the service has it, so no card and no second message.
	p2 := pay()
	d2 := sentTo(p2)
	if len(d2) != 1 {
		t.Fatalf("messages %v", d2)
	}
	if err := e.store.RecordAttempt(context.Background(), str(d2[0]["id"]), store.AttemptResult{Attempt: 1, StartedAt: time.Now(),
		Status: 204, Delivered: true}); err != nil {
		t.Fatal(err)
	}
	e.want(e.do("POST", "/v1/links/"+lid+"/revoke", aiko.token, nil), 200)
	e.want(e.do("POST", "/v1/links", aiko.token, map[string]any{"service_id": sid}), 201)
	onlyOther(p2)
	if ds := sentTo(p2); len(ds) != 1 || ds[0]["status"] != "delivered" {
		t.Fatalf("messages to the service that has the payment %v", ds)
	}

	// With the link manual, a new payment offers both apps again.
	v := e.want(e.do("GET", "/v1/payments/"+pay()+"/completion?lang=en", aiko.token, nil), 200)
	if n := len(v.body["proposals"].([]any)); n != 2 {
		t.Fatalf("completion %s, want both apps", v.raw)
	}
}
