package renkei

import (
	"context"
	"time"
)

// Principal kinds: who is calling decides what they may see.
const (
	KindUser     = "user"
	KindTerminal = "terminal"
	KindAdmin    = "admin"
	KindPartner  = "partner" // a related service reading its own deliveries and settings
)

// Principal is an authenticated caller.
type Principal struct {
	Kind       string
	ID         string // usr_…, ter_… or rsv_…; "admin" for the admin
	MerchantID string // for terminals
}

// AuthService turns bearer tokens into principals. Tokens are stored only
// as hashes.
type AuthService interface {
	Authenticate(ctx context.Context, token string) (*Principal, error)
	// EndLogin ends the browser login with this id (a logout) until it
	// would have expired anyway; LoginEnded says whether it was ended.
	EndLogin(ctx context.Context, id string, expires time.Time) error
	LoginEnded(ctx context.Context, id string) (bool, error)
}

type principalKey struct{}

// NewContextWithPrincipal returns ctx carrying the caller.
func NewContextWithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFromContext returns the caller, or nil.
func PrincipalFromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Idempotency carries an Idempotency-Key into a money-moving call. The store
// records the call's result under (Scope, Key) in the same transaction as
// its effect, so a retry replays the result instead of repeating the effect.
type Idempotency struct {
	Scope       string // the caller's identity: keys of two callers never collide
	Key         string
	RequestHash string // method, path and body: the same key with other parameters is refused
	// Replayed is set by the store when the result came from the record.
	Replayed bool
}

// IdempotencyTTL is how long keys are kept: Stripe keeps them 24 hours;
// we keep them twice that, so a retry a day later still replays.
const IdempotencyTTL = 48 * time.Hour

type idemKey struct{}

// NewContextWithIdempotency returns ctx carrying an idempotency key.
func NewContextWithIdempotency(ctx context.Context, i *Idempotency) context.Context {
	return context.WithValue(ctx, idemKey{}, i)
}

// IdempotencyFromContext returns the idempotency key of the call, or nil.
func IdempotencyFromContext(ctx context.Context) *Idempotency {
	i, _ := ctx.Value(idemKey{}).(*Idempotency)
	return i
}
