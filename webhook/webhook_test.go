package webhook_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/renkei/renkei/webhook"
)

// newSecret returns a fresh secret or fails the test.
func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhook.NewSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verify checks headers and body with the Standard Webhooks reference
// library, as a receiver would.
func verify(t *testing.T, secret string, body []byte, h http.Header) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(body, h)
}

func TestNewSecret(t *testing.T) {
	t.Parallel()
	// A fixed source gives a fixed secret: the randomness really comes
	// from the reader, which is what makes it injectable.
	s, err := webhook.NewSecret(bytes.NewReader(bytes.Repeat([]byte{0xab}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	want := "whsec_" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xab}, 32))
	if s != want {
		t.Errorf("NewSecret = %q, want %q", s, want)
	}

	a, b := newSecret(t), newSecret(t)
	if a == b {
		t.Error("two secrets from crypto/rand are equal")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if err != nil || len(key) != 32 || !strings.HasPrefix(a, "whsec_") {
		t.Errorf("secret %q: want whsec_ and 32 bytes of base64 (err %v)", a, err)
	}

	if _, err := webhook.NewSecret(iotest.ErrReader(errors.New("no entropy"))); err == nil {
		t.Error("NewSecret with a failing reader: want error")
	}
	if _, err := webhook.NewSecret(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("NewSecret with a short reader: want error")
	}
}

// TestSignReferenceVector checks Sign against the vector published with the
// Standard Webhooks reference implementation (libraries/go/webhook_test.go,
// TestWebhookSign, in github.com/standard-webhooks/standard-webhooks). The
// spec itself gives an example signature but not the secret behind it.
func TestSignReferenceVector(t *testing.T) {
	t.Parallel()
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		msgID  = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		want   = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	got, err := webhook.Sign(msgID, time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`), secret)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

// TestSignIndependentHMAC computes the signature with crypto/hmac straight
// from the spec's description, so a shared mistake between this package and
// the library it uses would still be caught.
func TestSignIndependentHMAC(t *testing.T) {
	t.Parallel()
	key := []byte("0123456789abcdef0123456789abcdef")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	ts := time.Date(2026, 11, 25, 3, 12, 45, 999, time.FixedZone("JST", 9*3600))
	body := []byte(`{"type":"payment.completed","data":{"amount":1280,"currency":"JPY"}}`)

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W." + strconv.FormatInt(ts.Unix(), 10) + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))

	got, err := webhook.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}

func TestHeadersVerify(t *testing.T) {
	t.Parallel()
	secret := newSecret(t)
	body := []byte(`{"type":"payment.completed"}`)
	now := time.Now()
	h, err := webhook.Headers("msg_1", now, body, secret)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"webhook-id":        "msg_1",
		"webhook-timestamp": strconv.FormatInt(now.Unix(), 10),
		"Content-Type":      "application/json",
		"User-Agent":        "Renkei-Webhooks/1",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if sig := h.Get("webhook-signature"); !strings.HasPrefix(sig, "v1,") || strings.Contains(sig, " ") {
		t.Errorf("webhook-signature = %q, want one v1 signature", sig)
	}
	if err := verify(t, secret, body, h); err != nil {
		t.Errorf("library Verify: %v", err)
	}
	if err := verify(t, secret, append(body, ' '), h); err == nil {
		t.Error("library Verify accepted a changed body")
	}
	if err := verify(t, newSecret(t), body, h); err == nil {
		t.Error("library Verify accepted another secret")
	}
	old, err := webhook.Headers("msg_1", now.Add(-time.Hour), body, secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(t, secret, body, old); err == nil {
		t.Error("library Verify accepted an hour-old timestamp: the signature does not cover it")
	}
}

func TestSignRotation(t *testing.T) {
	t.Parallel()
	newS, oldS, other := newSecret(t), newSecret(t), newSecret(t)
	body := []byte(`{"type":"link.revoked"}`)
	h, err := webhook.Headers("msg_rot", time.Now(), body, newS, oldS)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Split(h.Get("webhook-signature"), " ")); n != 2 {
		t.Fatalf("webhook-signature %q has %d signatures, want 2", h.Get("webhook-signature"), n)
	}
	for name, s := range map[string]string{"new": newS, "old": oldS} {
		if err := verify(t, s, body, h); err != nil {
			t.Errorf("verify with the %s secret: %v", name, err)
		}
	}
	if err := verify(t, other, body, h); err == nil {
		t.Error("verify with an unrelated secret succeeded")
	}
}

func TestSignRejects(t *testing.T) {
	t.Parallel()
	good := newSecret(t)
	short := "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, tc := range []struct {
		name    string
		msgID   string
		secrets []string
	}{
		{"no secret", "msg_1", nil},
		{"no prefix", "msg_1", []string{strings.TrimPrefix(good, "whsec_")}},
		{"sealed by mistake", "msg_1", []string{"v1:AAAA"}},
		{"not base64", "msg_1", []string{"whsec_!!!notbase64!!!"}},
		{"too short", "msg_1", []string{short}},
		{"second secret bad", "msg_1", []string{good, "whsec_x"}},
		{"empty id", "", []string{good}},
		{"id with full stop", "msg_1.2", []string{good}},
		{"id with space", "msg 1", []string{good}},
		{"id with newline", "msg_1\r\nX-Evil: 1", []string{good}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.Sign(tc.msgID, time.Now(), []byte("{}"), tc.secrets...)
			if err == nil {
				t.Fatal("want error")
			}
			for _, s := range tc.secrets {
				if len(s) > 8 && strings.Contains(err.Error(), strings.TrimPrefix(s, "whsec_")) {
					t.Errorf("error %q contains the secret", err)
				}
			}
		})
	}
}
