package policy

import (
	"math"
	"slices"
	"strings"
	"time"
)

// DefaultMaxProposals is how many apps the completion screen offers when
// Options.MaxProposals is not set: two cards fit above the fold on a phone,
// and a third is rarely tapped.
const DefaultMaxProposals = 2

// recentWindow is how long after a selection a service still earns the
// recency bonus in the ranking.
const recentWindow = 30 * 24 * time.Hour

// Payment is what the policy needs of one completed payment.
type Payment struct {
	// ID identifies the payment; the policy only carries it.
	ID string `json:"id"`
	// Amount is in the currency's minor units (yen, cents).
	Amount int64 `json:"amount"`
	// Currency is an ISO 4217 code.
	Currency string `json:"currency"`
	// MerchantCategory is the category name derived from the merchant's
	// MCC, such as "restaurants" or "groceries".
	MerchantCategory string `json:"merchant_category"`
	// Fields are the payment-information fields this payment has and
	// could send: "amount", "merchant_name", "merchant_category", "time",
	// "method".
	Fields []string `json:"fields"`
}

// Service is a related service's proposal policy: what it wants proposed
// and what it may receive.
type Service struct {
	// ID identifies the service; it breaks ties in the ranking.
	ID string `json:"id"`
	// Name is the app's display name, used in reason sentences.
	Name string `json:"name"`
	// Enabled is false when the operator or the partner has switched the
	// service off.
	Enabled bool `json:"enabled"`
	// BaseThreshold is the partner's threshold per currency, in minor
	// units, before the user's history adjusts it. A currency that is
	// absent is one the service does not take.
	BaseThreshold map[string]int64 `json:"base_threshold"`
	// Floor bounds the personal threshold from below, per currency. A
	// currency that is absent gets BaseThreshold/4.
	Floor map[string]int64 `json:"floor,omitempty"`
	// Ceiling bounds the personal threshold from above, per currency. A
	// currency that is absent gets BaseThreshold*32, the largest back-off.
	Ceiling map[string]int64 `json:"ceiling,omitempty"`
	// Categories are the merchant categories the service is about; empty
	// means all of them.
	Categories []string `json:"categories,omitempty"`
	// RequiredFields are the payment fields the service cannot work
	// without; its Scopes must cover them and the payment must have them.
	RequiredFields []string `json:"required_fields,omitempty"`
	// Scopes are the payment fields the service may receive.
	Scopes []string `json:"scopes,omitempty"`
}

// History is one user's use of one service over a recent window (the
// engine counts, say, 90 days). Only Shown, Selected, DismissStreak and
// LastSelected enter the policy; the other counts are carried so that one
// record serves the engine and the screen.
type History struct {
	// Shown counts proposals of the service to this user.
	Shown int `json:"shown"`
	// Selected counts proposals the user tapped.
	Selected int `json:"selected"`
	// Dismissed counts proposals the user closed.
	Dismissed int `json:"dismissed"`
	// Ignored counts proposals the user left without a tap or a close.
	Ignored int `json:"ignored"`
	// DismissStreak counts dismissals and ignores since the last
	// selection: it is what backs the threshold off.
	DismissStreak int `json:"dismiss_streak"`
	// Sent counts payments delivered to the service.
	Sent int `json:"sent"`
	// SentAmount sums the delivered payments, in minor units.
	SentAmount int64 `json:"sent_amount"`
	// LastSelected is the time of the last selection; zero if never.
	LastSelected time.Time `json:"last_selected"`
}

// Link is the user's standing consent to a service, as far as the policy
// needs it.
type Link struct {
	// Active is true while the link is in force.
	Active bool `json:"active"`
	// Auto is true when the user chose "send every payment
	// automatically": the service gets the payment without a proposal.
	Auto bool `json:"auto"`
	// Revoked is true once the user has unlinked the service.
	Revoked bool `json:"revoked"`
}

// Candidate is one related service that could be proposed for a payment,
// with what the engine knows of this user and this payment there.
type Candidate struct {
	// Service is the service's policy.
	Service Service `json:"service"`
	// History is the user's use of the service.
	History History `json:"history"`
	// Link is the user's link to the service; nil if never linked.
	Link *Link `json:"link,omitempty"`
	// AlreadySent is true when a delivery of this payment to this
	// service exists or is queued.
	AlreadySent bool `json:"already_sent"`
}

// Options tune one call of Decide.
type Options struct {
	// MaxProposals is K, the most apps proposed; zero or less means
	// DefaultMaxProposals.
	MaxProposals int `json:"max_proposals"`
	// Now is the time of the decision, for the recency bonus. The policy
	// never reads the clock; a zero Now gives no recency bonus.
	Now time.Time `json:"now"`
}

// Decision is the policy's answer for one candidate.
type Decision struct {
	// ServiceID is the candidate's Service.ID.
	ServiceID string `json:"service_id"`
	// Propose is true when the app is offered on the completion screen.
	Propose bool `json:"propose"`
	// Rank orders the proposed apps, 1 first; 0 when not proposed.
	Rank int `json:"rank"`
	// Threshold is the personal threshold the payment was compared with,
	// in minor units; 0 when a necessity check stopped the decision first.
	Threshold int64 `json:"threshold"`
	// Score is the ranking score of a candidate that passed every check;
	// 0 otherwise.
	Score float64 `json:"score"`
	// Reason says why, for machines (Reason.Code) and people (Reason.Text).
	Reason Reason `json:"reason"`
}

