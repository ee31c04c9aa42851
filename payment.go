package renkei

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Payment statuses. A payment starts pending (merchant-presented QR) or is
// decided at once (consumer-presented code); a completed payment can later
// become partially_refunded or refunded.
const (
	PaymentPending           = "pending"
	PaymentCompleted         = "completed"
	PaymentFailed            = "failed"
	PaymentExpired           = "expired"
	PaymentPartiallyRefunded = "partially_refunded"
	PaymentRefunded          = "refunded"
)

// Payment flows, named after who presents the code.
const (
	FlowConsumerPresented = "consumer_presented" // the user shows a pay code, the terminal scans it
	FlowMerchantPresented = "merchant_presented" // the terminal shows a QR code, the user scans it
)

// MethodWalletBalance is the only payment method so far: the user's
// Renkei wallet. Card numbers never enter the system.
const MethodWalletBalance = "wallet_balance"

// Payment is one payment from a user to a merchant.
type Payment struct {
	ID             string        `json:"id"`
	Status         string        `json:"status"`
	Amount         int64         `json:"amount"`
	Currency       string        `json:"currency"`
	AmountRefunded int64         `json:"amount_refunded"`
	Flow           string        `json:"flow"`
	Method         string        `json:"method"`
	UserID         string        `json:"user_id,omitempty"`
	Merchant       PaymentParty  `json:"merchant"`
	TerminalID     string        `json:"terminal_id"`
	FailureCode    string        `json:"failure_code,omitempty"`
	FailureMessage string        `json:"failure_message,omitempty"`
	QRPayload      string        `json:"qr_payload,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	CompletedAt    *time.Time    `json:"completed_at,omitempty"`
	ExpiresAt      *time.Time    `json:"expires_at,omitempty"`
	Refunds        []*RefundLine `json:"refunds,omitempty"`
}

// PaymentParty is the merchant as a payment shows it.
type PaymentParty struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	CategoryCode string `json:"category_code"`
	Category     string `json:"category"`
}

// RefundLine is a refund as listed inside its payment.
type RefundLine struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	CreatedAt time.Time `json:"created_at"`
}

// Refundable is what may still be refunded.
func (p *Payment) Refundable() int64 {
	switch p.Status {
	case PaymentCompleted, PaymentPartiallyRefunded:
		return p.Amount - p.AmountRefunded
	}
	return 0
}

// Refund gives back part or all of a completed payment.
type Refund struct {
	ID        string    `json:"id"`
	PaymentID string    `json:"payment_id"`
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	Reason    string    `json:"reason,omitempty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

// RefundSucceeded is the status of every refund: a refund from a wallet
// balance either commits or does not exist.
const RefundSucceeded = "succeeded"

// PayCode is a one-time code that a user's app shows to a shop terminal.
type PayCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
	Currency  string    `json:"currency"`
}

// PayCodeTTL is how long a pay code can be charged. Short, because a code
// on a screen can be photographed.
const PayCodeTTL = 5 * time.Minute

// PaymentRequestTTL is how long a merchant-presented QR code can be paid.
const PaymentRequestTTL = 10 * time.Minute

// ChargeCode is a shop terminal charging a user's pay code.
type ChargeCode struct {
	TerminalID string `json:"-"`
	Code       string `json:"code" minLength:"1" maxLength:"64" doc:"The pay code the customer shows (spaces and hyphens allowed)."`
	Amount     int64  `json:"amount" minimum:"1" maximum:"100000000000" doc:"Integer minor units (yen for JPY)."`
	Currency   string `json:"currency,omitempty" pattern:"^[A-Z]{3}$" doc:"ISO 4217 code; JPY if left out."`
}

// Validate checks a ChargeCode request; the code's own format is checked
// by the caller's parser.
func (c *ChargeCode) Validate() error {
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if strings.TrimSpace(c.Code) == "" {
		return Invalid("body.code", "The pay code is missing.")
	}
	return ValidateAmount("body", c.Amount, c.Currency)
}

