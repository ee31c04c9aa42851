package policy_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/renkei/renkei/policy"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// lunch is a ¥12,800 restaurant payment with every field.
func lunch() policy.Payment {
	return policy.Payment{
		ID: "pay_1", Amount: 12800, Currency: "JPY", MerchantCategory: "restaurants",
		Fields: []string{"amount", "merchant_name", "merchant_category", "time", "method"},
	}
}

// kakeibo is an enabled household account book, base ¥5,000 in JPY, for
// every category, needing the amount and the merchant name.
func kakeibo(id string) policy.Service {
	return policy.Service{
		ID: id, Name: "Kakeibo", Enabled: true,
		BaseThreshold:  map[string]int64{"JPY": 5000},
		Floor:          map[string]int64{"JPY": 5000}, // pin the threshold: these tests are about the rules
		RequiredFields: []string{"amount", "merchant_name"},
		Scopes:         []string{"amount", "merchant_name", "merchant_category", "time"},
	}
}

// seen is a history that leaves the personal threshold at the floor
// (5,000 with kakeibo) and is not a first time.
var seen = policy.History{Shown: 10, Selected: 5}

func TestDecideOne(t *testing.T) {
	t.Parallel()
	with := func(f func(*policy.Candidate, *policy.Payment)) (policy.Payment, policy.Candidate) {
		p, c := lunch(), policy.Candidate{Service: kakeibo("rsv_k"), History: seen}
		f(&c, &p)
		return p, c
	}
	tests := []struct {
		name      string
		f         func(*policy.Candidate, *policy.Payment)
		code      policy.Code
		propose   bool
		threshold int64
		fields    []string
		category  string
	}{
		{"over threshold", func(*policy.Candidate, *policy.Payment) {}, policy.CodeOverThreshold, true, 5000, nil, ""},
		{"at threshold", func(_ *policy.Candidate, p *policy.Payment) { p.Amount = 5000 }, policy.CodeOverThreshold, true, 5000, nil, ""},
		{"first time", func(c *policy.Candidate, _ *policy.Payment) { c.History = policy.History{} }, policy.CodeFirstTime, true, 5000, nil, ""},
		{"below threshold", func(_ *policy.Candidate, p *policy.Payment) { p.Amount = 4999 }, policy.CodeBelowThreshold, false, 5000, nil, ""},
		{"first time but below", func(c *policy.Candidate, p *policy.Payment) { c.History = policy.History{}; p.Amount = 120 }, policy.CodeBelowThreshold, false, 5000, nil, ""},
		{"inactive link is no link", func(c *policy.Candidate, _ *policy.Payment) { c.Link = &policy.Link{Auto: true} }, policy.CodeOverThreshold, true, 5000, nil, ""},
		{"manual link", func(c *policy.Candidate, _ *policy.Payment) { c.Link = &policy.Link{Active: true} }, policy.CodeOverThreshold, true, 5000, nil, ""},
		{"listed category", func(c *policy.Candidate, _ *policy.Payment) {
			c.Service.Categories = []string{"groceries", "restaurants"}
		}, policy.CodeOverThreshold, true, 5000, nil, ""},

		{"disabled", func(c *policy.Candidate, _ *policy.Payment) { c.Service.Enabled = false }, policy.CodeServiceDisabled, false, 0, nil, ""},
		{"revoked", func(c *policy.Candidate, _ *policy.Payment) { c.Link = &policy.Link{Revoked: true} }, policy.CodeLinkRevoked, false, 0, nil, ""},
		{"auto link", func(c *policy.Candidate, _ *policy.Payment) { c.Link = &policy.Link{Active: true, Auto: true} }, policy.CodeAutoLink, false, 0, nil, ""},
		{"already sent", func(c *policy.Candidate, _ *policy.Payment) { c.AlreadySent = true }, policy.CodeAlreadySent, false, 0, nil, ""},
		{"scope does not cover", func(c *policy.Candidate, _ *policy.Payment) {
			c.Service.RequiredFields = []string{"amount", "method", "method"}
		}, policy.CodeScopeMismatch, false, 0, []string{"method"}, ""},
		{"payment lacks field", func(_ *policy.Candidate, p *policy.Payment) { p.Fields = []string{"amount"} }, policy.CodeScopeMismatch, false, 0, []string{"merchant_name"}, ""},
		{"currency", func(_ *policy.Candidate, p *policy.Payment) { p.Currency = "USD"; p.Amount = 1280 }, policy.CodeCurrencyNotSupported, false, 0, nil, ""},
		{"category", func(c *policy.Candidate, _ *policy.Payment) { c.Service.Categories = []string{"groceries"} }, policy.CodeCategoryMismatch, false, 0, nil, "restaurants"},

		// Order of the necessity checks: the first that applies wins.
		{"disabled before revoked", func(c *policy.Candidate, _ *policy.Payment) {
			c.Service.Enabled = false
			c.Link = &policy.Link{Revoked: true}
		}, policy.CodeServiceDisabled, false, 0, nil, ""},
		{"revoked before auto", func(c *policy.Candidate, _ *policy.Payment) {
			c.Link = &policy.Link{Active: true, Auto: true, Revoked: true}
		}, policy.CodeLinkRevoked, false, 0, nil, ""},
		{"auto before already sent", func(c *policy.Candidate, _ *policy.Payment) {
			c.Link = &policy.Link{Active: true, Auto: true}
			c.AlreadySent = true
		}, policy.CodeAutoLink, false, 0, nil, ""},
		{"already sent before scope", func(c *policy.Candidate, p *policy.Payment) { c.AlreadySent = true; p.Fields = nil }, policy.CodeAlreadySent, false, 0, nil, ""},
		{"scope before currency", func(_ *policy.Candidate, p *policy.Payment) { p.Fields = nil; p.Currency = "USD" }, policy.CodeScopeMismatch, false, 0, []string{"amount", "merchant_name"}, ""},
		{"currency before category", func(c *policy.Candidate, p *policy.Payment) {
			p.Currency = "USD"
			c.Service.Categories = []string{"groceries"}
		}, policy.CodeCurrencyNotSupported, false, 0, nil, ""},
		{"category before threshold", func(c *policy.Candidate, p *policy.Payment) {
			p.Amount = 1
			c.Service.Categories = []string{"groceries"}
		}, policy.CodeCategoryMismatch, false, 0, nil, "restaurants"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, c := with(tt.f)
			ds := policy.Decide(p, []policy.Candidate{c}, policy.Options{Now: now})
			if len(ds) != 1 {
				t.Fatalf("got %d decisions, want 1", len(ds))
			}
			d := ds[0]
			if d.Reason.Code != tt.code || d.Propose != tt.propose || d.Threshold != tt.threshold {
				t.Errorf("got code %s propose %v threshold %d; want %s %v %d", d.Reason.Code, d.Propose, d.Threshold, tt.code, tt.propose, tt.threshold)
			}
			if wantRank := map[bool]int{true: 1}[tt.propose]; d.Rank != wantRank {
				t.Errorf("rank %d, want %d", d.Rank, wantRank)
			}
			if (d.Score > 0) != (d.Reason.Code == policy.CodeOverThreshold || d.Reason.Code == policy.CodeFirstTime) {
				t.Errorf("score %v with code %s", d.Score, d.Reason.Code)
			}
			want := policy.Reason{Code: tt.code, Service: "Kakeibo", Amount: p.Amount, Currency: p.Currency,
				Threshold: tt.threshold, Category: tt.category, Fields: tt.fields}
			if !reflect.DeepEqual(d.Reason, want) {
				t.Errorf("reason %+v, want %+v", d.Reason, want)
			}
			if d.ServiceID != "rsv_k" {
				t.Errorf("service id %q", d.ServiceID)
			}
		})
	}
}

