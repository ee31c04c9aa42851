package delivery

import (
	"context"
	"log/slog"
	"sync"
)

// group makes the calls that workers make at the same moment into one:
// the first call runs at once, and the calls that arrive while it runs
// wait and then run together, up to max at a time. Under load one round
// trip serves many deliveries; when idle a call costs what it did alone.
// fn answers a group in order; if it fails for a group of several, each
// call is tried alone, so one bad call does not fail the others.
type group[Q, R any] struct {
	name string
	max  int
	fn   func(ctx context.Context, qs []Q) ([]R, error)
	log  *slog.Logger

	mu   sync.RWMutex
	on   bool
	reqs chan groupReq[Q, R]
	done chan struct{}
}

type groupReq[Q, R any] struct {
	q   Q
	res chan groupRes[R]
}

type groupRes[R any] struct {
	r   R
	err error
}

// start runs the gathering goroutine until stop.
func (g *group[Q, R]) start() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.on {
		return
	}
	g.on, g.reqs, g.done = true, make(chan groupReq[Q, R], g.max), make(chan struct{})
	go g.loop(g.reqs, g.done)
}

// stop answers what was handed over and ends the goroutine; later calls
// run alone.
func (g *group[Q, R]) stop() {
	g.mu.Lock()
	on, done := g.on, g.done
	if on {
		g.on = false
		close(g.reqs)
	}
	g.mu.Unlock()
	if on {
		<-done
	}
}

// do makes one call, in a group when the goroutine runs.
func (g *group[Q, R]) do(ctx context.Context, q Q) (R, error) {
	g.mu.RLock()
	if !g.on {
		g.mu.RUnlock()
		return g.one(ctx, q)
	}
	req := groupReq[Q, R]{q: q, res: make(chan groupRes[R], 1)}
	g.reqs <- req // the loop drains the channel until stop closes it
	g.mu.RUnlock()
	res := <-req.res
	return res.r, res.err
}

func (g *group[Q, R]) one(ctx context.Context, q Q) (R, error) {
	rs, err := g.fn(ctx, []Q{q})
	if err != nil {
		var zero R
		return zero, err
	}
	return rs[0], nil
}

func (g *group[Q, R]) loop(reqs <-chan groupReq[Q, R], done chan<- struct{}) {
	defer close(done)
	ctx := context.Background()
	batch := make([]groupReq[Q, R], 0, g.max)
	qs := make([]Q, 0, g.max)
	for first := range reqs {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < g.max {
			select {
			case r, ok := <-reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		qs = qs[:0]
		for _, r := range batch {
			qs = append(qs, r.q)
		}
		rs, err := g.fn(ctx, qs)
		if err != nil && len(batch) > 1 {
			g.log.Warn("grouped call failed; making the calls one by one", "call", g.name, "calls", len(batch), "err", err)
			for _, r := range batch {
				v, err := g.one(ctx, r.q)
				r.res <- groupRes[R]{v, err}
			}
			continue
		}
		for i, r := range batch {
			var v R
			if err == nil {
				v = rs[i]
			}
			r.res <- groupRes[R]{v, err}
		}
	}
}
