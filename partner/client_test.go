package partner_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei/partner"
)

const apiKey = "rk_rsv_testkey"

// fakeAPI is a stand-in for Renkei's partner API with its answers' shapes:
// lists as {data, has_more}, errors as problem+json.
func fakeAPI(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	var seen []string
	problem := func(w http.ResponseWriter, status int, code, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"type": "/docs#problem-" + code, "title": http.StatusText(status),
			"status": status, "detail": detail, "code": code})
	}
	ok := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}
	delivery := `{"id":"msg_2","service_id":"rsv_1","payment_id":"pay_2","type":"payment.completed","source":"selection",
		"sequence":2,"status":"failed","body":"{\"type\":\"payment.completed\",\"version\":\"2026-11-25\",\"timestamp\":\"2026-11-25T03:12:45Z\",\"data\":{\"payment_id\":\"pay_2\",\"user\":\"pu_1\",\"sequence\":2,\"source\":\"selection\"}}",
		"attempts":8,"last_error":"HTTP 500 Internal Server Error","created_at":"2026-11-25T03:12:45Z"`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.RawQuery)
		ok(w, `{"$schema":"/schemas/List.json","data":[`+delivery+`}],"has_more":true}`)
	})
	mux.HandleFunc("GET /v1/deliveries/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "msg_2" {
			problem(w, 404, "not_found", "There is no delivery "+r.PathValue("id")+".")
			return
		}
		ok(w, delivery+`,"attempt_log":[{"id":"att_1","delivery_id":"msg_2","attempt":1,"started_at":"2026-11-25T03:12:45Z",
			"duration_ms":12.5,"status_code":500,"response_body":"handler failed; retry later\n","error":"HTTP 500 Internal Server Error"}]}`)
	})
	mux.HandleFunc("POST /v1/deliveries/{id}/replay", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "msg_2" {
			problem(w, 409, "conflict", "Delivery "+r.PathValue("id")+" is delivered; only a failed delivery can be replayed.")
			return
		}
		ok(w, `{"replayed":1}`)
	})
	mux.HandleFunc("POST /v1/deliveries/replay", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Since time.Time `json:"since"`
		}
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&in) != nil {
			problem(w, 422, "invalid_request", "The request is not valid.")
			return
		}
		seen = append(seen, "since="+in.Since.Format(time.RFC3339))
		ok(w, `{"replayed":3}`)
	})
	mux.HandleFunc("GET /v1/related_services/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != "rsv_1" {
			problem(w, 404, "not_found", "There is no related service "+r.PathValue("id")+".")
			return
		}
		ok(w, `{"id":"rsv_1","name":"Kakeibo","description":{"ja":"家計簿","en":"Household account book"},"app_category":"household_budget",
			"webhook_url":"https://kakeibo.example/renkei","scopes":["amount","merchant_name"],"input":{"memo":true,"memo_max_length":200,
			"categories":["food","transport"]},"policy":{"base_threshold":{"JPY":1000}},"enabled":true,"created_at":"2026-11-01T00:00:00Z"}`)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+apiKey {
			w.Header().Set("WWW-Authenticate", "Bearer")
			problem(w, 401, "unauthorized", "Send the service's API key as a bearer token.")
			return
		}
		if r.URL.Path == "/v1/deliveries/msg_gateway" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html><body>nginx: upstream is down</body></html>")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestClient(t *testing.T) {
	srv, seen := fakeAPI(t)
	c := partner.NewClient(srv.URL+"/", apiKey, srv.Client())
	ctx := context.Background()

	page, err := c.Deliveries(ctx, partner.ListOptions{Status: partner.DeliveryFailed, PaymentID: "pay_2", Limit: 50, StartingAfter: "msg_9"})
	if err != nil {
		t.Fatal(err)
	}
	if !page.HasMore || len(page.Data) != 1 || page.Data[0].ID != "msg_2" || page.Data[0].Attempts != 8 {
		t.Fatalf("page %+v", page)
	}
	if q := (*seen)[0]; q != "limit=50&payment_id=pay_2&starting_after=msg_9&status=failed" {
		t.Errorf("query %q", q)
	}
	ev, err := page.Data[0].Event()
	if err != nil || ev.ID != "msg_2" || ev.Type != partner.TypePaymentCompleted {
		t.Errorf("Event() = %+v, %v", ev, err)
	}
	if _, err := c.Deliveries(ctx, partner.ListOptions{}); err != nil || (*seen)[1] != "" {
		t.Errorf("empty options sent %q: %v", (*seen)[1], err)
	}

	d, err := c.Delivery(ctx, "msg_2")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.AttemptLog) != 1 || d.AttemptLog[0].StatusCode != 500 || d.AttemptLog[0].ResponseBody != "handler failed; retry later\n" {
		t.Errorf("attempt log %+v", d.AttemptLog)
	}

	if err := c.Replay(ctx, "msg_2"); err != nil {
		t.Fatal(err)
	}
	n, err := c.ReplaySince(ctx, time.Date(2026, 11, 25, 12, 0, 0, 0, time.FixedZone("JST", 9*3600)))
	if err != nil || n != 3 {
		t.Fatalf("ReplaySince = %d, %v", n, err)
	}
	if got := (*seen)[2]; got != "since=2026-11-25T03:00:00Z" {
		t.Errorf("sent %q", got)
	}

	s, err := c.Settings(ctx, "rsv_1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Kakeibo" || s.Description.JA != "家計簿" || !s.Input.Memo || s.Policy.BaseThreshold["JPY"] != 1000 || len(s.Scopes) != 2 {
		t.Errorf("settings %+v", s)
	}
}

func TestClientErrors(t *testing.T) {
	srv, _ := fakeAPI(t)
	ctx := context.Background()
	c := partner.NewClient(srv.URL, apiKey, srv.Client())

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		code   string
		detail string
	}{
		{"not found", func() error { _, err := c.Delivery(ctx, "msg_nope"); return err }, 404, "not_found", "There is no delivery msg_nope."},
		{"conflict", func() error { return c.Replay(ctx, "msg_1") }, 409, "conflict", "only a failed delivery can be replayed"},
		{"not your service", func() error { _, err := c.Settings(ctx, "rsv_other"); return err }, 404, "not_found", "related service rsv_other"},
		{"bad key", func() error {
			_, err := partner.NewClient(srv.URL, "rk_rsv_wrong", srv.Client()).Deliveries(ctx, partner.ListOptions{})
			return err
		}, 401, "unauthorized", "API key"},
		{"not problem+json", func() error { _, err := c.Delivery(ctx, "msg_gateway"); return err }, 502, "", "Bad Gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *partner.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if ae.Status != tc.status || ae.Code != tc.code || !strings.Contains(ae.Detail, tc.detail) {
				t.Errorf("got %+v, want %d %q %q", ae, tc.status, tc.code, tc.detail)
			}
			if strings.Contains(err.Error(), apiKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}