func TestDecideServiceNameFallsBackToID(t *testing.T) {
	t.Parallel()
	s := kakeibo("rsv_k")
	s.Name = ""
	d := policy.Decide(lunch(), []policy.Candidate{{Service: s, History: seen}}, policy.Options{})[0]
	if d.Reason.Service != "rsv_k" {
		t.Errorf("service %q, want the id", d.Reason.Service)
	}
}

func TestDecideScore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cats   []string
		hist   policy.History
		amount int64
		want   float64
	}{
		// threshold 5,000 (the floor); seen gives r = 6/12 = 0.5
		{"all categories, at threshold", nil, seen, 5000, 0.3 + 0.5},
		{"listed category", []string{"restaurants"}, seen, 5000, 1.0 + 0.5},
		{"double the threshold", nil, seen, 10000, 0.3 + 0.5 + 0.1},
		{"far over is capped", nil, seen, 5000 * 1000, 0.3 + 0.5 + 0.3},
		{"selected 30 days ago", nil, policy.History{Shown: 10, Selected: 5, LastSelected: now.Add(-30 * 24 * time.Hour)}, 5000, 0.3 + 0.5 + 0.2},
		{"selected 31 days ago", nil, policy.History{Shown: 10, Selected: 5, LastSelected: now.Add(-31 * 24 * time.Hour)}, 5000, 0.3 + 0.5},
		{"habit", nil, policy.History{Shown: 8, Selected: 8}, 5000, 0.3 + 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := kakeibo("rsv_k")
			s.Categories = tt.cats
			p := lunch()
			p.Amount = tt.amount
			d := policy.Decide(p, []policy.Candidate{{Service: s, History: tt.hist}}, policy.Options{Now: now})[0]
			if !d.Propose || math.Abs(d.Score-tt.want) > 1e-9 {
				t.Errorf("propose %v score %v, want %v", d.Propose, d.Score, tt.want)
			}
		})
	}
	t.Run("zero Now gives no recency bonus", func(t *testing.T) {
		t.Parallel()
		h := policy.History{Shown: 10, Selected: 5, LastSelected: now}
		d := policy.Decide(lunch(), []policy.Candidate{{Service: kakeibo("rsv_k"), History: h}}, policy.Options{})[0]
		if want := 0.3 + 0.5 + 0.1*math.Log2(12800.0/5000); math.Abs(d.Score-want) > 1e-9 {
			t.Errorf("score %v, want %v", d.Score, want)
		}
	})
}

