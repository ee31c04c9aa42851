package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
)

// startServe runs `renkei serve` with args (after a temp data folder and
// port 0) and returns the running Main and its output.
func startServe(t *testing.T, args ...string) (*Main, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	m := NewMain(out, out)
	if err := m.ParseFlags(append([]string{"--data", t.TempDir(), "--addr", "127.0.0.1:0", "--log-level", "warn",
		"--kakeibo-addr", "127.0.0.1:0", "--points-addr", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, out
}

// TestServeTrustedProxies: --trusted-proxies makes the server key its
// bad-token budget on the client behind the proxy, and a bad list is
// refused at start.
func TestServeTrustedProxies(t *testing.T) {
	t.Parallel()
	m, _ := startServe(t, "--demo=false", "--trusted-proxies", "127.0.0.0/8")
	me := func(xff string) int {
		req, _ := http.NewRequest("GET", m.Server.URL()+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer rk_usr_guess")
		req.Header.Set("X-Forwarded-For", xff)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	status := 0
	for i := 0; i < 12 && status != http.StatusTooManyRequests; i++ {
		status = me("198.51.100.7")
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("12 bad tokens from one client answered %d, want 429", status)
	}
	if got := me("203.0.113.9"); got != http.StatusUnauthorized {
		t.Fatalf("another client behind the proxy: %d, want 401", got)
	}

	var out bytes.Buffer
	err := NewMain(&out, &out).ParseFlags([]string{"--trusted-proxies", "10.0.0.0/8,proxy.local"})
	if err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Fatalf("a bad --trusted-proxies: %v", err)
	}
}
