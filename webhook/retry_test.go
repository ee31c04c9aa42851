package webhook_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/renkei/renkei/webhook"
)

func TestSchedule(t *testing.T) {
	t.Parallel()
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if len(webhook.Schedule) != len(want) {
		t.Fatalf("Schedule has %d attempts, want %d", len(webhook.Schedule), len(want))
	}
	for i := range want {
		if webhook.Schedule[i] != want[i] {
			t.Errorf("Schedule[%d] = %v, want %v", i, webhook.Schedule[i], want[i])
		}
	}
}

func TestNextDelay(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	for n, base := range webhook.Schedule {
		lo, hi := base*8/10, base*12/10
		seen := map[time.Duration]bool{}
		for range 1000 {
			d, ok := webhook.NextDelay(n, rnd.Float64)
			if !ok {
				t.Fatalf("NextDelay(%d) = _, false, want an attempt left", n)
			}
			if base == 0 && d != 0 || base != 0 && (d < lo || d >= hi) {
				t.Fatalf("NextDelay(%d) = %v, want in [%v, %v)", n, d, lo, hi)
			}
			seen[d] = true
		}
		if base != 0 && len(seen) < 100 {
			t.Errorf("NextDelay(%d) took only %d values in 1000 draws: no jitter", n, len(seen))
		}
	}
	// The extremes of the source map to the extremes of the window.
	if d, _ := webhook.NextDelay(1, func() float64 { return 0 }); d != 4*time.Second {
		t.Errorf("NextDelay(1) with 0 = %v, want 4s", d)
	}
	if d, _ := webhook.NextDelay(7, func() float64 { return 0.999999 }); d < 11*time.Hour+59*time.Minute || d >= 12*time.Hour {
		t.Errorf("NextDelay(7) with 0.999999 = %v, want just under 12h", d)
	}
	if d, ok := webhook.NextDelay(2, nil); !ok || d < 4*time.Minute || d >= 6*time.Minute {
		t.Errorf("NextDelay(2, nil) = %v, %v, want in [4m, 6m)", d, ok)
	}
	for _, n := range []int{-1, len(webhook.Schedule), 100} {
		if d, ok := webhook.NextDelay(n, rnd.Float64); ok || d != 0 {
			t.Errorf("NextDelay(%d) = %v, %v, want 0, false", n, d, ok)
		}
	}
}
