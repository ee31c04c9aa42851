package emvco

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// PayCodePrefix starts every pay code. A fixed prefix lets a till tell a
// pay code from a loyalty card or a gift card number before it asks us.
const PayCodePrefix = "88"

// PayCodeLen is the number of digits in a pay code: the prefix, 17 random
// digits (about 56 bits, too many to guess within a code's short life
// given the rate limit where it is checked) and a Luhn check digit.
const PayCodeLen = 20

// payCodeRandomDigits is the number of random digits in a pay code.
const payCodeRandomDigits = PayCodeLen - len(PayCodePrefix) - 1

// maxPayCodeInput bounds the text ParsePayCode reads, in characters; a
// typed code with a separator between every digit still fits.
const maxPayCodeInput = 64

// Errors returned by ParsePayCode. Their messages are written for the
// person at the till, who typed or scanned the code.
var (
	// ErrPayCodeFormat means the text is not shaped like a pay code:
	// wrong characters, wrong number of digits or wrong prefix.
	ErrPayCodeFormat = errors.New("this is not a pay code")
	// ErrPayCodeCheckDigit means the code has the right shape but its last
	// digit does not match the others: almost always a typo.
	ErrPayCodeCheckDigit = errors.New("this pay code has a typo")
)

// NewPayCode returns a fresh pay code: PayCodePrefix, 17 uniformly random
// digits and a Luhn check digit, 20 digits with no separators. r should be
// crypto/rand.Reader outside tests; the code is a bearer credential.
func NewPayCode(r io.Reader) (string, error) {
	digits, err := randomDigits(r, payCodeRandomDigits)
	if err != nil {
		return "", fmt.Errorf("new pay code: %w", err)
	}
	body := PayCodePrefix + string(digits)
	return body + string(rune('0'+luhnCheckDigit(body))), nil
}

// randomDigits reads n uniformly random ASCII digits from r. It keeps only
// bytes below 250 (the largest multiple of 10 that fits in a byte) and takes
// them modulo 10, so no digit is likelier than another: using every byte
// would make 0 to 5 appear 26 times in 256 and 6 to 9 only 25.
func randomDigits(r io.Reader, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n)
	for len(out) < n {
		// Ask only for what is still missing, so a test can predict
		// exactly which bytes are used.
		chunk := buf[:n-len(out)]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return nil, fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range chunk {
			if b < 250 {
				out = append(out, '0'+b%10)
			}
		}
	}
	return out, nil
}

// ParsePayCode reads a pay code as a person types or a scanner sends it and
// returns its 20 digits. Spaces and hyphens between digits are ignored, as
// are their full-width forms and full-width digits, which a Japanese input
// method produces. Errors wrap ErrPayCodeFormat or ErrPayCodeCheckDigit.
// ParsePayCode checks only the form of the code; whether it exists is for
// the caller to ask, with a rate limit.
func ParsePayCode(s string) (string, error) {
	// The byte test bounds the work before counting characters; a
	// character is at most 4 bytes.
	if len(s) > 4*maxPayCodeInput || utf8.RuneCountInString(s) > maxPayCodeInput {
		return "", fmt.Errorf("%w: the text is too long; a pay code has %d digits", ErrPayCodeFormat, PayCodeLen)
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= '０' && c <= '９':
			b.WriteRune('0' + c - '０')
		case c == ' ' || c == '-' || c == '\u3000' || c == '－':
			// Separators people type between groups of digits.
		default:
			return "", fmt.Errorf("%w: it contains %q; a pay code has only digits, spaces and hyphens", ErrPayCodeFormat, c)
		}
	}
	code := b.String()
	if len(code) != PayCodeLen {
		return "", fmt.Errorf("%w: it has %d digits; a pay code has %d", ErrPayCodeFormat, len(code), PayCodeLen)
	}
	if !strings.HasPrefix(code, PayCodePrefix) {
		return "", fmt.Errorf("%w: it starts with %s; a pay code starts with %s", ErrPayCodeFormat, code[:len(PayCodePrefix)], PayCodePrefix)
	}
	if luhnCheckDigit(code[:PayCodeLen-1]) != int(code[PayCodeLen-1]-'0') {
		return "", fmt.Errorf("%w: a digit is wrong or two are swapped; please check the code and enter it again", ErrPayCodeCheckDigit)
	}
	return code, nil
}

// FormatPayCode groups a code into blocks of four digits separated by
// spaces ("8812 3456 7890 1234 5678"), the way people read a code aloud
// and type it. It expects the output of NewPayCode or ParsePayCode and
// groups any other text by characters without checking it.
func FormatPayCode(code string) string {
	var b strings.Builder
	b.Grow(len(code) + len(code)/4)
	i := 0
	for _, c := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
		i++
	}
	return b.String()
}

// luhnCheckDigit returns the digit that makes body followed by it pass the
// Luhn check, which catches every single wrong digit and most swaps of
// neighbours. body must be ASCII digits.
func luhnCheckDigit(body string) int {
	sum := 0
	// Double every second digit counting leftwards from the one next to
	// where the check digit goes.
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}
