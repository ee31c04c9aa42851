package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/renkei/renkei"
	rhttp "github.com/renkei/renkei/http"
	"github.com/renkei/renkei/store"
)

// limitEnv is a real server on port 0 over a real SQLite file, with two
// users, and the trusted proxies and global budget a test asks for.
type limitEnv struct {
	t         *testing.T
	url       string
	aiko, ben string // user tokens
	client    *http.Client
	services  *store.Store
}

func newLimitEnv(t *testing.T, trusted []netip.Prefix, failuresPerMinute int) *limitEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "limit.db"))
	if err != nil {
		t.Fatal(err)
	}
	e := &limitEnv{t: t, client: &http.Client{Transport: &http.Transport{}}}
	for _, tok := range []*string{&e.aiko, &e.ben} {
		if _, *tok, err = st.CreateUser(ctx, renkei.CreateUser{Name: "u"}); err != nil {
			t.Fatal(err)
		}
	}
	srv := &rhttp.Server{Services: st, TrustedProxies: trusted, AuthFailuresPerMinute: failuresPerMinute}
	if err := srv.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	e.url, e.services = srv.URL(), st
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		srv.Close()
		st.Close()
	})
	return e
}

// me calls GET /v1/me with token, as if forwarded for xff (empty: no
// X-Forwarded-For), and returns the status and the problem's detail.
func (e *limitEnv) me(token, xff string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// exhaust sends bad tokens as xff(i) until one is answered 429 and
// returns how many were answered 401 before.
func (e *limitEnv) exhaust(xff func(i int) string) int {
	e.t.Helper()
	for i := 0; i < 30; i++ {
		status, body := e.me(fmt.Sprintf("rk_usr_guess%d", i), xff(i))
		switch status {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			return i
		default:
			e.t.Fatalf("bad token %d: %d %s", i, status, body)
		}
	}
	e.t.Fatalf("30 bad tokens were never answered 429")
	return 0
}

func loopback(t *testing.T) []netip.Prefix {
	t.Helper()
	p, err := rhttp.ParseTrustedProxies("127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBadTokensSpareValidTokens: after an address has spent its budget of
// bad tokens, its bad tokens get 429 but a valid token still works.
func TestBadTokensSpareValidTokens(t *testing.T) {
	t.Parallel()
	e := newLimitEnv(t, nil, 0)
	if n := e.exhaust(func(int) string { return "" }); n != 10 {
		t.Fatalf("%d bad tokens answered 401 before the 429, want 10", n)
	}
	if status, body := e.me(e.aiko, ""); status != http.StatusOK {
		t.Fatalf("a valid token from a limited address: %d %s", status, body)
	}
	if status, body := e.me("rk_usr_guess_again", ""); status != http.StatusTooManyRequests || !strings.Contains(body, "rate_limited") {
		t.Fatalf("a bad token after a valid one: %d %s", status, body)
	}
}

// TestBadTokensIgnoreUntrustedForwardedFor: without trusted proxies the
// X-Forwarded-For header is the client's own claim; rotating it buys no
// fresh budget.
func TestBadTokensIgnoreUntrustedForwardedFor(t *testing.T) {
	t.Parallel()
	e := newLimitEnv(t, nil, 0)
	if n := e.exhaust(func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }); n != 10 {
		t.Fatalf("%d bad tokens with rotating X-Forwarded-For answered 401 before the 429, want 10", n)
	}
}

// TestBadTokensBehindTrustedProxy: behind a trusted proxy each client has
// its own budget, taken from the right-most hop that is not a trusted
// proxy, so one guesser does not block the other shops behind the proxy
// and cannot escape by writing addresses of its own to the left.
func TestBadTokensBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newLimitEnv(t, loopback(t), 0)
	// The guesser writes a new address of its own each time; the proxy
	// appends the real one, and a second trusted proxy (also loopback) its
	// own after it.
	if n := e.exhaust(func(i int) string { return fmt.Sprintf("10.0.0.%d, 198.51.100.7, 127.0.0.1", i+1) }); n != 10 {
		t.Fatalf("%d bad tokens answered 401 before the 429, want 10", n)
	}
	if status, _ := e.me("rk_usr_typo", "198.51.100.7"); status != http.StatusTooManyRequests {
		t.Fatalf("the guesser's next bad token: %d, want 429", status)
	}
	// Another terminal behind the same proxy is not held to the guesser's
	// budget: its typo is a plain 401, its token works.
	if status, body := e.me("rk_usr_typo", "203.0.113.9"); status != http.StatusUnauthorized {
		t.Fatalf("another client's bad token behind the proxy: %d %s, want 401", status, body)
	}
	if status, body := e.me(e.ben, "203.0.113.9"); status != http.StatusOK {
		t.Fatalf("another client's valid token behind the proxy: %d %s", status, body)
	}
}

// TestBadTokensIPv6Per64: IPv6 clients are limited per /64, so one
// subscriber cannot take a fresh budget for each of its addresses.
func TestBadTokensIPv6Per64(t *testing.T) {
	t.Parallel()
	e := newLimitEnv(t, loopback(t), 0)
	if n := e.exhaust(func(i int) string { return fmt.Sprintf("2001:db8:1:2::%x", i+1) }); n != 10 {
		t.Fatalf("%d bad tokens from one /64 answered 401 before the 429, want 10", n)
	}
	if status, body := e.me("rk_usr_typo", "[2001:db8:1:2:ffff::1]:4711"); status != http.StatusTooManyRequests {
		t.Fatalf("same /64, written with a port: %d %s, want 429", status, body)
	}
	if status, body := e.me("rk_usr_typo", "2001:db8:1:3::1"); status != http.StatusUnauthorized {
		t.Fatalf("the next /64: %d %s, want 401", status, body)
	}
}

// TestBadTokensGlobalBudget: rotating addresses does not give unlimited
// guesses. Once the global budget is spent, unknown tokens are refused
// without a look-up, while tokens that worked lately keep working.
func TestBadTokensGlobalBudget(t *testing.T) {
	t.Parallel()
	e := newLimitEnv(t, loopback(t), 3) // 3 bad tokens a minute from everyone together
	if status, _ := e.me(e.aiko, "192.0.2.1"); status != http.StatusOK {
		t.Fatalf("Aiko before the flood: %d", status)
	}
	n := e.exhaust(func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) })
	if n < 3 || n > 4 {
		t.Fatalf("%d bad tokens from different addresses answered 401 before the 429, want 3", n)
	}
	if status, body := e.me("rk_usr_guess", "203.0.113.50"); status != http.StatusTooManyRequests || !strings.Contains(body, "being tried") {
		t.Fatalf("a bad token from a fresh address during the flood: %d %s", status, body)
	}
	if status, body := e.me(e.aiko, "192.0.2.1"); status != http.StatusOK {
		t.Fatalf("Aiko, known, during the flood: %d %s", status, body)
	}
	// The price of the bound: a valid token not seen lately waits for the
	// flood to end.
	if status, _ := e.me(e.ben, "192.0.2.2"); status != http.StatusTooManyRequests {
		t.Fatalf("Ben, not seen lately, during the flood: %d, want 429", status)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := rhttp.ParseTrustedProxies(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,::ffff:198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "fd00::/8", "198.51.100.1/32"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := rhttp.ParseTrustedProxies("10.0.0.0/8,proxy.local"); err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Fatalf("a host name was accepted: %v", err)
	}
}
