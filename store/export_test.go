package store

import "runtime"

// HoldPipeline keeps the store's commit pipeline from starting a batch
// until release is called; queued says how many requests wait meanwhile.
// A test lines requests up with it so that they share one transaction.
func HoldPipeline(s *Store) (queued func() int, release func()) {
	p := s.pipe
	for {
		p.mu.Lock()
		if p.busy == 0 {
			p.busy = max(p.lanes, 1) // every lane
			p.mu.Unlock()
			break
		}
		p.mu.Unlock()
		runtime.Gosched()
	}
	queued = func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.queue)
	}
	return queued, func() {
		p.mu.Lock()
		p.busy = 1 // the lane next runs on
		p.mu.Unlock()
		go p.next()
	}
}

// SetAfterDecide makes fn run after each completion decision is made and
// before it is recorded, so a test can line up concurrent views.
func SetAfterDecide(s *Store, fn func(paymentID string)) { s.afterDecide = fn }

// Busy reports what the store holds of its database right now: the
// connections checked out of the pool, and on SQLite whether this process
// holds the writer.
func Busy(s *Store) (conns int, writer bool) {
	switch e := s.eng.(type) {
	case *sqliteEngine:
		if e.wmu.TryLock() {
			e.wmu.Unlock()
		} else {
			writer = true
		}
		return e.db.Stats().InUse, writer
	case *pgEngine:
		return int(e.pool.Stat().AcquiredConns()), false
	}
	return 0, false
}

// SetBeforeCommit makes fn run before each COMMIT of the store's pipeline.
func SetBeforeCommit(s *Store, fn func()) { s.beforeCommit = fn }

// WaitPipelineIdle returns once no batch runs and none waits: a request
// that failed is answered before its batch commits, so a test counting
// commits waits for this first.
func WaitPipelineIdle(s *Store) {
	p := s.pipe
	for {
		p.mu.Lock()
		idle := p.busy == 0 && len(p.queue) == 0
		p.mu.Unlock()
		if idle {
			return
		}
		runtime.Gosched()
	}
}
