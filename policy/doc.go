// Package policy is the proposal engine's decision logic: for one
// completed payment and the user's candidate related services, it decides
// which apps to propose on the payment-completion screen, and says why
// (claims 3, 4, 5 and 10 of MISSION.md). It does no I/O and never reads
// the clock: the same input always gives the same decisions, so it is
// tested with tables.
//
// # Decisions
//
// Decide checks each candidate in three stages; the first that fails gives
// the Reason.Code:
//
//  1. Necessity: is a proposal allowed and needed at all? service_disabled,
//     link_revoked, auto_link, already_sent, scope_mismatch,
//     currency_not_supported, category_mismatch, in that order.
//  2. Condition: the amount must be at or above the user's personal
//     threshold, else below_threshold.
//  3. Ranking: the K best (Options.MaxProposals, default 2) are proposed
//     with over_threshold, or first_time for a user never shown the
//     service; the rest get not_in_top_k.
//
// # Personal threshold
//
// A partner sets a base threshold per currency; the user's history with
// the service moves it (claim 5). With n = Shown, s = Selected and
// k = DismissStreak:
//
//	r = (s+1) / (n+2)            smoothed selection rate, 0.5 with no history
//	u = 1 − 0.8·r                use factor: frequent taps lower it, towards 0.2
//	b = 2^min(k, 5)              back-off: each miss in a row doubles it, at most 32×
//	t = clamp(round2(base·u·b), floor, ceiling)
//
// floor and ceiling are the service's for that currency, by default base/4
// (integer division) and base·32. round2 rounds half up to two significant
// figures of minor units (352.4 → 350, 12,345 → 12,000; below 100 to a
// whole unit), so the screen says "your ¥350 threshold", not "¥352". The
// arithmetic is exact: base·u·b = base·2^k·(5(n+2) − 4(s+1)) / (5(n+2)) is
// a ratio of integers. Rounding comes before the clamp, so a threshold at a
// bound is exactly the bound.
//
// Note the smoothing: a user with no history starts at 0.6·base, not at
// base. The base is where a user who is shown the app and rarely taps it
// ends up; a user who dismisses it goes above.
//
// Worked examples, base ¥1,000 (default floor ¥250, ceiling ¥32,000):
//
//	shown selected streak     r      u    b   base·u·b   threshold
//	    0        0      0  0.500  0.600    1      600.0   ¥600     new user
//	   20       18      0  0.864  0.309    1      309.1   ¥310     records most payments
//	   20       20      0  0.955  0.236    1      236.4   ¥250     floor (round2 gives ¥240)
//	   12        6      2  0.500  0.600    4    2,400.0   ¥2,400   two misses in a row
//	   25       18      5  0.704  0.437   32   13,985.2   ¥14,000  a regular, then five misses
//	    5        0      5  0.143  0.886   32   28,342.9   ¥28,000  dismissed five times
//	   60        0      9  0.016  0.987   32   31,587.1   ¥32,000  streak capped at 5; round2 meets the ceiling
//
// With a partner ceiling of ¥10,000 the "dismissed five times" user gets
// ¥10,000. In USD with a base of $10.00 (1,000 cents) the user who records
// most payments gets 309.1 → 310 cents, $3.10.
//
// # Ranking
//
// Candidates that pass every check are scored:
//
//	category   +1.0 if the service lists the merchant's category,
//	           +0.3 if it lists none (it takes every category)
//	habit      +r, the smoothed selection rate above (0..1)
//	recency    +0.2 if LastSelected is within 30 days before Options.Now
//	amount     +min(0.3, 0.1·log2(amount/threshold)), small: 0.1 a doubling
//
// Highest score first; ties go to the lower threshold, then to the lower
// ServiceID, so the order never depends on map or input order.
//
// # Money
//
// Amounts are int64 minor units with an ISO 4217 code, never floats.
// Reason.Text writes them as ¥12,800, ₩12,800, $12.80, €12.80, £12.80 and,
// for other codes, "12.80 CHF"; JPY, KRW and a few others have no minor
// digits, BHD, KWD and a few others three, the rest two.
package policy
