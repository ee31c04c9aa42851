package partner

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Message types Renkei sends. A Handler hands types it does not know to
// OnOther, or answers 200 and drops them, so that a partner on an older SDK
// never blocks messages of a newer Renkei.
const (
	// TypePaymentCompleted: a payment completed and the user chose this
	// service (a tap on the completion screen) or has an automatic link.
	TypePaymentCompleted = "payment.completed"
	// TypePaymentRefunded: a payment this service received was refunded,
	// in part or in full.
	TypePaymentRefunded = "payment.refunded"
	// TypeStatementLine: the payee's later statement record of a payment,
	// carrying the same payment_id as the real-time payment.completed, so
	// the partner can reconcile the two and count the payment once.
	TypeStatementLine = "statement.line"
	// TypeLinkRevoked: the user ended their link to this service; forget
	// or archive what the link gave you as your privacy policy says.
	TypeLinkRevoked = "link.revoked"
	// TypePaymentAnnotated: the payer changed the memo or category of a
	// payment this service received, after the fact. Same payment_id.
	TypePaymentAnnotated = "payment.annotated"
)

// Sources: why Renkei sent a message (PaymentInfo.Source).
const (
	// SourceSelection: the user tapped this service on the completion
	// screen; the tap is the consent to send this one payment.
	SourceSelection = "selection"
	// SourceLink: the user has a standing automatic link to this service.
	SourceLink = "link"
	// SourceStatement: the payee's later statement feed.
	SourceStatement = "statement"
)

// Event is one message as received: the envelope of the JSON body plus
// what the Standard Webhooks headers said about it.
//
// The struct mirrors Renkei's wire format, which within one Version only
// grows new optional fields; fields this package does not know are ignored
// when decoding, never an error.
type Event struct {
	// ID is the webhook-id header (msg_…): the same on every retry and
	// replay of one message, so it is the key to deduplicate on.
	ID string `json:"-"`
	// Type is the message type, e.g. TypePaymentCompleted.
	Type string `json:"type"`
	// Version is the version of the body format (a date, e.g.
	// "2026-11-25").
	Version string `json:"version"`
	// Timestamp is when Renkei created the message (its cause's time, to
	// the second); it stays the same on retries.
	Timestamp time.Time `json:"timestamp"`
	// Data is the type's payload as received; the typed callbacks of
	// Handler receive it decoded.
	Data json.RawMessage `json:"data"`
	// SignedAt is the webhook-timestamp header: when this attempt was
	// signed. It changes on every retry.
	SignedAt time.Time `json:"-"`
}

// PaymentInfo is the payment information one service may see. Fields
// outside the service's scopes are left out of the message and stay zero
// here (nil for the pointers), never a made-up value.
type PaymentInfo struct {
	// PaymentID is Renkei's payment id (pay_…): the key that ties a
	// payment.completed, its payment.refunded and its statement.line
	// together.
	PaymentID string `json:"payment_id"`
	// Amount is in minor units of Currency (yen for JPY, cents for USD);
	// nil without the amount scope. In a payment.refunded it is the
	// refunded amount.
	Amount *int64 `json:"amount,omitempty"`
	// Currency is the ISO 4217 code, present with Amount.
	Currency string `json:"currency,omitempty"`
	// CompletedAt is when the payment completed; nil without the time
	// scope.
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Merchant is nil without the merchant_name and merchant_category
	// scopes; with only one of them, the other's fields are empty.
	Merchant *Merchant `json:"merchant,omitempty"`
	// Method is how the user paid (e.g. "wallet_balance"), never a card
	// number; empty without the method scope.
	Method string `json:"method,omitempty"`
	// User is a pairwise pseudonymous id of the payer for this service
	// only: stable across messages, useless to anyone else.
	User string `json:"user"`
	// Sequence grows by one per message in the (user, service) stream, so
	// a gap tells you a message is still on its way.
	Sequence int64 `json:"sequence"`
	// Source is SourceSelection, SourceLink or SourceStatement.
	Source string `json:"source"`
}

// Merchant is the merchant part of the payment information.
type Merchant struct {
	Name         string `json:"name,omitempty"`
	CategoryCode string `json:"category_code,omitempty"` // ISO 18245 MCC, e.g. "5814"
	Category     string `json:"category,omitempty"`      // e.g. "restaurants"
}

// Input is what the user typed on the completion screen for this service.
type Input struct {
	Memo     string `json:"memo,omitempty"`
	Category string `json:"category,omitempty"`
}

// PaymentCompleted is the data of a payment.completed message.
type PaymentCompleted struct {
	PaymentInfo
	// Input is present only when the user typed a memo or picked a
	// category on the completion screen.
	Input *Input `json:"input,omitempty"`
}

