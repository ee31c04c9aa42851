package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	rhttp "github.com/renkei/renkei/http"
)

// call makes one API call with a bearer token and decodes the answer.
func call(t *testing.T, c *http.Client, method, u, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &body)
	return res.StatusCode, body
}

// TestRotateTokenEndsLogins: the admin gives a user a new token and a
// terminal a new key; the old ones, and the page logins made with them,
// stop working at once, and the new ones work.
func TestRotateTokenEndsLogins(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	c := &http.Client{}
	defer c.CloseIdleConnections()
	phone, till := f.browser("en"), f.browser("en")
	phone.login("app", f.aiko.token)
	till.login("shop", f.cafe.token)
	phone.want(phone.get("/app"), http.StatusOK, "Aiko")
	till.want(till.get("/shop"), http.StatusOK)

	// Only the admin may rotate, and only what exists.
	if st, body := call(t, c, "POST", f.url+"/v1/users/"+f.aiko.id+"/rotate_token", f.aiko.token); st != http.StatusForbidden {
		t.Fatalf("a user rotating a token: %d %v", st, body)
	}
	if st, body := call(t, c, "POST", f.url+"/v1/terminals/"+f.cafe.id+"/rotate_key", f.cafe.token); st != http.StatusForbidden {
		t.Fatalf("a terminal rotating a key: %d %v", st, body)
	}
	if st, _ := call(t, c, "POST", f.url+"/v1/users/usr_01M8QCPH6H1SJ6TZ8ZBY2TQVE9/rotate_token", "admin"); st != http.StatusNotFound {
		t.Fatalf("rotating an unknown user: %d", st)
	}

	st, body := call(t, c, "POST", f.url+"/v1/users/"+f.aiko.id+"/rotate_token", "admin")
	newToken, _ := body["token"].(string)
	if st != http.StatusOK || body["id"] != f.aiko.id || !strings.HasPrefix(newToken, "rk_usr_") || newToken == f.aiko.token {
		t.Fatalf("rotate_token: %d %v", st, body)
	}
	st, body = call(t, c, "POST", f.url+"/v1/terminals/"+f.cafe.id+"/rotate_key", "admin")
	newKey, _ := body["api_key"].(string)
	if st != http.StatusOK || body["id"] != f.cafe.id || body["merchant_id"] != f.cafeMerchantID || !strings.HasPrefix(newKey, "rk_ter_") || newKey == f.cafe.token {
		t.Fatalf("rotate_key: %d %v", st, body)
	}

	for _, old := range []string{f.aiko.token, f.cafe.token} {
		if st, _ := call(t, c, "GET", f.url+"/v1/me", old); st != http.StatusUnauthorized {
			t.Fatalf("an old token after rotation: %d, want 401", st)
		}
	}
	r := phone.get("/app")
	phone.wantRedirect(r, "/app/login")
	if ck := r.header.Get("Set-Cookie"); !strings.Contains(ck, "renkei_app=;") {
		t.Fatalf("the login on the old token was not forgotten: %q", ck)
	}
	till.wantRedirect(till.get("/shop"), "/shop/login")

	if st, me := call(t, c, "GET", f.url+"/v1/me", newToken); st != http.StatusOK || me["id"] != f.aiko.id {
		t.Fatalf("the new token: %d %v", st, me)
	}
	if st, me := call(t, c, "GET", f.url+"/v1/me", newKey); st != http.StatusOK || me["id"] != f.cafe.id {
		t.Fatalf("the new key: %d %v", st, me)
	}
	phone.login("app", newToken)
	phone.want(phone.get("/app"), http.StatusOK, "Aiko")

	// A user can rotate their own token (and only a user: a terminal or
	// the admin has no "my token" here).
	for _, who := range []string{newKey, "admin"} {
		if st, body := call(t, c, "POST", f.url+"/v1/me/rotate_token", who); st != http.StatusForbidden {
			t.Fatalf("rotating my token as %.7s: %d %v", who, st, body)
		}
	}
	st, body = call(t, c, "POST", f.url+"/v1/me/rotate_token", newToken)
	mine, _ := body["token"].(string)
	if st != http.StatusOK || body["id"] != f.aiko.id || !strings.HasPrefix(mine, "rk_usr_") || mine == newToken {
		t.Fatalf("rotating my token: %d %v", st, body)
	}
	if st, _ := call(t, c, "GET", f.url+"/v1/me", newToken); st != http.StatusUnauthorized {
		t.Fatalf("the token I rotated away: %d, want 401", st)
	}
	phone.wantRedirect(phone.get("/app"), "/app/login")
	if st, me := call(t, c, "GET", f.url+"/v1/me", mine); st != http.StatusOK || me["id"] != f.aiko.id {
		t.Fatalf("my new token: %d %v", st, me)
	}
}

