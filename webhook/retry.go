package webhook

import (
	"math/rand/v2"
	"time"
)

// Schedule is how long attempt n waits before it is made: the first at once,
// then backing off over about 33 hours, which rides out a receiver's
// deploy, an outage and a night without anyone on call. After the last
// attempt the message has failed. It follows the spec's example schedule,
// cut at 8 attempts. Treat it as read-only.
var Schedule = []time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// jitter is the spread around each delay: ±20 %, so that messages that
// failed together (a receiver's outage) do not all come back in the same
// second and knock it over again.
const jitter = 0.2

// NextDelay returns how long to wait before attempt number attempt (0 for
// the first) and true, or false when all attempts in Schedule are used up
// and the message has failed. The delay is Schedule[attempt] scaled by a
// random factor in [0.8, 1.2); the first attempt is never delayed. rnd
// returns numbers in [0, 1), such as (*rand.Rand).Float64, so tests can fix
// it; nil uses math/rand/v2.
func NextDelay(attempt int, rnd func() float64) (time.Duration, bool) {
	if attempt < 0 || attempt >= len(Schedule) {
		return 0, false
	}
	d := Schedule[attempt]
	if d == 0 {
		return 0, true
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	f := rnd()
	if f < 0 || f >= 1 {
		f = 0.5 // a broken source gets no jitter rather than a wild delay
	}
	return time.Duration(float64(d) * (1 - jitter + 2*jitter*f)), true
}
