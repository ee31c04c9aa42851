package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/renkei/renkei/store/storetest"
)

// startServe runs `renkei serve` with args (after a temp data folder and
// port 0) and returns the running Main and its output.
func startServe(t *testing.T, args ...string) (*Main, *storetest.SyncBuffer) {
	t.Helper()
	out := &storetest.SyncBuffer{}
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

// TestServeDefaults: `renkei` alone is the demo, `renkei serve` is safe
// for production (no demo data, no self top-ups, no webhooks to loopback,
// daily statements), and `renkei serve --demo` is the demo again.
func TestServeDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd  string
		args []string
		demo bool
		stat time.Duration
	}{
		{"", nil, true, 2 * time.Minute},
		{"serve", nil, false, 24 * time.Hour},
		{"serve", []string{"--demo"}, true, 2 * time.Minute},
		{"", []string{"--demo=false"}, false, 24 * time.Hour},
	} {
		var out bytes.Buffer
		m := newServeMain(tc.cmd, &out, &out)
		if err := m.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if m.Demo != tc.demo || m.AllowPrivate != tc.demo || m.DemoPartners != tc.demo || m.StatementEvery != tc.stat {
			t.Errorf("renkei %s %v: demo %v, private endpoints %v, demo partners %v, statements every %v; want demo %v, %v",
				tc.cmd, tc.args, m.Demo, m.AllowPrivate, m.DemoPartners, m.StatementEvery, tc.demo, tc.stat)
		}
	}
}

// runServe runs `renkei args…` as main would, until the returned stop is
// called, and returns the server's URL and its output.
func runServe(t *testing.T, args ...string) (string, *storetest.SyncBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &storetest.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out, out) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("renkei %v: %v\n%s", args, err, out.String())
		}
	}
	deadline := time.After(30 * time.Second)
	for {
		if m := welcomeURL.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("renkei %v ended: %v\n%s", args, err, out.String())
		case <-deadline:
			stop()
			t.Fatalf("renkei %v printed no URL:\n%s", args, out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestServeProduction: `renkei serve` on an empty folder seeds nothing,
// says where the new admin key is without printing it, and keeps its
// folder and files (the database with its -wal and -shm, the keys) to
// their owner.
func TestServeProduction(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	u, out, stop := runServe(t, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "warn")
	// A write, so the -wal and -shm files exist.
	key := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "admin.key"))))
	req, _ := http.NewRequest("POST", u+"/v1/users", strings.NewReader(`{"name":"Dana"}`))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create user with the admin key: %d", res.StatusCode)
	}
	text := out.String()
	defer stop() // while it runs the -wal and -shm files exist
	if strings.Contains(text, key) {
		t.Fatalf("the admin key was printed:\n%s", text)
	}
	for _, want := range []string{"written to " + filepath.Join(dir, "admin.key"), "Production mode"} {
		if !strings.Contains(text, want) {
			t.Errorf("welcome lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"rk_usr_", "Demo users", "Demo partner", "tour"} {
		if strings.Contains(text, bad) {
			t.Errorf("production welcome shows %q:\n%s", bad, text)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "demo.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("demo.json in production: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data folder: %v %v", fi.Mode(), err)
	}
	for _, f := range []string{"renkei.db", "renkei.db-wal", "renkei.db-shm", "admin.key", "master.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want -rw-------", f, fi.Mode().Perm())
		}
	}
}

// TestServeDemoFilesOwnerOnly: the one-command demo (no command) prints
// its admin key and the tour, and every file it writes, the demo
// partners' SQLite files included, is its owner's only.
func TestServeDemoFilesOwnerOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, out, stop := runServe(t, "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "warn",
		"--kakeibo-addr", "127.0.0.1:0", "--points-addr", "127.0.0.1:0")
	text := out.String()
	defer stop() // while it runs the -wal and -shm files exist
	key := strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "admin.key"))))
	for _, want := range []string{"Admin key (new, kept in", key, "A five-minute tour", "Aiko", "Demo partner"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo welcome lacks %q:\n%s", want, text)
		}
	}
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", p, fi.Mode().Perm(), want)
		}
		if strings.HasSuffix(p, "-wal") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Errorf("%d -wal files under %s, want Renkei's and both partners'", n, dir)
	}
}
