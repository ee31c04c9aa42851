package http_test

import (
	"strings"
	"testing"
)

// TestAPILinkConsents (issue 11): a link's statement feed is a consent the
// user gives and takes back over the API (POST /v1/links, PATCH
// /v1/links/{id}); each change has a new consent receipt; an unlink sends
// link.revoked, which the partner sees among its deliveries.
func TestAPILinkConsents(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko, ben := e.user("Aiko", 50_000), e.user("Ben", 1000)
	body := kakeiboBody()
	body["policy"] = map[string]any{"base_threshold": map[string]any{"JPY": 1000}, "wants_statement": true}
	rs := e.want(e.do("POST", "/v1/related_services", apiAdminKey, body), 201)
	sid, partnerKey := str(rs.body["id"]), str(rs.body["api_key"])

	l := e.want(e.do("POST", "/v1/links", aiko.token, map[string]any{"service_id": sid}), 201)
	lid, first := str(l.body["id"]), str(l.body["consent_id"])
	if l.body["statement"] != false || l.body["auto"] != false || !strings.HasPrefix(first, "cns_") {
		t.Fatalf("a new link consents to more than asked: %s", l.raw)
	}
	on := e.want(e.do("PATCH", "/v1/links/"+lid, aiko.token, map[string]any{"statement": true}), 200)
	if on.body["statement"] != true || on.body["auto"] != false || str(on.body["consent_id"]) == first {
		t.Fatalf("after PATCH statement on: %s", on.raw)
	}
	e.want(e.do("PATCH", "/v1/links/"+lid, ben.token, map[string]any{"statement": false}), 404)
	e.want(e.do("PATCH", "/v1/links/"+lid, partnerKey, map[string]any{"statement": false}), 403)
	ls := e.want(e.do("GET", "/v1/links", aiko.token, nil), 200)
	if got := ls.body["data"].([]any)[0].(map[string]any); got["statement"] != true {
		t.Fatalf("links %s", ls.raw)
	}
	auto := e.want(e.do("PATCH", "/v1/links/"+lid, aiko.token, map[string]any{"auto": true}), 200)
	if auto.body["statement"] != true || auto.body["auto"] != true {
		t.Fatalf("after PATCH auto on: %s", auto.raw)
	}

	e.want(e.do("POST", "/v1/links/"+lid+"/revoke", aiko.token, nil), 200)
	e.want(e.do("PATCH", "/v1/links/"+lid, aiko.token, map[string]any{"statement": true}), 409)
	ds := e.want(e.do("GET", "/v1/deliveries?service_id="+sid, partnerKey, nil), 200)
	data := ds.body["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("deliveries after unlink %s", ds.raw)
	}
	if d := data[0].(map[string]any); d["type"] != "link.revoked" || !strings.Contains(str(d["body"]), `"link_id":"`+lid+`"`) {
		t.Fatalf("link.revoked delivery %v", d)
	}
}
