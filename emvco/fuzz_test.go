package emvco_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/renkei/renkei/emvco"
)

// FuzzParse feeds Parse arbitrary text, as a scanner pointed at any QR
// code would. Seeds are in testdata/fuzz/FuzzParse. Each input is also
// tried with its last four bytes replaced by the right CRC: random text
// almost never has one, and without this the fuzzer would hardly get past
// the checksum to the field rules.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		checkParse(t, s)
		if len(s) >= 4 {
			checkParse(t, s[:len(s)-4]+fmt.Sprintf("%04X", referenceCRC16([]byte(s[:len(s)-4]))))
		}
	})
}

// checkParse asserts what must hold for any input to Parse: no panic, only
// the package's errors, and a successful parse that survives re-encoding.
func checkParse(t *testing.T, s string) {
	t.Helper()
	p, err := emvco.Parse(s)
	if err != nil {
		for _, known := range []error{emvco.ErrTooLong, emvco.ErrMalformed, emvco.ErrBadCRC, emvco.ErrMissingField, emvco.ErrInvalidField} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("Parse(%q) returned %v, which wraps none of the package's errors", s, err)
	}
	enc, err := emvco.Encode(p)
	if err != nil {
		t.Fatalf("Parse(%q) accepted a payload that Encode rejects: %v", s, err)
	}
	// Encoding only reorders fields, so it cannot push a payload past
	// the size limit.
	if len(enc) != len(s) {
		t.Fatalf("Encode(Parse(%q)) = %q, %d bytes instead of %d", s, enc, len(enc), len(s))
	}
	p2, err := emvco.Parse(enc)
	if err != nil {
		t.Fatalf("Parse(Encode(Parse(%q))) = %v", s, err)
	}
	if !reflect.DeepEqual(p, p2) {
		t.Fatalf("payload changed on re-encoding:\n%+v\n%+v", p, p2)
	}
	if enc2, err := emvco.Encode(p2); err != nil || enc2 != enc {
		t.Fatalf("Encode is not canonical: %q then %q, %v", enc, enc2, err)
	}
}

// FuzzParsePayCode feeds ParsePayCode arbitrary text, as a person at a till
// might type. Seeds are in testdata/fuzz/FuzzParsePayCode.
func FuzzParsePayCode(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		code, err := emvco.ParsePayCode(s)
		if err != nil {
			if !errors.Is(err, emvco.ErrPayCodeFormat) && !errors.Is(err, emvco.ErrPayCodeCheckDigit) {
				t.Fatalf("ParsePayCode(%q) returned %v, which wraps neither pay code error", s, err)
			}
			return
		}
		if len(code) != emvco.PayCodeLen || strings.Trim(code, "0123456789") != "" || !strings.HasPrefix(code, emvco.PayCodePrefix) {
			t.Fatalf("ParsePayCode(%q) = %q; want %d digits starting %s", s, code, emvco.PayCodeLen, emvco.PayCodePrefix)
		}
		if !luhnValid(code) {
			t.Fatalf("ParsePayCode(%q) = %q, which fails the Luhn check", s, code)
		}
		for _, again := range []string{code, emvco.FormatPayCode(code)} {
			if got, err := emvco.ParsePayCode(again); err != nil || got != code {
				t.Fatalf("ParsePayCode(%q) = %q, %v; want %q", again, got, err, code)
			}
		}
	})
}
