package renkei

import (
	"errors"
	"fmt"
)

// Error codes. They are few on purpose: each maps to one HTTP status in the
// http package, and callers branch on them rather than on error strings.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EDECLINED     = "payment_declined"
	ERATELIMIT    = "rate_limited"
	EINTERNAL     = "internal"
)

// Error is the one error type of the domain. Message is safe to show a
// person; Reason is a stable machine code within Code (for instance
// "insufficient_balance" under EDECLINED); Fields names the inputs at fault.
type Error struct {
	Code    string
	Reason  string
	Message string
	// Params are the values the reason's sentence names (a service's
	// name, a limit), so that each language can say it from Reason and
	// Params: a page never has to recognise the English Message.
	Params map[string]string
	Fields []FieldError
	// PaymentID is set when a declined payment was recorded, so the caller
	// can still find the failed payment.
	PaymentID string
}

// FieldError points at one input that failed validation.
type FieldError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("renkei error: code=%s reason=%s message=%s", e.Code, e.Reason, e.Message)
	}
	return fmt.Sprintf("renkei error: code=%s message=%s", e.Code, e.Message)
}

// ErrorCode returns the code of a domain error, EINTERNAL for any other
// error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the person-readable message of a domain error and a
// generic sentence for anything else, so internals never reach a user.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Errorf builds a domain error with a code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Declined builds the error of a payment that was refused for a business
// reason (insufficient balance, expired code…).
func Declined(reason, format string, args ...any) *Error {
	return &Error{Code: EDECLINED, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// With sets the error's reason and its parameters, given as name, value
// pairs, and returns the error: renkei.Invalid(…).With(ReasonMemoTooLong,
// "service", name, "max", "20", "length", "21").
func (e *Error) With(reason string, params ...string) *Error {
	e.Reason = reason
	if len(params) > 1 {
		e.Params = make(map[string]string, len(params)/2)
		for i := 0; i+1 < len(params); i += 2 {
			e.Params[params[i]] = params[i+1]
		}
	}
	return e
}

// Invalid builds a validation error naming one field.
func Invalid(location, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: msg, Fields: []FieldError{{Location: location, Message: msg}}}
}

// Decline reasons, stable strings that API clients can branch on.
const (
	ReasonInsufficientBalance = "insufficient_balance"
	ReasonCodeExpired         = "code_expired"
	ReasonCodeUsed            = "code_already_used"
	ReasonCurrencyMismatch    = "currency_mismatch"
	ReasonMerchantDisabled    = "merchant_disabled"
	ReasonRequestExpired      = "payment_request_expired"
)

// Reasons of refused requests, stable strings within the error codes
// (the API's problem "code"); each has a sentence in every language of
// the pages, with the Params named in its comment.
const (
	// ReasonUnknownPayCode (invalid): no such pay code.
	ReasonUnknownPayCode = "unknown_pay_code"
	// ReasonIdempotencyKeyReused (conflict): the key was used with other
	// parameters.
	ReasonIdempotencyKeyReused = "idempotency_key_reused"
	// ReasonNotProposed (invalid): the app was not proposed for the
	// payment, so it cannot be chosen or dismissed.
	ReasonNotProposed = "not_proposed"
	// ReasonAlreadySelected (conflict): the user already chose the app for
	// the payment.
	ReasonAlreadySelected = "already_selected"
	// ReasonPaymentNotSendable (conflict): only a completed payment can be
	// sent to an app. Params: status.
	ReasonPaymentNotSendable = "payment_not_sendable"
	// ReasonServiceUnavailable (conflict): the service is switched off.
	// Params: service.
	ReasonServiceUnavailable = "service_unavailable"
	// ReasonAlreadySent (conflict): the related service already has the
	// payment, so sending it again is not needed (claim 10). Params:
	// service.
	ReasonAlreadySent = "already_sent"
	// ReasonMemoNotAccepted (invalid): the service takes no memo. Params:
	// service.
	ReasonMemoNotAccepted = "memo_not_accepted"
	// ReasonMemoTooLong (invalid): the memo is over the service's limit.
	// Params: service, length, max.
	ReasonMemoTooLong = "memo_too_long"
	// ReasonUnknownCategory (invalid): the category is not one of the
	// service's. Params: service, category.
	ReasonUnknownCategory = "unknown_category"
	// ReasonAlreadyLinked (conflict): the user has an active link to the
	// service. Params: service.
	ReasonAlreadyLinked = "already_linked"
	// ReasonNotLinking (conflict): the service takes no new links.
	// Params: service.
	ReasonNotLinking = "service_not_linking"
)

// Reasons lists every reason code of the domain's errors, so that tests
// can hold each language to saying all of them.
func Reasons() []string {
	return []string{
		ReasonInsufficientBalance, ReasonCodeExpired, ReasonCodeUsed, ReasonCurrencyMismatch, ReasonMerchantDisabled,
		ReasonRequestExpired, ReasonAmountTooLarge,
		ReasonUnknownPayCode, ReasonIdempotencyKeyReused, ReasonNotProposed, ReasonAlreadySelected, ReasonPaymentNotSendable,
		ReasonServiceUnavailable, ReasonAlreadySent, ReasonMemoNotAccepted, ReasonMemoTooLong, ReasonUnknownCategory,
		ReasonAlreadyLinked, ReasonNotLinking,
	}
}
