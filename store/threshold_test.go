package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/store"
)

// wantThreshold is the personal threshold as the policy package documents
// it, computed here on its own:
//
//	clamp(round2(base × (1 − 0.8·r) × 2^min(k,5)), base/4, base×32)
//
// with r = (selected+1)/(shown+2) and k the dismissed and ignored cards
// since the last tap; round2 rounds half up to two significant figures.
// The cases below stay clear of halves, where float64 could round the
// other way.
func wantThreshold(base int64, shown, selected, streak int) int64 {
	r := float64(selected+1) / float64(shown+2)
	v := float64(base) * (1 - 0.8*r) * math.Pow(2, float64(min(streak, 5)))
	if math.Round(v) >= 100 {
		p := math.Pow(10, math.Floor(math.Log10(math.Round(v)))-1)
		v = math.Floor(v/p+0.5) * p
	} else {
		v = math.Floor(v + 0.5)
	}
	return min(max(int64(v), base/4), base*32)
}

// TestPersonalThreshold (claim 5) drives the store's clock through the
// user's history with one service (base ¥1,000) and reads the threshold
// each completion screen was decided with. A payment of ¥100,000 is over
// any threshold (the ceiling is ¥32,000), so every screen shows the card
// and says its threshold.
//
//   - A new user is asked from ¥600 (r = 1/2).
//   - A user who records every payment gets a lower threshold with each
//     tap: ¥280 after eight (r = 9/10), near the ¥250 floor.
//   - A user who dismisses the card backs off: ¥28,000 after five in a
//     row (×32), and a tap ends the streak.
//   - A card left alone counts as ignored only once it is an hour old.
//   - Nothing older than 90 days counts: both habits fade back to ¥600.
func TestPersonalThreshold(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		rs := createService(t, s, kakeiboInput()) // base ¥1,000, every category
		const base = 1000

		// view pays ¥100,000 and opens the completion screen: it returns
		// the card's threshold and reason code, and the payment.
		view := func(f fixture) (int64, string, *renkei.Payment) {
			t.Helper()
			p, err := charge(t, s, f, 100_000)
			must(t, err)
			v, err := s.Completion(ctx, f.user.ID, p.ID, "en")
			must(t, err)
			if len(v.Proposals) != 1 || v.Proposals[0].ServiceID != rs.ID {
				t.Fatalf("proposals %+v", v.Proposals)
			}
			return v.Proposals[0].Threshold, v.Proposals[0].Reason.Code, p
		}
		expect := func(who string, got int64, shown, selected, streak int, literal int64) {
			t.Helper()
			want := wantThreshold(base, shown, selected, streak)
			if want != literal {
				t.Fatalf("%s: the formula gives %d, the test says %d", who, want, literal)
			}
			if got != want {
				t.Fatalf("%s: threshold %d, want %d (shown %d, selected %d, streak %d)", who, got, want, shown, selected, streak)
			}
		}

		newcomer := newFixture(t, s, 10_000_000)
		frequent := newFixture(t, s, 10_000_000)
		dismisser := newFixture(t, s, 10_000_000)
		ignorer := newFixture(t, s, 10_000_000)

		// A new user: nothing shown yet.
		thr, code, _ := view(newcomer)
		expect("new user", thr, 0, 0, 0, 600)
		if code != "first_time" {
			t.Fatalf("a new user's card says %s", code)
		}
		newThreshold := thr

		// A user who taps every card: 600, 470, 400, 360, 330, 310, 300,
		// 290, then 280 after eight taps.
		var frequentThr int64
		for i := 0; i <= 8; i++ {
			thr, _, p := view(frequent)
			expect("frequent user", thr, i, i, 0, []int64{600, 470, 400, 360, 330, 310, 300, 290, 280}[i])
			frequentThr = thr
			if i < 8 {
				_, err := s.Select(ctx, frequent.user.ID, p.ID, renkei.SelectInput{ServiceID: rs.ID})
				must(t, err)
			}
			c.advance(time.Minute)
		}

		// A user who dismisses every card: the threshold doubles with each
		// dismissal, up to ×32 after five, while r falls too: 600, 1,500,
		// 3,200, 6,700, 14,000, then 28,000.
		var dismisserThr int64
		var last *renkei.Payment
		for i := 0; i <= 5; i++ {
			thr, _, p := view(dismisser)
			expect("serial dismisser", thr, i, 0, i, []int64{600, 1500, 3200, 6700, 14000, 28000}[i])
			dismisserThr, last = thr, p
			if i < 5 {
				_, err := s.Dismiss(ctx, dismisser.user.ID, p.ID, rs.ID)
				must(t, err)
			}
			c.advance(time.Minute)
		}
		if !(frequentThr < newThreshold && newThreshold < dismisserThr) {
			t.Fatalf("frequent %d, new %d, dismisser %d: want frequent < new < dismisser", frequentThr, newThreshold, dismisserThr)
		}

		// A card left alone is ignored only after an hour: two views a
		// minute apart, then 59 minutes on, nothing is ignored yet; two
		// minutes later the first two cards are.
		thr, _, _ = view(ignorer)
		expect("ignorer, first", thr, 0, 0, 0, 600)
		c.advance(time.Minute)
		thr, _, _ = view(ignorer)
		expect("ignorer, a minute later", thr, 1, 0, 0, 730)
		c.advance(59 * time.Minute)
		thr, _, _ = view(ignorer)
		expect("ignorer, 59 minutes later", thr, 2, 0, 0, 800)
		c.advance(2 * time.Minute)
		thr, _, _ = view(ignorer)
		expect("ignorer, past the hour", thr, 3, 0, 2, 3400)

		// A tap ends the dismisser's streak: the last card (shown, not
		// dismissed) is tapped, and the next threshold is r alone.
		_, err := s.Select(ctx, dismisser.user.ID, last.ID, renkei.SelectInput{ServiceID: rs.ID})
		must(t, err)
		thr, _, _ = view(dismisser)
		expect("dismisser after a tap", thr, 6, 1, 0, 800)

		// 89 days on, the history still counts; past 90 days it does not:
		// both habits fade back to a new user's ¥600. Each view here
		// adds a card that the next one counts.
		c.advance(89 * 24 * time.Hour)
		thr, _, _ = view(frequent)
		expect("frequent user at 89 days", thr, 9, 8, 1, 690) // the ninth card was left alone: ignored
		c.advance(24*time.Hour + time.Minute)
		thr, code, _ = view(dismisser)
		expect("dismisser past 90 days", thr, 0, 0, 0, 600)
		if code != "first_time" {
			t.Fatalf("past the window the card says %s, want first_time", code)
		}
		thr, _, _ = view(frequent)
		expect("frequent user past 90 days", thr, 1, 0, 1, 1500) // only the card of day 89 counts, ignored
	})
}
