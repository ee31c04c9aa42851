package webhook_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/renkei/renkei/webhook"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	key := make([]byte, webhook.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return key
}

func newSealer(t *testing.T, key []byte) *webhook.Sealer {
	t.Helper()
	s, err := webhook.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealerRoundTrip(t *testing.T) {
	t.Parallel()
	s := newSealer(t, newKey(t))
	for _, plain := range []string{newSecret(t), "", "日本語"} {
		sealed, err := s.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") {
			t.Errorf("sealed form %q lacks the v1: version", sealed)
		}
		if plain != "" && strings.Contains(sealed, plain) {
			t.Errorf("sealed form %q contains the plain text", sealed)
		}
		got, err := s.Open(sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if got != plain {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
	a, _ := s.Seal("same")
	b, _ := s.Seal("same")
	if a == b {
		t.Error("sealing the same text twice gave the same output: the nonce is not random")
	}
}

func TestSealerTamper(t *testing.T) {
	t.Parallel()
	s := newSealer(t, newKey(t))
	sealed, err := s.Seal(newSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	if err != nil {
		t.Fatal(err)
	}
	// Flip one bit in each position: nonce, ciphertext and tag are all
	// authenticated.
	for i := range raw {
		bad := bytes.Clone(raw)
		bad[i] ^= 0x01
		if _, err := s.Open("v1:" + base64.StdEncoding.EncodeToString(bad)); err == nil {
			t.Fatalf("Open accepted a change at byte %d", i)
		}
	}
	for _, bad := range []string{
		"",
		strings.TrimPrefix(sealed, "v1:"), // no version
		"v2:" + strings.TrimPrefix(sealed, "v1:"), // unknown version
		"v1:%%%", // not base64
		"v1:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]), // truncated
		"v1:",
	} {
		if _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%q): want error", bad)
		}
	}
}

func TestSealerWrongKey(t *testing.T) {
	t.Parallel()
	sealed, err := newSealer(t, newKey(t)).Seal("whsec_abc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newSealer(t, newKey(t)).Open(sealed); err == nil {
		t.Error("Open with another key succeeded")
	}
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := webhook.NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer with a %d-byte key: want error", n)
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sealing.key")
	key, err := webhook.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != webhook.KeySize {
		t.Fatalf("key is %d bytes, want %d", len(key), webhook.KeySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %04o, want 0600", perm)
	}
	again, err := webhook.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, again) {
		t.Error("second load returned a different key")
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file (temporary file left behind?)", len(entries))
	}
	// The key seals and opens across loads, as it must across restarts.
	sealed, _ := newSealer(t, key).Seal("whsec_x")
	if got, err := newSealer(t, again).Open(sealed); err != nil || got != "whsec_x" {
		t.Errorf("Open with reloaded key = %q, %v", got, err)
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = webhook.LoadOrCreateKey(path)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("LoadOrCreateKey on a 0644 file: error %v, want one telling to chmod 600", err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.LoadOrCreateKey(path); err == nil {
		t.Error("LoadOrCreateKey on a 0640 file: want error")
	}
}

func TestLoadOrCreateKeyExisting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := newKey(t)
	path := filepath.Join(dir, "k")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := webhook.LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Error("LoadOrCreateKey did not return the key in the file")
	}

	for name, content := range map[string]string{
		"garbage": "not a key\n",
		"short":   base64.StdEncoding.EncodeToString(make([]byte, 16)),
		"empty":   "",
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := webhook.LoadOrCreateKey(p); err == nil {
			t.Errorf("%s key file: want error", name)
		}
	}
	if _, err := webhook.LoadOrCreateKey(filepath.Join(dir, "missing-dir", "k")); err == nil {
		t.Error("key file in a missing directory: want error")
	}
}

func TestKeyFromEnv(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	enc := base64.StdEncoding.EncodeToString(key)
	got, err := webhook.KeyFromEnv(" " + enc + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Error("KeyFromEnv returned another key")
	}
	for _, bad := range []string{"", "   ", "%%%%", base64.StdEncoding.EncodeToString(key[:31]), enc + enc} {
		_, err := webhook.KeyFromEnv(bad)
		if err == nil {
			t.Errorf("KeyFromEnv(%q): want error", bad)
			continue
		}
		if strings.TrimSpace(bad) != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error %q repeats the value", err)
		}
	}
}