// CreatePaymentRequest is a shop terminal asking for a QR code to show.
type CreatePaymentRequest struct {
	TerminalID string `json:"-"`
	Amount     int64  `json:"amount" minimum:"1" maximum:"100000000000" doc:"Integer minor units (yen for JPY)."`
	Currency   string `json:"currency,omitempty" pattern:"^[A-Z]{3}$" doc:"ISO 4217 code; JPY if left out."`
}

// Validate checks a CreatePaymentRequest.
func (c *CreatePaymentRequest) Validate() error {
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	return ValidateAmount("body", c.Amount, c.Currency)
}

// CreateRefund asks to give back money. Amount 0 means what is left.
type CreateRefund struct {
	PaymentID string `json:"payment_id" maxLength:"64"`
	Amount    int64  `json:"amount,omitempty" minimum:"0" maximum:"100000000000" doc:"Minor units to refund; left out or 0 refunds what is left."`
	Reason    string `json:"reason,omitempty" maxLength:"200"`
}

// Validate checks a CreateRefund request.
func (c *CreateRefund) Validate() error {
	if !HasPrefix(c.PaymentID, PrefixPayment) {
		return Invalid("body.payment_id", "%q is not a payment id (pay_…).", c.PaymentID)
	}
	if c.Amount > MaxAmount {
		return TooLarge("body.amount")
	}
	if c.Amount < 0 {
		return Invalid("body.amount", "The refund amount must be positive, or left out to refund what is left.")
	}
	if len(c.Reason) > 200 {
		return Invalid("body.reason", "The reason may have at most 200 characters.")
	}
	return nil
}

// PaymentFilter selects payments for a list.
type PaymentFilter struct {
	UserID     string
	MerchantID string
	Page       Page
}

// PaymentService moves money between wallets and merchants.
type PaymentService interface {
	// NewPayCode issues a one-time code for the user to show at a shop.
	NewPayCode(ctx context.Context, userID, currency string) (*PayCode, error)
	// ChargeCode completes (or declines) a payment from a pay code.
	ChargeCode(ctx context.Context, req ChargeCode) (*Payment, error)
	// CreatePaymentRequest creates a pending payment with a QR payload.
	CreatePaymentRequest(ctx context.Context, req CreatePaymentRequest) (*Payment, error)
	// ResolveQR shows the user what a scanned QR payload would pay.
	ResolveQR(ctx context.Context, userID, payload string) (*Payment, error)
	// ConfirmQR pays a scanned QR payload from the user's wallet.
	ConfirmQR(ctx context.Context, userID, payload string) (*Payment, error)
	FindPayment(ctx context.Context, id string) (*Payment, error)
	ListPayments(ctx context.Context, f PaymentFilter) ([]*Payment, bool, error)
	CreateRefund(ctx context.Context, req CreateRefund) (*Refund, error)
	FindRefund(ctx context.Context, id string) (*Refund, error)
	// ExpirePayments moves pending payments past their time to expired.
	ExpirePayments(ctx context.Context) (int, error)
}

// Event types.
const (
	EventPaymentCreated   = "payment.created"
	EventPaymentCompleted = "payment.completed"
	EventPaymentFailed    = "payment.failed"
	EventPaymentExpired   = "payment.expired"
	EventPaymentRefunded  = "payment.refunded"
	EventWalletToppedUp   = "wallet.topped_up"
	// EventStatementLine is the payee side's later record of a payment.
	EventStatementLine = "statement.line"
	// EventLinkRevoked tells a related service that the user ended their
	// link: the last message of that link, sent after the revocation.
	EventLinkRevoked = "link.revoked"
)

// Event is an immutable record of one state change, written in the same
// transaction as the change. Data is the object after the change.
type Event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	ObjectID   string          `json:"object_id"`
	UserID     string          `json:"user_id,omitempty"`
	MerchantID string          `json:"merchant_id,omitempty"`
	Data       json.RawMessage `json:"data"`
	CreatedAt  time.Time       `json:"created_at"`
}

// EventFilter selects events for a list.
type EventFilter struct {
	ObjectID string
	Type     string
	Page     Page
}

// EventService reads the event log.
type EventService interface {
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, bool, error)
}