// ranked returns the proposed service ids in rank order and the code of
// every decision by service id.
func ranked(ds []policy.Decision) ([]string, map[string]policy.Code) {
	ids := make([]string, 0)
	codes := make(map[string]policy.Code)
	for _, d := range ds {
		codes[d.ServiceID] = d.Reason.Code
		if d.Propose {
			ids = append(ids, d.ServiceID)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		ra := slices.IndexFunc(ds, func(d policy.Decision) bool { return d.ServiceID == a })
		rb := slices.IndexFunc(ds, func(d policy.Decision) bool { return d.ServiceID == b })
		return ds[ra].Rank - ds[rb].Rank
	})
	return ids, codes
}

func TestDecideRanking(t *testing.T) {
	t.Parallel()
	cand := func(id string, cats []string, h policy.History, base int64) policy.Candidate {
		s := kakeibo(id)
		s.Categories = cats
		s.BaseThreshold = map[string]int64{"JPY": base}
		s.Floor = nil
		return policy.Candidate{Service: s, History: h}
	}
	tests := []struct {
		name   string
		cands  []policy.Candidate
		k      int
		amount int64
		want   []string
		codes  map[string]policy.Code
	}{
		{
			name: "listed category beats all categories",
			cands: []policy.Candidate{
				cand("rsv_a", nil, seen, 1000),
				cand("rsv_b", []string{"restaurants"}, seen, 1000),
			},
			want: []string{"rsv_b", "rsv_a"},
		},
		{
			name: "habit beats a new app",
			cands: []policy.Candidate{
				cand("rsv_a", nil, policy.History{}, 1000),
				cand("rsv_b", nil, policy.History{Shown: 10, Selected: 9}, 1000),
			},
			want:  []string{"rsv_b", "rsv_a"},
			codes: map[string]policy.Code{"rsv_a": policy.CodeFirstTime, "rsv_b": policy.CodeOverThreshold},
		},
		{
			name: "recent use breaks a near tie",
			cands: []policy.Candidate{
				cand("rsv_a", nil, seen, 1000),
				cand("rsv_b", nil, policy.History{Shown: 10, Selected: 5, LastSelected: now.Add(-time.Hour)}, 1000),
			},
			want: []string{"rsv_b", "rsv_a"},
		},
		{
			name: "equal score: lower threshold first",
			// amount far over both thresholds caps the amount bonus, so
			// the scores are equal and only the thresholds differ
			cands: []policy.Candidate{
				cand("rsv_a", nil, seen, 2000),
				cand("rsv_b", nil, seen, 1000),
			},
			amount: 1_000_000,
			want:   []string{"rsv_b", "rsv_a"},
		},
		{
			name: "equal score and threshold: lower id first",
			cands: []policy.Candidate{
				cand("rsv_b", nil, seen, 1000),
				cand("rsv_a", nil, seen, 1000),
			},
			want: []string{"rsv_a", "rsv_b"},
		},
		{
			name: "default K is two",
			cands: []policy.Candidate{
				cand("rsv_c", nil, seen, 1000),
				cand("rsv_b", nil, seen, 1000),
				cand("rsv_a", nil, seen, 1000),
			},
			want:  []string{"rsv_a", "rsv_b"},
			codes: map[string]policy.Code{"rsv_c": policy.CodeNotInTopK},
		},
		{
			name: "K one",
			cands: []policy.Candidate{
				cand("rsv_a", nil, seen, 1000),
				cand("rsv_b", []string{"restaurants"}, seen, 1000),
			},
			k:     1,
			want:  []string{"rsv_b"},
			codes: map[string]policy.Code{"rsv_a": policy.CodeNotInTopK},
		},
		{
			name: "K larger than the eligible",
			cands: []policy.Candidate{
				cand("rsv_a", nil, seen, 1000),
				cand("rsv_b", nil, seen, 100_000),
			},
			k:     5,
			want:  []string{"rsv_a"},
			codes: map[string]policy.Code{"rsv_b": policy.CodeBelowThreshold},
		},
		{
			name: "ineligible do not use up K",
			cands: []policy.Candidate{
				{Service: policy.Service{ID: "rsv_x", Name: "Off"}},
				cand("rsv_b", nil, seen, 1000),
				cand("rsv_a", []string{"groceries"}, seen, 1000),
				cand("rsv_c", nil, seen, 1000),
			},
			want:  []string{"rsv_b", "rsv_c"},
			codes: map[string]policy.Code{"rsv_x": policy.CodeServiceDisabled, "rsv_a": policy.CodeCategoryMismatch},
		},
		{
			name: "a repeated service is proposed once",
			cands: []policy.Candidate{
				cand("rsv_a", nil, seen, 1000),
				cand("rsv_a", nil, seen, 1000),
				cand("rsv_b", nil, policy.History{Shown: 10}, 1000),
			},
			want: []string{"rsv_a", "rsv_b"},
		},
		{
			name:  "no candidates",
			cands: nil,
			want:  []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := lunch()
			if tt.amount != 0 {
				p.Amount = tt.amount
			}
			ds := policy.Decide(p, tt.cands, policy.Options{MaxProposals: tt.k, Now: now})
			if len(ds) != len(tt.cands) {
				t.Fatalf("%d decisions for %d candidates", len(ds), len(tt.cands))
			}
			for i, d := range ds {
				if d.ServiceID != tt.cands[i].Service.ID {
					t.Errorf("decision %d is for %s, want input order", i, d.ServiceID)
				}
			}
			got, codes := ranked(ds)
			if !slices.Equal(got, tt.want) {
				t.Errorf("proposed %v, want %v", got, tt.want)
			}
			for id, want := range tt.codes {
				if codes[id] != want {
					t.Errorf("%s: code %s, want %s", id, codes[id], want)
				}
			}
		})
	}
}

