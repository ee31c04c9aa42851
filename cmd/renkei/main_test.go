package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/renkei/renkei/store/storetest"
)

// startMain runs the real program, as `renkei serve --demo` would, on port 0.
func startMain(t *testing.T, dataDir, dsn string) (*Main, *storetest.SyncBuffer) {
	t.Helper()
	out := &storetest.SyncBuffer{}
	m := NewMain(out, out)
	if err := m.ParseFlags([]string{"--demo", "--data", dataDir, "--addr", "127.0.0.1:0", "--db", dsn, "--log-level", "warn", "--kakeibo-addr", "127.0.0.1:0", "--points-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	return m, out
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(res.Body)
	json.Unmarshal(b, &body)
	return res.StatusCode, body
}

// TestServeDemo is the newcomer's first command: the server starts on an
// empty data folder, seeds the demo, prints where to go and which tokens
// to use, and a restart keeps everything.
func TestServeDemo(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			dsn := ""
			if engine == "postgres" {
				dsn = storetest.PostgresDSN(t)
			}
			m, out := startMain(t, dir, dsn)
			text := out.String()
			for _, want := range []string{m.Server.URL() + "/app", m.Server.URL() + "/app/privacy", m.Server.URL() + "/shop", "/openapi.json", "Aiko", "Cafe Hikari", "rk_usr_", "rk_ter_", "Admin key (new"} {
				if !strings.Contains(text, want) {
					t.Errorf("welcome lacks %q:\n%s", want, text)
				}
			}
			for _, f := range []string{"admin.key", "demo.json", "master.key"} {
				fi, err := os.Stat(filepath.Join(dir, f))
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("%s: %v %v", f, fi.Mode(), err)
				}
			}
			var demo demoData
			b, _ := os.ReadFile(filepath.Join(dir, "demo.json"))
			if err := json.Unmarshal(b, &demo); err != nil || len(demo.Users) != 3 || len(demo.Terminals) != 4 || len(demo.Services) != 2 {
				t.Fatalf("demo data %s: %v", b, err)
			}
			status, me := get(t, m.Server.URL()+"/v1/me", demo.Users[0].Token)
			if status != 200 || me["kind"] != "user" {
				t.Fatalf("demo token: %d %v", status, me)
			}
			status, wallets := get(t, m.Server.URL()+"/v1/wallets", demo.Users[0].Token)
			if status != 200 || len(wallets["data"].([]any)) != 1 {
				t.Fatalf("wallets %d %v", status, wallets)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			// A restart finds its data, prints the same tokens, seeds nothing new.
			m2, out2 := startMain(t, dir, dsn)
			defer m2.Close()
			if !strings.Contains(out2.String(), demo.Users[0].Token) || strings.Contains(out2.String(), "Admin key (new") {
				t.Fatalf("restart output:\n%s", out2.String())
			}
			status, ms := get(t, m2.Server.URL()+"/v1/merchants", string(mustRead(t, filepath.Join(dir, "admin.key"))))
			if status != 200 || len(ms["data"].([]any)) != 4 {
				t.Fatalf("merchants after restart: %d %v", status, ms)
			}
			status, _ = get(t, m2.Server.URL()+"/healthz", "")
			if status != 200 {
				t.Fatalf("healthz %d", status)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCommands(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, &out, &out); err != nil || !strings.HasPrefix(out.String(), "renkei ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	out.Reset()
	dir := t.TempDir()
	if err := run(context.Background(), []string{"migrate", "--data", dir}, &out, &out); err != nil || !strings.Contains(out.String(), "sqlite schema is up to date") {
		t.Fatalf("migrate: %v %q", err, out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "renkei.db")); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"fly"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), `unknown command "fly"`) {
		t.Fatalf("unknown command: %v", err)
	}
	err = run(context.Background(), []string{"serve", "--log-level", "loud", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "log-level") {
		t.Fatalf("bad flag: %v", err)
	}
}

func TestDeliveriesReplayCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"deliveries", "replay", "--data", dir, "--since", "24h"}, &out, &out); err != nil ||
		!strings.Contains(out.String(), "0 failed deliveries queued again") {
		t.Fatalf("replay: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"deliveries", "replay", "--data", dir, "--since", "yesterday"}, &out, &out); err == nil {
		t.Fatal("a bad --since was accepted")
	}
}

// TestDemoTour runs `renkei demo`, the README's tour scripted, on both
// engines: it checks every step in Renkei, Kakeibo and Points itself and
// fails on the first that did not do what it says.
func TestDemoTour(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			args := []string{"demo", "--data", t.TempDir()}
			if engine == "postgres" {
				args = append(args, "--db", storetest.PostgresDSN(t))
			}
			var out, errOut storetest.SyncBuffer
			if err := run(context.Background(), args, &out, &errOut); err != nil {
				t.Fatalf("demo failed: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			for _, want := range []string{"Kakeibo books it in real time", "memo \"team lunch\"", "from the statement, without a memo",
				"confirmed by the statement, memo kept", "reversal of −¥280", "awarded 40 points", "All 9 steps did what they say."} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("demo output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestHelpExitsZero runs the real binary: asking any command for help is
// a success (exit 0) that prints its flags or usage, not an error.
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	bin := renkeiBinary(t)
	for _, args := range [][]string{{"demo", "--help"}, {"demo", "-h"}, {"--help"}, {"serve", "--help"}, {"migrate", "-h"},
		{"partner", "--help"}, {"partner", "kakeibo", "--help"}, {"deliveries", "--help"}, {"deliveries", "replay", "-h"},
		{"bench", "--help"}, {"bench", "payments", "-h"}, {"help"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("renkei %s: %v\n%s", strings.Join(args, " "), err, out)
		} else if !strings.Contains(strings.ToLower(string(out)), "usage") {
			t.Errorf("renkei %s printed no usage:\n%s", strings.Join(args, " "), out)
		}
	}
	// A real mistake still fails.
	if err := exec.Command(bin, "demo", "--no-such-flag").Run(); err == nil {
		t.Error("renkei demo --no-such-flag exited 0")
	}
}

// TestOperatorFlags: the consent receipts a payer downloads name the
// operator given on the command line as the controller.
func TestOperatorFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := &storetest.SyncBuffer{}
	m := NewMain(out, out)
	if err := m.ParseFlags([]string{"--demo", "--data", dir, "--addr", "127.0.0.1:0", "--log-level", "warn", "--demo-partners=false",
		"--operator", "Hikari Pay K.K.", "--operator-contact", "privacy@hikari-pay.example", "--operator-url", "https://pay.hikari.example/"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer m.Close()
	var demo demoData
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "demo.json")), &demo); err != nil {
		t.Fatal(err)
	}
	status, cs := get(t, m.Server.URL()+"/v1/privacy/consents", demo.Users[0].Token)
	data, _ := cs["data"].([]any)
	if status != 200 || len(data) == 0 {
		t.Fatalf("Aiko's consents: %d %v", status, cs)
	}
	id, _ := data[0].(map[string]any)["id"].(string)
	status, rc := get(t, m.Server.URL()+"/v1/privacy/consents/"+id+"/receipt", demo.Users[0].Token)
	b, _ := json.Marshal(rc)
	for _, want := range []string{`"piiController":"Hikari Pay K.K."`, "privacy@hikari-pay.example", "https://pay.hikari.example/app/privacy"} {
		if status != 200 || !strings.Contains(string(b), want) {
			t.Errorf("receipt %d lacks %s: %s", status, want, b)
		}
	}
}

// TestTimeZoneFlag: --time-zone takes IANA names (from the embedded zone
// database) and refuses others before anything starts.
func TestTimeZoneFlag(t *testing.T) {
	t.Parallel()
	m := NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", t.TempDir(), "--time-zone", "America/New_York"}); err != nil || m.TimeZone.String() != "America/New_York" {
		t.Fatalf("--time-zone America/New_York: %v %v", err, m.TimeZone)
	}
	m = NewMain(io.Discard, io.Discard)
	if err := m.ParseFlags([]string{"--data", t.TempDir()}); err != nil || m.TimeZone.String() != "Asia/Tokyo" {
		t.Fatalf("default zone: %v %v", err, m.TimeZone)
	}
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--time-zone", "Mars/Olympus", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--time-zone") {
		t.Fatalf("bad zone: %v", err)
	}
}
