package http_test

import (
	"strings"
	"testing"
)

// TestAPIAnnotation: the memo edit over HTTP. Only the payer, only after
// an app received the payment, within the app's limits; the
// Idempotency-Key replays the first answer and queues nothing more; the
// message is a payment.annotated with the payment's id. The selection
// states show the tap's message.
func TestAPIAnnotation(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko, ben := e.user("Aiko", 50_000), e.user("Ben", 1000)
	cafe := e.terminal("Cafe Hikari", "5814")
	sid := str(e.want(e.do("POST", "/v1/related_services", apiAdminKey, kakeiboBody()), 201).body["id"])
	pid := str(e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201).body["id"])
	e.want(e.do("GET", "/v1/payments/"+pid+"/completion", aiko.token, nil), 200)

	edit := map[string]any{"memo": "team lunch with Ben", "category": "daily"}
	e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", aiko.token, edit), 409) // no app has it yet
	sts := e.want(e.do("GET", "/v1/payments/"+pid+"/selections", aiko.token, nil), 200)
	if len(sts.body["data"].([]any)) != 0 {
		t.Fatalf("states before a tap %s", sts.raw)
	}
	e.want(e.do("POST", "/v1/payments/"+pid+"/selections", aiko.token, map[string]any{"service_id": sid, "memo": "lunch", "category": "food"}), 201)

	e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", ben.token, edit), 404)
	e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", cafe.token, edit), 403)
	e.want(e.do("GET", "/v1/payments/"+pid+"/selections", ben.token, nil), 404)
	tooLong := e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", aiko.token, map[string]any{"memo": strings.Repeat("x", 31)}), 422)
	if !strings.Contains(tooLong.raw, "body.memo") {
		t.Fatalf("too long %s", tooLong.raw)
	}
	e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", aiko.token, map[string]any{"memo": "ok", "category": "cars"}), 422)

	a := e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", aiko.token, edit, "Idempotency-Key", "edit-1"), 201)
	again := e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", aiko.token, edit, "Idempotency-Key", "edit-1"), 201)
	if again.header.Get("Idempotent-Replayed") != "true" || again.body["id"] != a.body["id"] {
		t.Fatalf("replay %s, first %s", again.raw, a.raw)
	}
	e.want(e.do("POST", "/v1/payments/"+pid+"/annotations", aiko.token, map[string]any{"memo": "other"}, "Idempotency-Key", "edit-1"), 409)

	ds := e.want(e.do("GET", "/v1/deliveries?payment_id="+pid, apiAdminKey, nil), 200).body["data"].([]any)
	var annotated []map[string]any
	for _, d := range ds {
		if m := d.(map[string]any); m["type"] == "payment.annotated" {
			annotated = append(annotated, m)
		}
	}
	if len(annotated) != 1 || annotated[0]["payment_id"] != pid || annotated[0]["id"] != a.body["delivery_ids"].([]any)[0] ||
		!strings.Contains(str(annotated[0]["body"]), `"input":{"memo":"team lunch with Ben","category":"daily"}`) {
		t.Fatalf("annotated messages %v", annotated)
	}

	sts = e.want(e.do("GET", "/v1/payments/"+pid+"/selections", aiko.token, nil), 200)
	st := sts.body["data"].([]any)[0].(map[string]any)
	if st["service_id"] != sid || st["status"] != "queued" || st["final"] != false {
		t.Fatalf("selection state %s", sts.raw)
	}
}
