package emvco_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/renkei/renkei/emvco"
)

// luhnValid is the textbook Luhn test on a whole number, written apart from
// the package's check-digit code so the two can catch each other's errors.
func luhnValid(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// completeLuhn appends the digit that makes body pass luhnValid.
func completeLuhn(body string) string {
	for d := '0'; d <= '9'; d++ {
		if luhnValid(body + string(d)) {
			return body + string(d)
		}
	}
	panic("no Luhn digit for " + body)
}

// validCode is a pay code built without the package's help.
var validCode = completeLuhn("88" + "12345678901234567")

func TestNewPayCode(t *testing.T) {
	t.Parallel()
	seen := make(map[string]bool)
	for range 1000 {
		code, err := emvco.NewPayCode(rand.Reader)
		if err != nil {
			t.Fatalf("NewPayCode: %v", err)
		}
		if len(code) != 20 || strings.Trim(code, "0123456789") != "" || !strings.HasPrefix(code, "88") {
			t.Fatalf("NewPayCode = %q; want 20 digits starting 88", code)
		}
		if !luhnValid(code) {
			t.Fatalf("NewPayCode = %q, which fails the Luhn check", code)
		}
		// 17 random digits make a repeat among 1000 codes a one in 10^11
		// event; a repeat here means the randomness is broken.
		if seen[code] {
			t.Fatalf("NewPayCode returned %q twice", code)
		}
		seen[code] = true
		for _, typed := range []string{code, emvco.FormatPayCode(code)} {
			got, err := emvco.ParsePayCode(typed)
			if err != nil || got != code {
				t.Fatalf("ParsePayCode(%q) = %q, %v; want %q", typed, got, err, code)
			}
		}
	}
}

func TestNewPayCodeSkipsBiasedBytes(t *testing.T) {
	t.Parallel()
	// Bytes 250 to 255 would favour digits 0 to 5, so they must be skipped;
	// the rest map to their value modulo 10.
	random := []byte{250, 251, 1, 2, 3, 255, 4, 5, 6, 7, 8, 9, 10, 249, 12, 13, 14, 15, 16, 252, 253, 254, 17}
	code, err := emvco.NewPayCode(bytes.NewReader(random))
	if err != nil {
		t.Fatalf("NewPayCode: %v", err)
	}
	if want := completeLuhn("88" + "12345678909234567"); code != want {
		t.Errorf("NewPayCode = %q, want %q", code, want)
	}
}

func TestNewPayCodeReaderError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"empty", bytes.NewReader(nil), io.EOF},
		{"runs out after rejected bytes", bytes.NewReader(bytes.Repeat([]byte{255}, 2*17)), io.EOF},
		{"short", bytes.NewReader([]byte{1, 2, 3}), io.ErrUnexpectedEOF},
		{"fails", failingReader{}, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, err := emvco.NewPayCode(tt.r)
			if !errors.Is(err, tt.want) || code != "" {
				t.Errorf("NewPayCode = %q, %v; want error %v", code, err, tt.want)
			}
		})
	}
}

var errBroken = errors.New("entropy source broken")

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errBroken }

func TestParsePayCode(t *testing.T) {
	t.Parallel()
	grouped := validCode[:4] + " " + validCode[4:8] + " " + validCode[8:12] + " " + validCode[12:16] + " " + validCode[16:]
	fullWidth := strings.Map(func(r rune) rune { return r - '0' + '０' }, validCode)
	wrongPrefix := completeLuhn("87" + validCode[2:19])
	tests := []struct {
		name    string
		in      string
		want    error
		message string
	}{
		{"plain", validCode, nil, ""},
		{"grouped with spaces", grouped, nil, ""},
		{"grouped with hyphens", strings.ReplaceAll(grouped, " ", "-"), nil, ""},
		{"mixed separators and padding", " " + validCode[:5] + "- " + validCode[5:] + " ", nil, ""},
		{"full-width digits and space", fullWidth[:12*3] + "\u3000" + fullWidth[12*3:], nil, ""},
		{"separator between every digit", strings.Join(strings.Split(validCode, ""), "-"), nil, ""},

		{"empty", "", emvco.ErrPayCodeFormat, "0 digits"},
		{"19 digits", validCode[:19], emvco.ErrPayCodeFormat, "19 digits"},
		{"21 digits", validCode + "0", emvco.ErrPayCodeFormat, "21 digits"},
		{"wrong prefix", wrongPrefix, emvco.ErrPayCodeFormat, "starts with 87"},
		{"letter", validCode[:10] + "O" + validCode[11:], emvco.ErrPayCodeFormat, `'O'`},
		{"dot separator", strings.ReplaceAll(grouped, " ", "."), emvco.ErrPayCodeFormat, "only digits, spaces and hyphens"},
		{"too long", strings.Repeat(" ", 45) + validCode, emvco.ErrPayCodeFormat, "too long"},
		{"far too long", strings.Repeat("8", 1<<20), emvco.ErrPayCodeFormat, "too long"},
		{"swapped neighbours", validCode[:5] + validCode[6:7] + validCode[5:6] + validCode[7:], emvco.ErrPayCodeCheckDigit, "typo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := emvco.ParsePayCode(tt.in)
			if tt.want == nil {
				if err != nil || got != validCode {
					t.Fatalf("ParsePayCode(%q) = %q, %v; want %q", tt.in, got, err, validCode)
				}
				return
			}
			if !errors.Is(err, tt.want) || got != "" {
				t.Fatalf("ParsePayCode(%q) = %q, %v; want error %v", tt.in, got, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
	if validCode[5] == validCode[6] {
		t.Fatal("the swap case swaps two equal digits and proves nothing")
	}
}

// TestParsePayCodeRejectsEverySingleDigitChange is the property the check
// digit exists for: one mistyped digit never yields another valid code.
func TestParsePayCodeRejectsEverySingleDigitChange(t *testing.T) {
	t.Parallel()
	for i := range len(validCode) {
		for d := byte('0'); d <= '9'; d++ {
			if d == validCode[i] {
				continue
			}
			typo := validCode[:i] + string(d) + validCode[i+1:]
			want := emvco.ErrPayCodeCheckDigit
			if i < 2 {
				want = emvco.ErrPayCodeFormat // the prefix is checked first
			}
			if got, err := emvco.ParsePayCode(typo); !errors.Is(err, want) {
				t.Errorf("ParsePayCode(%q) = %q, %v; want error %v", typo, got, err, want)
			}
		}
	}
}

func TestFormatPayCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"88123456789012345678", "8812 3456 7890 1234 5678"},
		{"", ""},
		{"8812", "8812"},
		{"88123", "8812 3"},
		{"１２３４５", "１２３４ ５"},
	}
	for _, tt := range tests {
		if got := emvco.FormatPayCode(tt.in); got != tt.want {
			t.Errorf("FormatPayCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
