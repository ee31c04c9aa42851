package store

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