// PaymentRefunded is the data of a payment.refunded message. PaymentID is
// the original payment's; Amount is the refunded amount, which may be less
// than the payment's.
type PaymentRefunded struct {
	PaymentInfo
	// RefundID identifies the refund (a payment may be refunded in parts).
	RefundID string `json:"refund_id"`
	// RefundedAt is when the refund was made; nil without the time scope.
	RefundedAt *time.Time `json:"refunded_at,omitempty"`
}

// StatementLine is the data of a statement.line message: the payee side's
// batched record of a payment. Its PaymentID is the one a payment.completed
// carried, if the user sent that payment in real time; book the payment
// once and keep the memo from the real-time message.
type StatementLine struct {
	PaymentInfo
	// StatementID names the payee's statement the line belongs to.
	StatementID string `json:"statement_id"`
}

// PaymentAnnotated is the data of a payment.annotated message: the payer
// edited, in their wallet, the memo or category of a payment this service
// received before (by a tap or a link). It carries the payment's id and
// the input as it stands now, nothing else of the payment: replace the
// memo and category you keep for PaymentID with Input. A field left out is
// now empty (the payer cleared it). Within one (user, service) stream a
// higher Sequence is the later edit, so one arriving after a newer one
// (a retry) can be dropped.
type PaymentAnnotated struct {
	// PaymentID is the payment whose memo changed, the same id its
	// payment.completed carried.
	PaymentID string `json:"payment_id"`
	// User is the payer's pseudonym for this service.
	User string `json:"user"`
	// Input is the memo and category as they stand now.
	Input Input `json:"input"`
	// Sequence is this message's place in the (user, service) stream.
	Sequence int64 `json:"sequence"`
	// Source is how the service received the payment: SourceSelection
	// or SourceLink.
	Source string `json:"source"`
}

// LinkRevoked is the data of a link.revoked message.
type LinkRevoked struct {
	// User is the pseudonymous id whose link ended.
	User string `json:"user"`
	// RevokedAt is when the user unlinked, if Renkei says.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// LinkID is the link that ended.
	LinkID string `json:"link_id,omitempty"`
	// Sequence is the message's place in the user's stream: the last.
	Sequence int64 `json:"sequence,omitempty"`
	// Source is "link".
	Source string `json:"source,omitempty"`
}

// errMalformed marks a body that is not the message format; the Handler
// answers 400 for it.
var errMalformed = errors.New("malformed message")

// ParseEvent decodes a message body (the envelope, not its typed data).
// It does not check a signature: use it on bodies that came to you another
// way, such as Delivery.Body from the partner API.
func ParseEvent(body []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("%w: body is not a JSON message: %s", errMalformed, jsonReason(err))
	}
	if ev.Type == "" {
		return nil, fmt.Errorf("%w: body has no type", errMalformed)
	}
	if len(ev.Data) == 0 || string(ev.Data) == "null" {
		return nil, fmt.Errorf("%w: %s message has no data", errMalformed, ev.Type)
	}
	return &ev, nil
}

// decodeData decodes an event's data into v and checks the ids that every
// message of its kind carries.
func decodeData(ev *Event, v any) error {
	if err := json.Unmarshal(ev.Data, v); err != nil {
		return fmt.Errorf("%w: %s data: %s", errMalformed, ev.Type, jsonReason(err))
	}
	var pay *PaymentInfo
	switch d := v.(type) {
	case *PaymentCompleted:
		pay = &d.PaymentInfo
	case *PaymentRefunded:
		pay = &d.PaymentInfo
		if d.RefundID == "" {
			return fmt.Errorf("%w: %s data has no refund_id", errMalformed, ev.Type)
		}
	case *StatementLine:
		pay = &d.PaymentInfo
	case *PaymentAnnotated:
		if d.PaymentID == "" {
			return fmt.Errorf("%w: %s data has no payment_id", errMalformed, ev.Type)
		}
	}
	if pay != nil && pay.PaymentID == "" {
		return fmt.Errorf("%w: %s data has no payment_id", errMalformed, ev.Type)
	}
	return nil
}

// wireField turns encoding/json's field path into the wire name: it drops
// the Go names of embedded structs (PaymentInfo.amount is data.amount).
func wireField(path string) string {
	var parts []string
	for _, p := range strings.Split(path, ".") {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// jsonReason describes a decoding error without quoting the input, so that
// logging it never copies a body into the log.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if f := wireField(typ.Field); f != "" {
			return fmt.Sprintf("field %s should be %s, not a JSON %s", f, typ.Type, typ.Value)
		}
		return fmt.Sprintf("should be %s, not a JSON %s", typ.Type, typ.Value)
	case err.Error() == "unexpected end of JSON input":
		return "JSON ends too early"
	}
	return "invalid JSON"
}
