// Package webhook signs and sends Renkei's messages to related services.
//
// Messages follow Standard Webhooks (https://www.standardwebhooks.com): every
// request carries webhook-id, webhook-timestamp and webhook-signature headers,
// so a receiver can check with any Standard Webhooks library that the body
// came from Renkei, unchanged, and recently. This package holds the half of
// the delivery engine that needs no database: secrets (and sealing them at
// rest), signing, an HTTP client that cannot be pointed at Renkei's own
// network, one delivery attempt, and the retry schedule. Storing attempts and
// queueing retries is left to the caller.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix marks a Standard Webhooks signing secret, so that a secret
// pasted into the wrong place is recognisable and a sealed secret or an API
// token passed to Sign by mistake is refused instead of used as a key.
const SecretPrefix = "whsec_"

// UserAgent identifies Renkei's deliveries in receivers' logs; the number is
// the version of the message format, not of the binary, so that receivers
// are not told which release to attack.
const UserAgent = "Renkei-Webhooks/1"

const (
	// secretBytes is the size NewSecret draws: 256 bits, above the spec's
	// 24-byte minimum and the same size as the HMAC-SHA256 output.
	secretBytes = 32
	// minSecretBytes and maxSecretBytes are the spec's bounds (192 to 512
	// bits); a shorter key is guessable, a longer one is a sign of a mistake.
	minSecretBytes = 24
	maxSecretBytes = 64
)

// NewSecret returns a fresh signing secret for one endpoint: "whsec_" and the
// base64 of 32 random bytes. Randomness comes from r so tests can be
// deterministic; nil means crypto/rand. Each endpoint gets its own secret so
// that one leaked secret cannot forge messages to other services.
func NewSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("new webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// Sign returns the value of the webhook-signature header for one message:
// "v1,<base64 HMAC-SHA256 of msgID.timestamp.body>" per secret, separated by
// spaces. Passing the new and the old secret during a rotation's grace period
// lets receivers switch secrets whenever they like without losing messages.
// Sign refuses to sign with no secret at all, because an unsigned message
// would be indistinguishable from a forged one.
func Sign(msgID string, ts time.Time, body []byte, secrets ...string) (string, error) {
	if err := checkMsgID(msgID); err != nil {
		return "", err
	}
	if len(secrets) == 0 {
		return "", errors.New("sign webhook: no secret")
	}
	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		if err := checkSecret(s); err != nil {
			// The index, never the secret, so the error is safe to log.
			return "", fmt.Errorf("sign webhook: secret %d: %w", i, err)
		}
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return "", fmt.Errorf("sign webhook: secret %d: invalid", i)
		}
		sig, err := wh.Sign(msgID, ts, body)
		if err != nil {
			return "", fmt.Errorf("sign webhook: secret %d: %w", i, err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// Headers returns the request headers of one delivery attempt: the three
// Standard Webhooks headers, the JSON content type and Renkei's User-Agent.
// ts is the time of this attempt, not of the event, so that each retry is
// signed afresh and receivers can reject replays of old attempts; msgID stays
// the same on every retry so receivers can drop duplicates.
func Headers(msgID string, ts time.Time, body []byte, secrets ...string) (http.Header, error) {
	sig, err := Sign(msgID, ts, body, secrets...)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 5)
	h.Set(standardwebhooks.HeaderWebhookID, msgID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	return h, nil
}

// checkMsgID refuses ids that would make the signed content ambiguous: the
// spec signs "id.timestamp.body", so an id containing a full stop could be
// confused with a different id and timestamp. Spaces and control characters
// have no place in a header value either.
func checkMsgID(id string) error {
	if id == "" {
		return errors.New("sign webhook: empty message id")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '.' {
			return fmt.Errorf("sign webhook: message id has a forbidden character at byte %d", i)
		}
	}
	return nil
}

// checkSecret makes sure a secret is a Standard Webhooks secret of a sane
// size. Its errors never contain the secret.
func checkSecret(s string) error {
	rest, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return errors.New("not a " + SecretPrefix + " secret")
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return errors.New("secret is not valid base64")
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return fmt.Errorf("secret is %d bytes, want %d to %d", len(key), minSecretBytes, maxSecretBytes)
	}
	return nil
}
