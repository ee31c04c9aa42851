package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
	"github.com/renkei/renkei/policy"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/store/storetest"
)

// proposed returns the ids of the services proposed on a payment's
// completion screen, in rank order.
func proposed(t tb, s *store.Store, userID, paymentID string) []string {
	t.Helper()
	v, err := s.Completion(context.Background(), userID, paymentID, "en")
	must(t, err)
	var ids []string
	for _, p := range v.Proposals {
		ids = append(ids, p.ServiceID)
	}
	return ids
}

func sameIDs(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestProposalsAmongManyServices: with 1,000 services registered before
// them, the newest services that fit a payment are proposed. Candidates
// come by relevance (the merchant's category, the currency, the user's
// history and links) through the candidate index, never the oldest first.
func TestProposalsAmongManyServices(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		// Each old service fails the payment on one count.
		for i := range 1000 {
			in := kakeiboInput()
			in.Name = fmt.Sprintf("Old %d", i)
			switch i % 5 {
			case 0:
				in.Policy.MerchantCategories = []string{"groceries"}
			case 1:
				in.Policy.BaseThreshold = map[string]int64{"USD": 100}
			case 2:
				in.Policy.BaseThreshold = map[string]int64{"JPY": 100_000} // a first-time threshold of ¥60,000
			case 3:
				in.Policy.MerchantCategories, in.Enabled = []string{"restaurants"}, false
			case 4:
				in.Policy.MerchantCategories, in.Scopes = []string{"restaurants"}, []string{renkei.ScopeMerchantName}
			}
			createService(t, s, in)
		}
		gin := kakeiboInput()
		gin.Name, gin.Policy.MerchantCategories = "Gourmet", []string{"restaurants"}
		gourmet := createService(t, s, gin)
		hin := kakeiboInput()
		hin.Name = "Habit" // every category, base ¥1,000: ¥600 for a user new to it
		habit := createService(t, s, hin)

		f := newFixture(t, s, 1_000_000) // Cafe Hikari: restaurants
		for i := range 3 {
			p, err := charge(t, s, f, 12_800)
			must(t, err)
			// The first time the category match ranks first; then the
			// user's taps lift Habit (the policy's business).
			if got := proposed(t, s, f.user.ID, p.ID); (i == 0 && !sameIDs(got, gourmet.ID, habit.ID)) ||
				(i > 0 && !sameIDs(got, gourmet.ID, habit.ID) && !sameIDs(got, habit.ID, gourmet.ID)) {
				t.Fatalf("¥12,800 at a restaurant, round %d: proposed %v, want Gourmet %s and Habit %s", i, got, gourmet.ID, habit.ID)
			}
			_, err = s.Select(ctx, f.user.ID, p.ID, renkei.SelectInput{ServiceID: habit.ID})
			must(t, err)
		}
		// A newer service every user is new to, cheap enough for ¥400.
		cin := kakeiboInput()
		cin.Name, cin.Policy.BaseThreshold = "Cheap", map[string]int64{"JPY": 100}
		cheap := createService(t, s, cin)
		// Three taps of three brought Habit's threshold to ¥360 for this
		// user, below what a newcomer gets (¥600): only the user's history
		// brings it into a ¥400 decision. Gourmet was left three times.
		p, err := charge(t, s, f, 400)
		must(t, err)
		if got := proposed(t, s, f.user.ID, p.ID); !sameIDs(got, habit.ID, cheap.ID) {
			t.Fatalf("¥400 after three taps on Habit: proposed %v, want Habit %s then Cheap %s", got, habit.ID, cheap.ID)
		}

		// A new user: the category match first, then the lowest threshold.
		g := newFixture(t, s, 100_000)
		p, err = charge(t, s, g, 12_800)
		must(t, err)
		if got := proposed(t, s, g.user.ID, p.ID); !sameIDs(got, gourmet.ID, cheap.ID) {
			t.Fatalf("a new user: proposed %v, want Gourmet %s then Cheap %s", got, gourmet.ID, cheap.ID)
		}
		// Changing a service's settings moves it in the index at once.
		gin.Policy.MerchantCategories = []string{"groceries"}
		_, err = s.UpdateRelatedService(ctx, gourmet.ID, gin)
		must(t, err)
		cin.Enabled = false
		_, err = s.UpdateRelatedService(ctx, cheap.ID, cin)
		must(t, err)
		h := newFixture(t, s, 100_000)
		p, err = charge(t, s, h, 12_800)
		must(t, err)
		if got := proposed(t, s, h.user.ID, p.ID); !sameIDs(got, habit.ID) {
			t.Fatalf("after Gourmet moved to groceries and Cheap was disabled: proposed %v, want Habit %s", got, habit.ID)
		}
	})
}

