package policy

import (
	"math"
	"math/big"
)

// maxBackoff caps the dismissal streak that doubles the threshold: after
// five misses in a row the threshold is at most 32 times the base, which
// is also the default ceiling.
const maxBackoff = 5

// Threshold returns the personal threshold of one user (their History)
// for service s in currency, in minor units: the smallest amount for which
// the service is proposed. ok is false when s has no base threshold in
// that currency, meaning it does not take that currency.
//
// The formula, its rounding and a worked table are in the package
// documentation. The arithmetic is exact (integers and rationals, no
// floats), so the threshold is the same on every machine.
func Threshold(s Service, h History, currency string) (t int64, ok bool) {
	base, ok := s.BaseThreshold[currency]
	if !ok {
		return 0, false
	}
	base = max(base, 0)
	lo, hi := bounds(s, currency, base)
	return min(max(personal(base, h), lo), hi), true
}

// bounds returns the floor and ceiling of the threshold in currency: the
// service's own, else base/4 and base*32. Negative values count as zero,
// and a ceiling below the floor is raised to the floor, so a misconfigured
// service errs towards proposing less.
func bounds(s Service, currency string, base int64) (lo, hi int64) {
	lo, ok := s.Floor[currency]
	if !ok {
		lo = base / 4
	}
	hi, ok = s.Ceiling[currency]
	if !ok {
		hi = math.MaxInt64
		if base <= math.MaxInt64>>maxBackoff {
			hi = base << maxBackoff
		}
	}
	lo = max(lo, 0)
	hi = max(hi, lo)
	return lo, hi
}

// personal is the unclamped threshold base × u × b, rounded to two
// significant figures. With n = Shown, s = Selected, r = (s+1)/(n+2) and
// u = 1 − 4r/5:
//
//	base × u × b = base × 2^k × (5(n+2) − 4(s+1)) / (5(n+2))
//
// which is a ratio of integers, computed exactly with math/big.
func personal(base int64, h History) int64 {
	n, s := counts(h)
	k := uint(min(max(h.DismissStreak, 0), maxBackoff))

	den := big.NewInt(5 * (n + 2))
	num := big.NewInt(5*(n+2) - 4*(s+1)) // ≥ n+6 > 0 since s ≤ n
	num.Mul(num, big.NewInt(base))
	num.Lsh(num, k)
	return roundSig2(num, den)
}

// roundSig2 rounds num/den (both positive, or num zero) half up to two
// significant figures: 352.4 → 350, 12,345 → 12,000, 57 → 57. Thresholds
// are shown to people ("your ¥350 threshold"), and a round number reads
// as a rule where ¥352 reads as noise. The result saturates at MaxInt64.
func roundSig2(num, den *big.Int) int64 {
	// n0 = round(num/den) tells the magnitude.
	n0 := roundDiv(num, den, big.NewInt(1))
	if n0.Cmp(big.NewInt(100)) < 0 {
		return n0.Int64()
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(n0.String())-2)), nil)
	q := roundDiv(num, den, p)
	q.Mul(q, p)
	if !q.IsInt64() {
		return math.MaxInt64
	}
	return q.Int64()
}

// roundDiv returns round(num / (den × p)), halves rounded up.
func roundDiv(num, den, p *big.Int) *big.Int {
	d := new(big.Int).Mul(den, p)
	n := new(big.Int).Lsh(num, 1)
	n.Add(n, d)
	return n.Quo(n, d.Lsh(d, 1))
}
