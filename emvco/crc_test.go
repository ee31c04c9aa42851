package emvco_test

import (
	"math/rand/v2"
	"testing"

	"github.com/renkei/renkei/emvco"
)

// referenceCRC16 is CRC-16/CCITT-FALSE computed one bit at a time, straight
// from the definition, to check the table-driven CRC16 against something
// that shares no code with it.
func referenceCRC16(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		for bit := 7; bit >= 0; bit-- {
			in := (b >> bit) & 1
			top := byte(crc>>15) & 1
			crc <<= 1
			if in^top == 1 {
				crc ^= 0x1021
			}
		}
	}
	return crc
}

func TestCRC16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want uint16
	}{
		// The catalogued check value of CRC-16/CCITT-FALSE.
		{"check value", "123456789", 0x29B1},
		{"empty is the initial value", "", 0xFFFF},
		{"EMVCo specification example", specExample[:len(specExample)-4], 0xA13A},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := emvco.CRC16([]byte(tt.in)); got != tt.want {
				t.Errorf("CRC16(%q) = %04X, want %04X", tt.in, got, tt.want)
			}
			if got := referenceCRC16([]byte(tt.in)); got != tt.want {
				t.Errorf("referenceCRC16(%q) = %04X, want %04X", tt.in, got, tt.want)
			}
		})
	}
}

func TestCRC16MatchesBitwiseReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		data := make([]byte, r.IntN(600))
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		if got, want := emvco.CRC16(data), referenceCRC16(data); got != want {
			t.Fatalf("input %d (%x): CRC16 = %04X, reference = %04X", i, data, got, want)
		}
	}
}
