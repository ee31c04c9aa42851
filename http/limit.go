package http

import (
	"crypto/sha256"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter slows down guessing: bad tokens per client address, unknown pay
// codes per terminal, QR look-ups per user. Each key has a token bucket that
// failures drain; a full bucket refills in about a minute.
//
// Bad tokens have a second, global budget as well. Bearer tokens are 32
// random bytes, so no rate of guessing finds one; the budgets are there
// to keep a guesser from using the database as an oracle at full speed and
// to make a flood visible (429s), not because a token could be found. A
// per-address budget alone would be no bound: an attacker with many
// addresses (an IPv6 /48, a botnet) gets a fresh budget per address.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	every   time.Duration
	burst   int

	// failures is the budget of bad tokens from all addresses together.
	// While it is spent, tokens not seen valid lately are refused without
	// a look-up; known ones still are checked, so the flood does not lock
	// out the shops and wallets already at work.
	failures *rate.Limiter
	// known holds the hashes of tokens that authenticated lately, until
	// the given time.
	known map[[32]byte]time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// knownFor is how long a token that worked keeps passing a spent global
// budget; knownMax bounds the memory that takes.
const (
	knownFor = 24 * time.Hour
	knownMax = 100_000
)

// newLimiter makes the limiter; failuresPerMinute is the global budget of
// bad tokens (burst and refill per minute).
func newLimiter(failuresPerMinute int) *limiter {
	if failuresPerMinute <= 0 {
		failuresPerMinute = 600
	}
	return &limiter{buckets: map[string]*bucket{}, every: 6 * time.Second, burst: 10,
		failures: rate.NewLimiter(rate.Limit(float64(failuresPerMinute)/60), failuresPerMinute),
		known:    map[[32]byte]time.Time{}}
}

// allow reports whether key may go on. With spend it also takes a token:
// callers spend on failures only, so honest traffic is never slowed.
func (l *limiter) allow(key string, spend bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100_000 {
			l.sweep(now)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if spend {
		return b.lim.AllowN(now, 1)
	}
	return b.lim.TokensAt(now) >= 1
}

// sweep forgets keys idle long enough for their bucket to be full again.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) > time.Duration(l.burst)*l.every {
			delete(l.buckets, k)
		}
	}
}

// mayCheckToken reports whether token may be looked up: always while the
// global budget of bad tokens lasts, and afterwards only if it worked lately.
func (l *limiter) mayCheckToken(token string) bool {
	now := time.Now()
	if l.failures.TokensAt(now) >= 1 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.known[sha256.Sum256([]byte(token))]
	return ok && now.Before(until)
}

// tokenFailed counts a bad token from the client key against both budgets
// and reports whether that client was still within its own.
func (l *limiter) tokenFailed(key string) bool {
	l.failures.Allow()
	return l.allow(key, true)
}

// tokenWorked remembers a token that authenticated, so it still passes
// while a flood of bad tokens has spent the global budget.
func (l *limiter) tokenWorked(token string) {
	now := time.Now()
	h := sha256.Sum256([]byte(token))
	l.mu.Lock()
	defer l.mu.Unlock()
	if until, ok := l.known[h]; ok && until.Sub(now) > knownFor-time.Minute {
		return // refreshed within the last minute
	}
	if len(l.known) >= knownMax {
		for k, until := range l.known {
			if now.After(until) {
				delete(l.known, k)
			}
		}
		if len(l.known) >= knownMax {
			return // full of live entries: the token is still checked while the budget lasts
		}
	}
	l.known[h] = now.Add(knownFor)
}
