package partner

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DedupStore remembers which messages were processed, so that a Handler
// runs its callback once per message id although Renkei delivers at least
// once (it retries until it gets a 2xx, and a partner may replay).
//
// The protocol per message: Begin claims the id; after the callback
// succeeded Commit marks it done for good; after it failed Abort releases
// the claim so that Renkei's retry runs the callback again.
//
// Implementations must be safe for concurrent use, across processes if the
// partner runs several. A claim that is neither committed nor aborted (the
// process crashed) should expire after a lease, so the message is not stuck.
// The Handler calls all three with a context carrying the delivery's claim
// token (ClaimToken).
type DedupStore interface {
	// Begin claims id. It returns done=true if id was committed before
	// (the caller must not run the callback again), ErrInProgress if
	// another worker holds a live claim, or nil with done=false when the
	// caller now holds the claim and must end it with Commit or Abort.
	Begin(ctx context.Context, id string) (done bool, err error)
	// Commit marks id done. Committing an id that is already done is not
	// an error.
	Commit(ctx context.Context, id string) error
	// Abort releases the caller's claim on id, leaving a done id done.
	Abort(ctx context.Context, id string) error
}

// DefaultLease is how long a claim lives before another worker may take it
// over: longer than a Handler's default Timeout, so that a claim is only
// taken from a worker that is surely gone.
const DefaultLease = 2 * time.Minute

var (
	// ErrInProgress is returned by Begin while another worker holds a
	// live claim on the id.
	ErrInProgress = errors.New("message is being processed by another request")
	// ErrClaimLost is returned by SQLDedup.CommitTx when the caller's
	// claim expired and another worker took the message over (or finished
	// it): roll back, the other worker's result counts.
	ErrClaimLost = errors.New("claim on message lost: it was taken over after the lease expired")
	// ErrAlreadyDone is returned by SQLDedup.CommitTx, outside a Handler,
	// when the id was committed before: roll back, it was booked already.
	ErrAlreadyDone = errors.New("message was already processed")
)

// claimKey is the context key of the claim token a Handler puts on the
// context of one delivery: stores use it to tell their own claim from a
// claim that took theirs over.
type claimKey struct{}

// withClaim returns ctx carrying a claim token.
func withClaim(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, claimKey{}, token)
}

// ClaimToken returns the token a Handler put on the context of one
// delivery, and whether there is one. A DedupStore of your own records it
// with the claim in Begin and checks it in Abort, so that a worker whose
// lease ran out never releases the claim of the worker that took over.
func ClaimToken(ctx context.Context) (token string, ok bool) {
	t, ok := ctx.Value(claimKey{}).(string)
	return t, ok && t != ""
}

// claimOf is ClaimToken.
func claimOf(ctx context.Context) (string, bool) { return ClaimToken(ctx) }

// MemoryDedup is a DedupStore in memory: right for tests, one process and
// messages whose double processing would be harmless after a restart, since
// it forgets everything when the process ends. Use SQLDedup otherwise.
type MemoryDedup struct {
	// Lease is how long a claim lives (DefaultLease when zero).
	Lease time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu sync.Mutex
	m  map[string]*memEntry
}

type memEntry struct {
	done      bool
	owner     string
	claimedAt time.Time
	doneAt    time.Time
}

// NewMemoryDedup returns an empty in-memory DedupStore.
func NewMemoryDedup() *MemoryDedup {
	return &MemoryDedup{m: make(map[string]*memEntry)}
}

func (d *MemoryDedup) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *MemoryDedup) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return DefaultLease
}

// Begin implements DedupStore.
func (d *MemoryDedup) Begin(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	owner, _ := claimOf(ctx)
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]*memEntry)
	}
	e := d.m[id]
	switch {
	case e == nil:
		d.m[id] = &memEntry{owner: owner, claimedAt: now}
		return false, nil
	case e.done:
		return true, nil
	case now.Sub(e.claimedAt) < d.lease():
		return false, ErrInProgress
	}
	e.owner, e.claimedAt = owner, now // the holder is gone: take over
	return false, nil
}

// Commit implements DedupStore.
func (d *MemoryDedup) Commit(ctx context.Context, id string) error {
	owner, _ := claimOf(ctx)
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]*memEntry)
	}
	e := d.m[id]
	if e == nil {
		e = &memEntry{claimedAt: now}
		d.m[id] = e
	}
	if !e.done {
		e.done, e.owner, e.doneAt = true, owner, now
	}
	return nil
}

// Abort implements DedupStore: it drops the caller's own claim (any claim
// when ctx carries none) and never a done id.
func (d *MemoryDedup) Abort(ctx context.Context, id string) error {
	owner, mine := claimOf(ctx)
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.m[id]; e != nil && !e.done && (!mine || e.owner == owner) {
		delete(d.m, id)
	}
	return nil
}

// Prune forgets ids committed before the given time and returns how many.
// Keep ids at least as long as Renkei may deliver them again: its retries
// end after about 33 hours, but a replay can resend any failed message.
func (d *MemoryDedup) Prune(_ context.Context, before time.Time) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for id, e := range d.m {
		if e.done && e.doneAt.Before(before) {
			delete(d.m, id)
			n++
		}
	}
	return n, nil
}
