package emvco

import (
	"bytes"
	"testing"
)

// TestRandomDigitsUniform feeds every byte value once: if the mapping is
// unbiased, the 250 accepted bytes give each digit exactly 25 times.
func TestRandomDigitsUniform(t *testing.T) {
	t.Parallel()
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	digits, err := randomDigits(bytes.NewReader(all), 250)
	if err != nil {
		t.Fatalf("randomDigits: %v", err)
	}
	var counts [10]int
	for _, d := range digits {
		if d < '0' || d > '9' {
			t.Fatalf("randomDigits returned %q, not a digit", d)
		}
		counts[d-'0']++
	}
	for d, n := range counts {
		if n != 25 {
			t.Errorf("digit %d appeared %d times, want 25 (counts %v)", d, n, counts)
		}
	}
}