// TestLoginExpires: a login ends after its lifetime here, not only in the
// browser: a cookie sent again after that is refused and forgotten.
func TestLoginExpires(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	phone := f.browser("en")
	r := phone.post("/app/login", url.Values{"token": {f.aiko.token}})
	phone.wantRedirect(r, "/app")
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"Max-Age=43200", "Expires=", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(ck, want) {
			t.Fatalf("login cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, f.aiko.token) {
		t.Fatalf("the login cookie holds the token in the clear: %q", ck)
	}
	f.shift.Add(int64(11 * time.Hour))
	phone.want(phone.get("/app"), http.StatusOK, "Aiko")
	f.shift.Add(int64(time.Hour + time.Minute))
	// The jar runs on the real clock and still sends the cookie.
	r = phone.get("/app")
	phone.wantRedirect(r, "/app/login")
	if ck := r.header.Get("Set-Cookie"); !strings.Contains(ck, "renkei_app=;") {
		t.Fatalf("the expired login was not forgotten: %q", ck)
	}

	// The admin's login lasts an hour.
	admin := f.browser("en")
	admin.wantRedirect(admin.post("/admin/login", url.Values{"token": {"admin"}}), "/admin")
	admin.want(admin.get("/admin"), http.StatusOK)
	f.shift.Add(int64(time.Hour + time.Minute))
	admin.wantRedirect(admin.get("/admin"), "/admin/login")
}

// TestLoginCookieSecure: the login cookie is Secure when the browser
// reached the server over TLS, directly or through a trusted proxy that
// says so, and only then: X-Forwarded-Proto from anyone else is ignored.
func TestLoginCookieSecure(t *testing.T) {
	t.Parallel()
	e := newLimitEnv(t, nil, 0)
	trusting := newLimitEnv(t, loopback(t), 0)
	noRedirect := func(c *http.Client) *http.Client {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return c
	}
	login := func(c *http.Client, base, token, proto string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/app/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login: %d", res.StatusCode)
		}
		return res.Header.Get("Set-Cookie")
	}
	plain := noRedirect(&http.Client{})
	defer plain.CloseIdleConnections()
	for _, tc := range []struct {
		name, base, proto string
		secure            bool
	}{
		{"plain http", e.url, "", false},
		{"untrusted peer claims https", e.url, "https", false},
		{"trusted proxy, http", trusting.url, "http", false},
		{"trusted proxy says https", trusting.url, "https", true},
		{"trusted proxy: its own value counts", trusting.url, "https, http", false},
	} {
		token := e.aiko
		if tc.base == trusting.url {
			token = trusting.aiko
		}
		ck := login(plain, tc.base, token, tc.proto)
		if got := strings.Contains(ck, "; Secure"); got != tc.secure {
			t.Errorf("%s: cookie %q, Secure %v, want %v", tc.name, ck, got, tc.secure)
		}
	}

	// Served over TLS itself.
	srv := &rhttp.Server{Services: e.services}
	ts := httptest.NewTLSServer(srv.Handler())
	defer ts.Close()
	tlsClient := noRedirect(ts.Client())
	if ck := login(tlsClient, ts.URL, e.aiko, ""); !strings.Contains(ck, "; Secure") {
		t.Errorf("over TLS: cookie %q is not Secure", ck)
	}
}