func TestDecideRepeatedServiceCodes(t *testing.T) {
	t.Parallel()
	c := policy.Candidate{Service: kakeibo("rsv_a"), History: seen}
	ds := policy.Decide(lunch(), []policy.Candidate{c, c}, policy.Options{})
	if !ds[0].Propose || ds[0].Rank != 1 || ds[1].Propose || ds[1].Reason.Code != policy.CodeNotInTopK || ds[1].Rank != 0 {
		t.Errorf("got %+v", ds)
	}
}

// TestDecideDeterministic shuffles the candidates: each service gets the
// same decision whatever the input order, and repeated calls agree.
func TestDecideDeterministic(t *testing.T) {
	t.Parallel()
	var cands []policy.Candidate
	for i, id := range []string{"rsv_a", "rsv_b", "rsv_c", "rsv_d", "rsv_e", "rsv_f"} {
		s := kakeibo(id)
		s.Floor = nil
		s.BaseThreshold = map[string]int64{"JPY": int64(1000 * (1 + i%3))}
		if i%2 == 0 {
			s.Categories = []string{"restaurants"}
		}
		cands = append(cands, policy.Candidate{Service: s, History: policy.History{Shown: 10, Selected: i % 4}})
	}
	o := policy.Options{MaxProposals: 3, Now: now}
	byID := func(ds []policy.Decision) map[string]policy.Decision {
		m := make(map[string]policy.Decision)
		for _, d := range ds {
			m[d.ServiceID] = d
		}
		return m
	}
	want := byID(policy.Decide(lunch(), cands, o))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		shuffled := slices.Clone(cands)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := byID(policy.Decide(lunch(), shuffled, o)); !reflect.DeepEqual(got, want) {
			t.Fatalf("decisions depend on input order:\n got %+v\nwant %+v", got, want)
		}
	}
}
