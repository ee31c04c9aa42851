package policy_test

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/renkei/renkei/policy"
	"pgregory.net/rapid"
)

var (
	fieldNames    = []string{"amount", "merchant_name", "merchant_category", "time", "method"}
	categoryNames = []string{"restaurants", "groceries", "fuel"}
	currencies    = []string{"JPY", "USD"}
)

func genHistory() *rapid.Generator[policy.History] {
	return rapid.Custom(func(t *rapid.T) policy.History {
		shown := rapid.IntRange(0, 1000).Draw(t, "shown")
		h := policy.History{
			Shown:    shown,
			Selected: rapid.IntRange(0, shown).Draw(t, "selected"),
		}
		if rare(t, 0.5, "has_streak") {
			h.DismissStreak = rapid.IntRange(1, 12).Draw(t, "streak")
		}
		if rapid.Bool().Draw(t, "ever_selected") {
			h.LastSelected = now.Add(-time.Duration(rapid.IntRange(-2, 90).Draw(t, "days_ago")) * 24 * time.Hour)
		}
		return h
	})
}

// rare draws true with probability about p, or less: rapid favours small
// numbers, which makes the event rarer still, never more common.
func rare(t *rapid.T, p float64, label string) bool {
	return rapid.IntRange(0, 999).Draw(t, label) >= int(1000*(1-p))
}

// genMap draws a per-currency map; each currency is present with
// probability about p.
func genMap(t *rapid.T, label string, p float64, lo, hi int64) map[string]int64 {
	m := map[string]int64{}
	for _, c := range currencies {
		if !rare(t, 1-p, label+"_lacks_"+c) {
			m[c] = rapid.Int64Range(lo, hi).Draw(t, label+"_"+c)
		}
	}
	return m
}

// genService draws services that mostly pass the necessity checks, so
// that ranking and the K cut-off are exercised too.
func genService() *rapid.Generator[policy.Service] {
	return rapid.Custom(func(t *rapid.T) policy.Service {
		s := policy.Service{
			ID:            rapid.SampledFrom([]string{"rsv_a", "rsv_b", "rsv_c", "rsv_d", "rsv_e", "rsv_f"}).Draw(t, "id"),
			Name:          "App",
			Enabled:       !rare(t, 0.1, "disabled"),
			BaseThreshold: genMap(t, "base", 0.85, 0, 100_000),
		}
		if rare(t, 0.3, "has_floor") {
			s.Floor = genMap(t, "floor", 0.5, -10, 100_000)
		}
		if rare(t, 0.3, "has_ceiling") {
			s.Ceiling = genMap(t, "ceiling", 0.5, -10, 10_000_000)
		}
		if rare(t, 0.5, "has_categories") {
			s.Categories = rapid.SliceOfNDistinct(rapid.SampledFrom(categoryNames), 1, 2, rapid.ID[string]).Draw(t, "categories")
		}
		s.RequiredFields = rapid.SliceOfNDistinct(rapid.SampledFrom(fieldNames), 0, 2, rapid.ID[string]).Draw(t, "required")
		s.Scopes = rapid.SliceOfNDistinct(rapid.SampledFrom(fieldNames), 0, 5, rapid.ID[string]).Draw(t, "scopes")
		if !rare(t, 0.15, "scopes_short") {
			for _, f := range s.RequiredFields {
				if !slices.Contains(s.Scopes, f) {
					s.Scopes = append(s.Scopes, f)
				}
			}
		}
		return s
	})
}

func genCandidate() *rapid.Generator[policy.Candidate] {
	return rapid.Custom(func(t *rapid.T) policy.Candidate {
		c := policy.Candidate{
			Service:     genService().Draw(t, "service"),
			History:     genHistory().Draw(t, "history"),
			AlreadySent: rare(t, 0.05, "sent"),
		}
		if rare(t, 0.5, "linked") {
			c.Link = &policy.Link{
				Active:  !rare(t, 0.2, "inactive"),
				Auto:    rare(t, 0.1, "auto"),
				Revoked: rare(t, 0.05, "revoked"),
			}
		}
		return c
	})
}

func TestPropertyThresholdBounds(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := genService().Draw(t, "service")
		h := genHistory().Draw(t, "history")
		cur := rapid.SampledFrom(currencies).Draw(t, "currency")
		got, ok := policy.Threshold(s, h, cur)
		base, has := s.BaseThreshold[cur]
		if ok != has {
			t.Fatalf("ok %v, but base present %v", ok, has)
		}
		if !ok {
			return
		}
		lo, hasLo := s.Floor[cur]
		if !hasLo {
			lo = base / 4
		}
		hi, hasHi := s.Ceiling[cur]
		if !hasHi {
			hi = base * 32
		}
		lo = max(lo, 0)
		hi = max(hi, lo)
		if got < lo || got > hi {
			t.Fatalf("threshold %d outside [%d, %d]", got, lo, hi)
		}
	})
}

func TestPropertyThresholdMonotone(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := genService().Draw(t, "service")
		h := genHistory().Draw(t, "history")
		cur := rapid.SampledFrom(currencies).Draw(t, "currency")
		th := func(h policy.History) int64 { v, _ := policy.Threshold(s, h, cur); return v }
		before := th(h)

		// A selection on a proposal already counted as shown.
		if h.Selected < h.Shown {
			more := h
			more.Selected++
			if after := th(more); after > before {
				t.Fatalf("one more selection raised the threshold: %d → %d (%+v)", before, after, h)
			}
		}
		// A new proposal that was selected (the streak held fixed).
		more := h
		more.Shown++
		more.Selected++
		if after := th(more); after > before {
			t.Fatalf("one more shown-and-selected raised the threshold: %d → %d (%+v)", before, after, h)
		}
		// A new proposal that was dismissed: shown and streak go up.
		less := h
		less.Shown++
		less.DismissStreak++
		if after := th(less); after < before {
			t.Fatalf("one more dismissal lowered the threshold: %d → %d (%+v)", before, after, h)
		}
		// Each part of a dismissal on its own.
		less = h
		less.Shown++
		if after := th(less); after < before {
			t.Fatalf("one more shown lowered the threshold: %d → %d (%+v)", before, after, h)
		}
		less = h
		less.DismissStreak++
		if after := th(less); after < before {
			t.Fatalf("a longer streak lowered the threshold: %d → %d (%+v)", before, after, h)
		}
	})
}

