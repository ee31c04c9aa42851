package renkei

import (
	"context"
	"strings"
	"time"
)

// User is a wallet holder: the payer of the patent's user terminal.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// TimeZone is the IANA zone the user's pages show times in, whatever
	// their language; empty means the server's default (--time-zone).
	TimeZone string `json:"time_zone,omitempty"`
}

// ValidateTimeZone checks a user's time zone: empty (the server's
// default) or an IANA name the zone database knows, such as Asia/Tokyo.
func ValidateTimeZone(zone string) error {
	if zone == "" {
		return nil
	}
	if len(zone) > 64 || strings.ContainsAny(zone, " \\") || zone == "Local" {
		return Invalid("body.time_zone", "%q is not an IANA time zone name such as Asia/Tokyo or UTC.", zone)
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return Invalid("body.time_zone", "%q is not an IANA time zone name such as Asia/Tokyo or UTC.", zone)
	}
	return nil
}

// Wallet is a user's balance in one currency. The balance is kept in step
// with the ledger's postings inside the same transaction.
type Wallet struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Balance   Money     `json:"balance"`
	CreatedAt time.Time `json:"created_at"`
}

// Posting is one leg of a ledger transaction: a signed amount on one
// account. The postings of a transaction sum to zero per currency.
type Posting struct {
	ID        string    `json:"id"`
	TxnID     string    `json:"txn_id"`
	AccountID string    `json:"account_id"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"created_at"`
}

// Entry is a line of a wallet's history: one posting with what caused it.
type Entry struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"` // topup, payment, refund
	RefID     string    `json:"ref_id"`
	Amount    Money     `json:"amount"`
	Balance   int64     `json:"balance_after"`
	CreatedAt time.Time `json:"created_at"`
	// Counterparty is the merchant's name for payments and refunds.
	Counterparty string `json:"counterparty,omitempty"`
}

// CreateUser asks for a new wallet holder.
type CreateUser struct {
	Name string `json:"name" minLength:"1" maxLength:"100"`
}

// Validate checks a CreateUser request.
func (c *CreateUser) Validate() error {
	if c.Name == "" || len(c.Name) > 100 {
		return Invalid("body.name", "A user needs a name of 1 to 100 characters.")
	}
	return nil
}

// TopUp adds money to a user's wallet from outside the system (a bank
// transfer, a convenience-store charge, or the demo).
type TopUp struct {
	UserID   string `json:"user_id,omitempty" maxLength:"64" doc:"Whose wallet; a user topping up in demo mode may leave it out."`
	Amount   int64  `json:"amount" minimum:"1" maximum:"100000000000" doc:"Integer minor units (yen for JPY)."`
	Currency string `json:"currency,omitempty" pattern:"^[A-Z]{3}$" doc:"ISO 4217 code; JPY if left out."`
}

// Validate checks a TopUp request.
func (t *TopUp) Validate() error {
	if t.Currency == "" {
		t.Currency = DefaultCurrency
	}
	return ValidateAmount("body", t.Amount, t.Currency)
}

// UserService manages wallet holders and their money.
type UserService interface {
	CreateUser(ctx context.Context, req CreateUser) (*User, string, error) // returns the bearer token once
	// RotateUserToken replaces a user's bearer token and returns the new
	// one, once; the old token (and every login built on it) stops working.
	RotateUserToken(ctx context.Context, id string) (*User, string, error)
	FindUser(ctx context.Context, id string) (*User, error)
	// SetUserTimeZone sets the zone the user's pages show times in; ""
	// goes back to the server's default.
	SetUserTimeZone(ctx context.Context, userID, zone string) (*User, error)
	Wallets(ctx context.Context, userID string) ([]*Wallet, error)
	TopUp(ctx context.Context, req TopUp) (*Wallet, error)
	History(ctx context.Context, userID string, page Page) ([]*Entry, bool, error)
}

// Page asks for one page of a list: at most Limit items after the cursor.
type Page struct {
	Limit         int
	StartingAfter string
}

// Normalize applies the list defaults of CONVENTIONS.md.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = 20
	} else if p.Limit > 100 {
		p.Limit = 100
	}
	return p
}
