package renkei_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/renkei/renkei"
)

func TestIDGenSortsByTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	g := &renkei.IDGen{Now: func() time.Time { return now }, Rand: bytes.NewReader(bytes.Repeat([]byte{0xff}, 1000))}
	prev := ""
	for i := 0; i < 50; i++ {
		if i%10 == 0 {
			now = now.Add(time.Millisecond)
		}
		id := g.New(renkei.PrefixPayment)
		if !renkei.HasPrefix(id, renkei.PrefixPayment) {
			t.Fatalf("id %q lacks prefix or has wrong length", id)
		}
		if id <= prev {
			t.Fatalf("id %q not after %q", id, prev)
		}
		prev = id
	}
}

func TestIDGenEncodesTime(t *testing.T) {
	t.Parallel()
	a := &renkei.IDGen{Now: func() time.Time { return time.UnixMilli(1) }, Rand: bytes.NewReader(make([]byte, 10))}
	if got := a.New(""); got != "00000000010000000000000000" {
		t.Fatalf("got %q", got)
	}
}

func TestRandomToken(t *testing.T) {
	t.Parallel()
	tok := renkei.RandomToken(bytes.NewReader(bytes.Repeat([]byte{0}, 32)), "usk_", 32)
	if len(tok) != 4+52 {
		t.Fatalf("token %q has length %d", tok, len(tok))
	}
}