// Decide chooses which candidates to propose for payment p and says why
// for each one. It returns one Decision per candidate, in the order of
// cands; Rank gives the order on the screen.
//
// Each candidate goes through three stages, and the first that fails gives
// its reason:
//
//  1. Necessity (is a proposal needed and allowed at all), in this order:
//     service_disabled, link_revoked, auto_link, already_sent,
//     scope_mismatch, currency_not_supported, category_mismatch.
//  2. Condition: the amount must be at or above the personal threshold
//     (see Threshold), else below_threshold.
//  3. Ranking: the remaining candidates are scored (see the package
//     documentation); the best K are proposed with over_threshold or
//     first_time, the rest get not_in_top_k.
//
// Candidates are expected to name distinct services; if a ServiceID
// repeats, only its best-ranked candidate can be proposed and the others
// get not_in_top_k, so the screen never shows one app twice.
func Decide(p Payment, cands []Candidate, o Options) []Decision {
	k := o.MaxProposals
	if k <= 0 {
		k = DefaultMaxProposals
	}
	ds := make([]Decision, len(cands))
	var eligible []int
	for i, c := range cands {
		ds[i] = decideOne(p, c, o.Now)
		if ds[i].Reason.Code == "" {
			eligible = append(eligible, i)
		}
	}
	// Stable, so a fully tied pair (same score, threshold and id) keeps
	// input order: the result depends on the input only.
	slices.SortStableFunc(eligible, func(a, b int) int {
		da, db := ds[a], ds[b]
		switch {
		case da.Score > db.Score:
			return -1
		case da.Score < db.Score:
			return 1
		case da.Threshold != db.Threshold:
			if da.Threshold < db.Threshold {
				return -1
			}
			return 1
		}
		return strings.Compare(da.ServiceID, db.ServiceID)
	})
	proposed := make(map[string]bool, k)
	rank := 0
	for _, i := range eligible {
		d := &ds[i]
		if rank >= k || proposed[d.ServiceID] {
			d.Reason.Code = CodeNotInTopK
			continue
		}
		rank++
		proposed[d.ServiceID] = true
		d.Propose = true
		d.Rank = rank
		d.Reason.Code = CodeOverThreshold
		if cands[i].History.Shown <= 0 {
			d.Reason.Code = CodeFirstTime
		}
	}
	return ds
}

// decideOne runs the necessity checks and the condition for one candidate.
// A candidate that passes both comes back with an empty Reason.Code and its
// score, for Decide to rank.
func decideOne(p Payment, c Candidate, now time.Time) Decision {
	s := c.Service
	d := Decision{
		ServiceID: s.ID,
		Reason: Reason{
			Service:  s.Name,
			Amount:   p.Amount,
			Currency: p.Currency,
		},
	}
	if d.Reason.Service == "" {
		d.Reason.Service = s.ID
	}
	fail := func(code Code) Decision {
		d.Reason.Code = code
		return d
	}
	switch {
	case !s.Enabled:
		return fail(CodeServiceDisabled)
	case c.Link != nil && c.Link.Revoked:
		return fail(CodeLinkRevoked)
	case c.Link != nil && c.Link.Active && c.Link.Auto:
		return fail(CodeAutoLink)
	case c.AlreadySent:
		return fail(CodeAlreadySent)
	}
	if missing := missingFields(s, p); len(missing) > 0 {
		d.Reason.Fields = missing
		return fail(CodeScopeMismatch)
	}
	t, ok := Threshold(s, c.History, p.Currency)
	if !ok {
		return fail(CodeCurrencyNotSupported)
	}
	explicit := slices.Contains(s.Categories, p.MerchantCategory)
	if len(s.Categories) > 0 && !explicit {
		d.Reason.Category = p.MerchantCategory
		return fail(CodeCategoryMismatch)
	}
	d.Threshold = t
	d.Reason.Threshold = t
	if p.Amount < t {
		return fail(CodeBelowThreshold)
	}
	d.Score = score(explicit, c.History, now, p.Amount, t)
	return d
}

// missingFields lists, in the order of RequiredFields and without repeats,
// the required fields that the service may not receive or the payment
// does not have.
func missingFields(s Service, p Payment) []string {
	var missing []string
	for _, f := range s.RequiredFields {
		if (!slices.Contains(s.Scopes, f) || !slices.Contains(p.Fields, f)) && !slices.Contains(missing, f) {
			missing = append(missing, f)
		}
	}
	return missing
}

// score ranks an eligible candidate; see the package documentation. The
// explicit float64 conversions stop the compiler from fusing a multiply
// and an add, so a score is the same on every architecture.
func score(explicit bool, h History, now time.Time, amount, threshold int64) float64 {
	var sc float64
	if explicit {
		sc = 1.0
	} else {
		sc = 0.3 // the service takes every category
	}
	sc += selectionRate(h)
	if !h.LastSelected.IsZero() && !now.IsZero() && now.Sub(h.LastSelected) <= recentWindow {
		sc += 0.2
	}
	return sc + overBonus(amount, threshold)
}

// overBonus rewards an amount well over the threshold, a little: 0.1 per
// doubling, at most 0.3, so it reorders close calls but never outweighs
// the category or the user's habits.
func overBonus(amount, threshold int64) float64 {
	switch {
	case amount <= 0 || amount <= threshold:
		return 0
	case threshold <= 0:
		return 0.3
	}
	return min(0.3, float64(0.1*math.Log2(float64(amount)/float64(threshold))))
}

// selectionRate is the smoothed share of proposals the user tapped,
// (Selected+1)/(Shown+2): a service never shown starts at one half, and a
// few taps do not make it look certain.
func selectionRate(h History) float64 {
	n, s := counts(h)
	return float64(s+1) / float64(n+2)
}

// counts returns Shown and Selected made sane: not negative, Selected not
// above Shown, and small enough that the arithmetic cannot overflow.
func counts(h History) (shown, selected int64) {
	const most = 1 << 40
	shown = min(max(int64(h.Shown), 0), most)
	selected = min(max(int64(h.Selected), 0), shown)
	return shown, selected
}