// TestCandidateIndexRebuiltOnOpen: services whose index rows are missing
// (registered before the index existed) are indexed when the store opens,
// so an upgraded database proposes them at once.
func TestCandidateIndexRebuiltOnOpen(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := storetest.DSN(t, engine)
			open := func() *store.Store {
				s, err := store.Open(ctx, dsn)
				must(t, err)
				t.Cleanup(func() { s.Close() })
				s.PayCode, s.ParsePayCode = emvco.NewPayCode, emvco.ParsePayCode
				return s
			}
			s := open()
			rs := createService(t, s, kakeiboInput())
			f := newFixture(t, s, 100_000)
			// Back to how a database looked before the index existed.
			const wipe = `DELETE FROM service_targets; UPDATE related_services SET targets_version = 0`
			if db := s.SQLDB(); db != nil {
				_, err := db.ExecContext(ctx, wipe)
				must(t, err)
			} else {
				_, err := s.PgxPool().Exec(ctx, wipe)
				must(t, err)
			}
			p, err := charge(t, s, f, 5000)
			must(t, err)
			if got := proposed(t, s, f.user.ID, p.ID); len(got) != 0 {
				t.Fatalf("proposed %v without index rows: the index is not what finds candidates", got)
			}
			s.Close()

			s = open()
			p, err = charge(t, s, f, 5000)
			must(t, err)
			if got := proposed(t, s, f.user.ID, p.ID); !sameIDs(got, rs.ID) {
				t.Fatalf("after reopening: proposed %v, want %s", got, rs.ID)
			}
		})
	}
}

// TestCandidatesLoseNothing: choosing candidates through the index loses
// no proposal. For users new to every service, what the store proposes is
// what the policy proposes when it is shown every registered service,
// over random services (categories, currencies, thresholds, floors,
// ceilings, scopes, enabled or not) and random payments.
func TestCandidatesLoseNothing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		rnd := rand.New(rand.NewPCG(7, uint64(len(t.Name()))))
		pick := func(xs ...int64) int64 { return xs[rnd.IntN(len(xs))] }
		cats := []string{"restaurants", "groceries", "books"}
		mccs := []string{"5814", "5411", "5942", "5999"}
		var all []policy.Candidate
		for round := range 30 {
			for range 1 + rnd.IntN(4) {
				in := kakeiboInput()
				in.Name = fmt.Sprintf("S%d", len(all))
				in.Policy.BaseThreshold = map[string]int64{}
				if rnd.IntN(5) > 0 {
					in.Policy.BaseThreshold["JPY"] = pick(0, 100, 500, 1000, 5000, 20_000)
				}
				if rnd.IntN(3) == 0 || len(in.Policy.BaseThreshold) == 0 {
					in.Policy.BaseThreshold["USD"] = 500
				}
				if rnd.IntN(3) == 0 {
					in.Policy.Floor = map[string]int64{"JPY": pick(0, 300, 3000)}
				}
				if rnd.IntN(3) == 0 {
					in.Policy.Ceiling = map[string]int64{"JPY": pick(200, 2000, 50_000)}
				}
				for _, cat := range cats {
					if rnd.IntN(3) == 0 {
						in.Policy.MerchantCategories = append(in.Policy.MerchantCategories, cat)
					}
				}
				in.Enabled = rnd.IntN(8) > 0
				if rnd.IntN(8) == 0 {
					in.Scopes = []string{renkei.ScopeMerchantName}
				}
				rs := createService(t, s, in)
				all = append(all, policy.Candidate{Service: policy.Service{ID: rs.ID, Name: rs.Name, Enabled: rs.Enabled,
					BaseThreshold: in.Policy.BaseThreshold, Floor: in.Policy.Floor, Ceiling: in.Policy.Ceiling,
					Categories: in.Policy.MerchantCategories, RequiredFields: []string{renkei.ScopeAmount}, Scopes: in.Scopes}})
			}
			u, _, err := s.CreateUser(ctx, renkei.CreateUser{Name: "New"})
			must(t, err)
			_, err = s.TopUp(ctx, renkei.TopUp{UserID: u.ID, Amount: 100_000, Currency: "JPY"})
			must(t, err)
			m, err := s.CreateMerchant(ctx, renkei.CreateMerchant{Name: "Shop", MCC: mccs[rnd.IntN(len(mccs))]})
			must(t, err)
			term, _, err := s.CreateTerminal(ctx, renkei.CreateTerminal{MerchantID: m.ID, Name: "Register"})
			must(t, err)
			amount := pick(50, 150, 400, 700, 1200, 3500, 12_800, 30_000)
			p, err := charge(t, s, fixture{u, m, term}, amount)
			must(t, err)

			var want []string
			ds := policy.Decide(policy.Payment{ID: p.ID, Amount: amount, Currency: "JPY", MerchantCategory: m.Category,
				Fields: renkei.AllScopes}, all, policy.Options{MaxProposals: store.MaxProposals, Now: c.now()})
			slices.SortFunc(ds, func(a, b policy.Decision) int { return a.Rank - b.Rank })
			for _, d := range ds {
				if d.Propose {
					want = append(want, d.ServiceID)
				}
			}
			if got := proposed(t, s, u.ID, p.ID); !sameIDs(got, want...) {
				t.Fatalf("round %d: ¥%d at %s among %d services: store proposed %v, the policy over all of them %v",
					round, amount, m.Category, len(all), got, want)
			}
		}
	})
}
