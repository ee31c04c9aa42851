package policy_test

import (
	"math"
	"testing"

	"github.com/renkei/renkei/policy"
)

func TestThreshold(t *testing.T) {
	t.Parallel()
	yen := func(base int64) policy.Service {
		return policy.Service{ID: "rsv_a", BaseThreshold: map[string]int64{"JPY": base}}
	}
	bounded := func(base, floor, ceiling int64) policy.Service {
		s := yen(base)
		s.Floor = map[string]int64{"JPY": floor}
		s.Ceiling = map[string]int64{"JPY": ceiling}
		return s
	}
	tests := []struct {
		name     string
		service  policy.Service
		history  policy.History
		currency string
		want     int64
		wantOK   bool
	}{
		// The worked table of the package documentation, base ¥1,000.
		{"new user", yen(1000), policy.History{}, "JPY", 600, true},
		{"records most payments", yen(1000), policy.History{Shown: 20, Selected: 18}, "JPY", 310, true},
		{"records all: default floor", yen(1000), policy.History{Shown: 20, Selected: 20}, "JPY", 250, true},
		{"two misses in a row", yen(1000), policy.History{Shown: 12, Selected: 6, DismissStreak: 2}, "JPY", 2400, true},
		{"a regular, then five misses", yen(1000), policy.History{Shown: 25, Selected: 18, DismissStreak: 5}, "JPY", 14000, true},
		{"dismissed five times", yen(1000), policy.History{Shown: 5, DismissStreak: 5}, "JPY", 28000, true},
		{"streak capped at five", yen(1000), policy.History{Shown: 60, DismissStreak: 9}, "JPY", 32000, true},
		{"streak 9 equals streak 5", yen(1000), policy.History{Shown: 5, DismissStreak: 9}, "JPY", 28000, true},

		// Threshold moves down with use and up with misses.
		{"one tap lowers", yen(1000), policy.History{Shown: 1, Selected: 1}, "JPY", 470, true},
		{"one miss raises", yen(1000), policy.History{Shown: 1, DismissStreak: 1}, "JPY", 1500, true},

		// Clamps.
		{"partner floor", bounded(1000, 400, 32000), policy.History{Shown: 20, Selected: 18}, "JPY", 400, true},
		{"partner floor zero lets use reach a fifth", bounded(1000, 0, 32000), policy.History{Shown: 1000, Selected: 1000}, "JPY", 200, true},
		{"partner ceiling", bounded(1000, 250, 10000), policy.History{Shown: 5, DismissStreak: 5}, "JPY", 10000, true},
		{"ceiling below floor is raised to it", bounded(1000, 5000, 2000), policy.History{}, "JPY", 5000, true},
		{"negative floor counts as zero", bounded(1000, -5, 32000), policy.History{Shown: 1000, Selected: 1000}, "JPY", 200, true},
		{"round2 above ceiling is clamped", bounded(1000, 0, 31995), policy.History{Shown: 60, DismissStreak: 9}, "JPY", 31995, true},

		// Rounding.
		{"two significant figures", yen(12345), policy.History{Shown: 8, Selected: 4}, "JPY", 7400, true}, // 12,345 × 0.6 = 7,407
		{"small base: whole units", yen(90), policy.History{}, "JPY", 54, true},
		{"half rounds up", yen(575), policy.History{}, "JPY", 350, true},                         // 575 × 0.6 = 345
		{"under half rounds down", yen(574), policy.History{}, "JPY", 340, true},                 // 344.4
		{"near a power of ten", yen(1666), policy.History{}, "JPY", 1000, true},                  // 999.6
		{"small base: whole units, half up", yen(65), policy.History{Shown: 6}, "JPY", 59, true}, // 65 × 0.9 = 58.5
		{"USD in cents", policy.Service{BaseThreshold: map[string]int64{"USD": 1000}}, policy.History{Shown: 20, Selected: 18}, "USD", 310, true},

		// Odd input.
		{"currency not taken", yen(1000), policy.History{}, "USD", 0, false},
		{"nil maps", policy.Service{}, policy.History{}, "JPY", 0, false},
		{"base zero", yen(0), policy.History{DismissStreak: 3}, "JPY", 0, true},
		{"negative base counts as zero", yen(-100), policy.History{}, "JPY", 0, true},
		{"negative counts count as zero", yen(1000), policy.History{Shown: -3, Selected: -1, DismissStreak: -2}, "JPY", 600, true},
		{"more selected than shown", yen(1000), policy.History{Shown: 20, Selected: 30}, "JPY", 250, true},
		{"huge base saturates", yen(math.MaxInt64), policy.History{DismissStreak: 5}, "JPY", math.MaxInt64, true},
		{"huge counts", yen(1000), policy.History{Shown: math.MaxInt, Selected: math.MaxInt}, "JPY", 250, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := policy.Threshold(tt.service, tt.history, tt.currency)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Threshold = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