func TestPropertyDecide(t *testing.T) {
	t.Parallel()
	necessity := []policy.Code{
		policy.CodeServiceDisabled, policy.CodeLinkRevoked, policy.CodeAutoLink, policy.CodeAlreadySent,
		policy.CodeScopeMismatch, policy.CodeCurrencyNotSupported, policy.CodeCategoryMismatch,
	}
	rapid.Check(t, func(t *rapid.T) {
		p := policy.Payment{
			ID:               "pay_1",
			Amount:           rapid.Int64Range(1, 10).Draw(t, "amount_digit") * pow10(rapid.IntRange(1, 6).Draw(t, "amount_scale")),
			Currency:         rapid.SampledFrom(currencies).Draw(t, "currency"),
			MerchantCategory: rapid.SampledFrom(categoryNames).Draw(t, "category"),
			Fields:           fieldNames,
		}
		if rare(t, 0.2, "fewer_fields") {
			p.Fields = rapid.SliceOfNDistinct(rapid.SampledFrom(fieldNames), 0, 5, rapid.ID[string]).Draw(t, "fields")
		}
		cands := rapid.SliceOfN(genCandidate(), 0, 10).Draw(t, "candidates")
		o := policy.Options{MaxProposals: rapid.IntRange(-1, 4).Draw(t, "k"), Now: now}
		k := o.MaxProposals
		if k <= 0 {
			k = policy.DefaultMaxProposals
		}

		ds := policy.Decide(p, cands, o)
		if again := policy.Decide(p, cands, o); !reflect.DeepEqual(ds, again) {
			t.Fatalf("two calls differ")
		}
		if len(ds) != len(cands) {
			t.Fatalf("%d decisions for %d candidates", len(ds), len(cands))
		}
		var ranks []int
		proposedIDs := map[string]bool{}
		eligible := 0
		for i, d := range ds {
			c := cands[i]
			if d.ServiceID != c.Service.ID {
				t.Fatalf("decision %d is for %s, not %s", i, d.ServiceID, c.Service.ID)
			}
			if !slices.Contains(policy.Codes(), d.Reason.Code) {
				t.Fatalf("unknown code %q", d.Reason.Code)
			}
			if slices.Contains(necessity, d.Reason.Code) && (d.Propose || d.Threshold != 0 || d.Score != 0) {
				t.Fatalf("necessity failure %s proposed or scored: %+v", d.Reason.Code, d)
			}
			// A candidate that fails a necessity check always gets a
			// necessity code.
			if !c.Service.Enabled || c.AlreadySent || (c.Link != nil && (c.Link.Revoked || c.Link.Active && c.Link.Auto)) {
				if !slices.Contains(necessity, d.Reason.Code) {
					t.Fatalf("candidate %+v got %s", c, d.Reason.Code)
				}
			}
			if d.Propose != (d.Rank > 0) {
				t.Fatalf("propose %v with rank %d", d.Propose, d.Rank)
			}
			if d.Propose {
				ranks = append(ranks, d.Rank)
				if p.Amount < d.Threshold {
					t.Fatalf("proposed %d below threshold %d", p.Amount, d.Threshold)
				}
				if want, _ := policy.Threshold(c.Service, c.History, p.Currency); want != d.Threshold {
					t.Fatalf("threshold %d, Threshold says %d", d.Threshold, want)
				}
				if proposedIDs[d.ServiceID] {
					t.Fatalf("%s proposed twice", d.ServiceID)
				}
				proposedIDs[d.ServiceID] = true
				if d.Reason.Code != policy.CodeOverThreshold && d.Reason.Code != policy.CodeFirstTime {
					t.Fatalf("proposed with %s", d.Reason.Code)
				}
			}
			if d.Propose || d.Reason.Code == policy.CodeNotInTopK {
				eligible++
			}
		}
		if len(ranks) > k {
			t.Fatalf("%d proposals, K = %d", len(ranks), k)
		}
		slices.Sort(ranks)
		for i, r := range ranks {
			if r != i+1 {
				t.Fatalf("ranks %v are not 1..n", ranks)
			}
		}
		// K is filled whenever enough distinct services qualify.
		distinct := map[string]bool{}
		for i, d := range ds {
			if d.Propose || d.Reason.Code == policy.CodeNotInTopK {
				distinct[cands[i].Service.ID] = true
			}
		}
		if len(ranks) != min(k, len(distinct)) {
			t.Fatalf("%d proposals with %d qualifying services and K = %d", len(ranks), len(distinct), k)
		}
		// Rank follows score.
		for i, a := range ds {
			for _, b := range ds[i+1:] {
				if a.Propose && b.Propose && (a.Rank < b.Rank) != (a.Score > b.Score || a.Score == b.Score && (a.Threshold < b.Threshold || a.Threshold == b.Threshold && a.ServiceID <= b.ServiceID)) {
					t.Fatalf("rank order disagrees with score: %+v vs %+v", a, b)
				}
			}
		}
	})
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
