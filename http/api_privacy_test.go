package http_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei"
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

	// The completion view says what a tap sends: the fields now, and the
	// statement line later.
	cafe := e.terminal("Cafe Hikari", "5814")
	pay := e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 12_800}), 201)
	v := e.want(e.do("GET", "/v1/payments/"+str(pay.body["id"])+"/completion", aiko.token, nil), 200)
	card := v.body["proposals"].([]any)[0].(map[string]any)["service"].(map[string]any)
	if fmt.Sprint(card["scopes"]) != "[amount merchant_name merchant_category time]" || card["statement_line"] != true {
		t.Fatalf("the card does not say what a tap sends: %v", card)
	}

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

// TestAPIPrivacyCenter (issue 11): a payer lists every provision of their
// data (what, why, which fields as sent, status, consent) and every
// consent, downloads a consent receipt in the Kantara shape, and sees an
// unlink stop what was queued and send link.revoked. The admin exports a
// service's record of provision for a period as JSON pages, CSV or JSON
// lines; nobody else can.
func TestAPIPrivacyCenter(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	aiko, ben := e.user("Aiko", 50_000), e.user("Ben", 1000)
	cafe := e.terminal("Cafe Hikari", "5814")
	body := kakeiboBody()
	body["policy"] = map[string]any{"base_threshold": map[string]any{"JPY": 1000}, "wants_statement": true}
	rs := e.want(e.do("POST", "/v1/related_services", apiAdminKey, body), 201)
	sid, partnerKey := str(rs.body["id"]), str(rs.body["api_key"])
	start := time.Now().UTC().Add(-time.Minute)

	l := e.want(e.do("POST", "/v1/links", aiko.token, map[string]any{"service_id": sid, "auto": true}), 201)
	lid, cid := str(l.body["id"]), str(l.body["consent_id"])
	pay := e.want(e.do("POST", "/v1/payments/charge", cafe.token, map[string]any{"code": e.payCode(aiko), "amount": 1280}), 201)
	pid := str(pay.body["id"])

	ps := e.want(e.do("GET", "/v1/privacy/provisions", aiko.token, nil), 200)
	data := ps.body["data"].([]any)
	if len(data) != 1 || ps.body["has_more"] != false {
		t.Fatalf("provisions %s", ps.raw)
	}
	p := data[0].(map[string]any)
	fields := fmt.Sprint(p["fields"])
	if p["payment_id"] != pid || p["source"] != "link" || p["status"] != "queued" || p["consent_id"] != cid ||
		p["service_name"] != "Kakeibo" || !strings.HasPrefix(str(p["user"]), "pu_") || p["user_id"] != nil ||
		fields != "[pseudonymous_id payment_id amount merchant_name merchant_category time]" {
		t.Fatalf("provision %v (fields %s)", p, fields)
	}
	if got := e.want(e.do("GET", "/v1/privacy/provisions", ben.token, nil), 200); len(got.body["data"].([]any)) != 0 {
		t.Fatalf("Ben sees Aiko's provisions: %s", got.raw)
	}
	e.want(e.do("GET", "/v1/privacy/provisions", partnerKey, nil), 403)

	cs := e.want(e.do("GET", "/v1/privacy/consents", aiko.token, nil), 200)
	if c := cs.body["data"].([]any); len(c) != 1 || c[0].(map[string]any)["id"] != cid || c[0].(map[string]any)["auto"] != true {
		t.Fatalf("consents %s", cs.raw)
	}
	rc := e.want(e.do("GET", "/v1/privacy/consents/"+cid+"/receipt?lang=en", aiko.token, nil), 200)
	if cd := rc.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, cid) {
		t.Fatalf("receipt is not a download: %q", cd)
	}
	var receipt renkei.ConsentReceipt
	if err := json.Unmarshal([]byte(rc.raw), &receipt); err != nil {
		t.Fatal(err)
	}
	if receipt.Version != renkei.ReceiptVersion || receipt.ConsentReceiptID != cid || receipt.CollectionMethod != "link set up in the wallet" ||
		receipt.PIIPrincipalID != str(p["user"]) || len(receipt.PIIControllers) != 1 || receipt.PIIControllers[0].Name == "" ||
		receipt.ConsentTimestamp == 0 || len(receipt.Services) != 1 || len(receipt.Services[0].Purposes) != 2 ||
		receipt.Services[0].Purposes[1].ThirdPartyName != "Kakeibo" || receipt.Services[0].Purposes[1].Termination == "" ||
		!strings.Contains(receipt.Services[0].Purposes[1].Purpose, "Real time") || receipt.Renkei.Status != "active" {
		t.Fatalf("receipt %s", rc.raw)
	}
	if !strings.Contains(rc.raw, `"consentReceiptID"`) || !strings.Contains(rc.raw, `"piiCategory"`) {
		t.Fatalf("receipt lacks the Kantara field names: %s", rc.raw)
	}
	e.want(e.do("GET", "/v1/privacy/consents/"+cid+"/receipt", ben.token, nil), 404)
	ja := e.want(e.do("GET", "/v1/privacy/consents/"+cid+"/receipt", aiko.token, nil, "Accept-Language", "ja"), 200)
	if !strings.Contains(ja.raw, "ウォレットでの連携設定") {
		t.Fatalf("ja receipt %s", ja.raw)
	}

	// Unlink: the queued payment stops, link.revoked is queued, and the
	// receipt says the consent was withdrawn.
	e.want(e.do("POST", "/v1/links/"+lid+"/revoke", aiko.token, nil), 200)
	ps = e.want(e.do("GET", "/v1/privacy/provisions?limit=1", aiko.token, nil), 200)
	if d := ps.body["data"].([]any); len(d) != 1 || ps.body["has_more"] != true || d[0].(map[string]any)["type"] != "link.revoked" ||
		fmt.Sprint(d[0].(map[string]any)["fields"]) != "[pseudonymous_id]" {
		t.Fatalf("after unlink, first page %s", ps.raw)
	}
	next := e.want(e.do("GET", "/v1/privacy/provisions?limit=1&starting_after="+str(ps.body["data"].([]any)[0].(map[string]any)["id"]), aiko.token, nil), 200)
	if d := next.body["data"].([]any); len(d) != 1 || d[0].(map[string]any)["status"] != "canceled" || next.body["has_more"] != false {
		t.Fatalf("after unlink, second page %s", next.raw)
	}
	if rc := e.want(e.do("GET", "/v1/privacy/consents/"+cid+"/receipt", aiko.token, nil), 200); !strings.Contains(rc.raw, `"status": "withdrawn"`) {
		t.Fatalf("receipt after unlink %s", rc.raw)
	}

	// The admin's record of provision for the service.
	path := "/v1/related_services/" + sid + "/provisions?since=" + start.Format(time.RFC3339)
	e.want(e.do("GET", path, partnerKey, nil), 403)
	e.want(e.do("GET", path, aiko.token, nil), 403)
	e.want(e.do("GET", path+"&until="+start.Add(-time.Hour).Format(time.RFC3339), apiAdminKey, nil), 422)
	page := e.want(e.do("GET", path, apiAdminKey, nil), 200)
	if d := page.body["data"].([]any); len(d) != 2 || d[1].(map[string]any)["user_id"] != aiko.id {
		t.Fatalf("admin page %s", page.raw)
	}
	csvOut := e.want(e.do("GET", path+"&format=csv", apiAdminKey, nil), 200)
	rows, err := csv.NewReader(strings.NewReader(csvOut.raw)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "created_at" || rows[2][4] != aiko.id || rows[2][6] != pid ||
		!strings.Contains(csvOut.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv export %v %v:\n%s", rows, err, csvOut.raw)
	}
	jl := e.want(e.do("GET", path+"&format=jsonl", apiAdminKey, nil), 200)
	if lines := strings.Split(strings.TrimSpace(jl.raw), "\n"); len(lines) != 2 || !strings.Contains(lines[1], `"payment_id":"`+pid+`"`) {
		t.Fatalf("jsonl export %s", jl.raw)
	}
	empty := e.want(e.do("GET", "/v1/related_services/"+sid+"/provisions?format=csv&until="+start.Format(time.RFC3339), apiAdminKey, nil), 200)
	if strings.Count(strings.TrimSpace(empty.raw), "\n") != 0 {
		t.Fatalf("a period before any message exported rows: %s", empty.raw)
	}
}
