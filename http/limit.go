package http

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter slows down guessing: bad tokens per address, unknown pay codes
// per terminal, QR look-ups per user. Each key has a token bucket that
// failures drain; a full bucket refills in about a minute.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	every   time.Duration
	burst   int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter() *limiter {
	return &limiter{buckets: map[string]*bucket{}, every: 6 * time.Second, burst: 10}
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
