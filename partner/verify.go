package partner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a Standard Webhooks secret; Renkei's secrets carry it.
const secretPrefix = "whsec_"

// The spec's bounds on a key (192 to 512 bits), the same Renkei signs with.
const (
	minKeyBytes = 24
	maxKeyBytes = 64
)

// maxIDLen bounds webhook-id: Renkei's ids are far shorter, and a dedup
// store should not have to keep kilobytes of key per message.
const maxIDLen = 255

// decodeSecrets turns the configured secrets into HMAC keys. Its errors
// name the secret by position only, so they are safe to log.
func decodeSecrets(secrets []string) ([][]byte, error) {
	if len(secrets) == 0 {
		return nil, errors.New("no secrets are configured (set Handler.Secrets to the endpoint's whsec_… secret)")
	}
	keys := make([][]byte, 0, len(secrets))
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), secretPrefix))
		if err != nil || len(key) < minKeyBytes || len(key) > maxKeyBytes {
			return nil, fmt.Errorf("secret %d of %d is not a whsec_… secret from Renkei (want base64 of %d to %d bytes)",
				i+1, len(secrets), minKeyBytes, maxKeyBytes)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// checkID refuses ids that would make the signed content ambiguous (the
// spec signs "id.timestamp.body", so a full stop in the id could shift the
// boundary) or that could not be logged and stored safely.
func checkID(id string) error {
	if len(id) > maxIDLen {
		return fmt.Errorf("%s header is longer than %d bytes", HeaderID, maxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || c == '.' {
			return fmt.Errorf("%s header has a forbidden character at byte %d", HeaderID, i)
		}
	}
	return nil
}

// signatureMatches reports whether any "v1,<base64>" entry of the
// space-separated header is the HMAC-SHA256 of "id.timestamp.body" under
// any key. Other versions (v1a, asymmetric) are skipped, as the spec asks,
// so that Renkei can add a scheme without breaking old receivers. Every
// comparison takes constant time.
func signatureMatches(keys [][]byte, id, ts string, body []byte, header string) bool {
	var sigs [][]byte
	for _, part := range strings.Fields(header) {
		v, sig, ok := strings.Cut(part, ",")
		if !ok || v != "v1" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(b) != sha256.Size {
			continue
		}
		sigs = append(sigs, b)
	}
	if len(sigs) == 0 {
		return false
	}
	found := false
	for _, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		want := mac.Sum(nil)
		for _, s := range sigs {
			if hmac.Equal(want, s) {
				found = true // keep going: the time taken says nothing about which matched
			}
		}
	}
	return found
}
