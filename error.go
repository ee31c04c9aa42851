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
	Fields  []FieldError
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

// Conflict reasons.
const (
	// ReasonAlreadySent: the related service already has the payment, so
	// sending it again is not needed (claim 10).
	ReasonAlreadySent = "already_sent"
)
