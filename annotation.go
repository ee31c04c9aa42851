package renkei

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// PrefixAnnotation is the id prefix of annotations (ann_…).
const PrefixAnnotation = "ann_"

// EventPaymentAnnotated is the message (and event) of a memo or category
// the payer wrote on a payment after it was sent to a related service.
const EventPaymentAnnotated = "payment.annotated"

// AnnotateInput is a memo and category written after the fact: the whole
// input as it stands now, so an empty memo clears the memo.
type AnnotateInput struct {
	Memo     string `json:"memo" maxLength:"2000" doc:"The memo as it should read now; empty clears it."`
	Category string `json:"category,omitempty" maxLength:"100" doc:"One of the receiving service's categories; empty clears it."`
}

// Annotation is one edit of a payment's memo and category by its payer.
// It is sent, as payment.annotated with the payment's id, to every related
// service that received the payment and is still consented; DeliveryIDs
// are those messages.
type Annotation struct {
	ID          string    `json:"id"`
	PaymentID   string    `json:"payment_id"`
	Memo        string    `json:"memo"`
	Category    string    `json:"category,omitempty"`
	DeliveryIDs []string  `json:"delivery_ids"`
	CreatedAt   time.Time `json:"created_at"`
}

// PaymentNote is what the payer's payment page needs to edit the memo: the
// memo and category as they stand (the latest edit, else what was typed
// on the completion screen) and the services an edit would go to, with
// the input each one takes.
type PaymentNote struct {
	PaymentID string         `json:"payment_id"`
	Memo      string         `json:"memo"`
	Category  string         `json:"category,omitempty"`
	Services  []*ServiceCard `json:"services"`
}

// Delivery states of a selection's message, as the payer is told them.
const (
	// SelectionQueued: the message waits for its first attempt.
	SelectionQueued = "queued"
	// SelectionRetrying: an attempt failed; another follows by itself.
	SelectionRetrying = "retrying"
	// SelectionDelivered: the service answered 2xx.
	SelectionDelivered = "delivered"
	// SelectionFailed: every attempt failed; nothing follows by itself.
	SelectionFailed = "failed"
	// SelectionCanceled: an unlink stopped the message before it went.
	SelectionCanceled = "canceled"
)

// SelectionState is where the message of one tap stands: the truth the
// completion card shows after the tap, read from the delivery itself.
type SelectionState struct {
	SelectionID string     `json:"selection_id"`
	ServiceID   string     `json:"service_id"`
	DeliveryID  string     `json:"delivery_id,omitempty"`
	Status      string     `json:"status" enum:"queued,retrying,delivered,failed,canceled"`
	Attempts    int        `json:"attempts"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// Final is true when the state will not change by itself.
	Final bool `json:"final"`
}

// AnnotationService lets the payer edit what a related service knows of a
// payment after the fact, and follow the messages of their taps.
type AnnotationService interface {
	Annotate(ctx context.Context, userID, paymentID string, in AnnotateInput) (*Annotation, error)
	PaymentNote(ctx context.Context, userID, paymentID string) (*PaymentNote, error)
	SelectionStates(ctx context.Context, userID, paymentID string) ([]*SelectionState, error)
}

// Validate checks an edit before any service's own limits: text a person
// typed, within the API's bounds.
func (in *AnnotateInput) Validate() error {
	for _, f := range []struct{ loc, v string }{{"body.memo", in.Memo}, {"body.category", in.Category}} {
		if !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return Invalid(f.loc, "The text is not valid UTF-8 or contains a NUL character.")
		}
	}
	if len([]rune(in.Memo)) > 2000 {
		return Invalid("body.memo", "A memo has at most 2,000 characters.")
	}
	return nil
}
