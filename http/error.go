package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
	"github.com/renkei/renkei"
)

// Problem is an RFC 9457 problem+json body. Code is the stable machine
// reason (insufficient_balance, code_expired…); Errors name the inputs at
// fault.
type Problem struct {
	Type      string              `json:"type" doc:"A URI reference to the documentation of this kind of problem."`
	Title     string              `json:"title" doc:"A short summary of the kind of problem."`
	Status    int                 `json:"status" doc:"The HTTP status code."`
	Detail    string              `json:"detail" doc:"What went wrong this time, in words a person understands."`
	Code      string              `json:"code,omitempty" doc:"A stable machine code for the problem."`
	PaymentID string              `json:"payment_id,omitempty" doc:"The failed payment that was recorded, for declines."`
	Errors    []*huma.ErrorDetail `json:"errors,omitempty" doc:"The inputs at fault."`

	headers http.Header
}

// Error implements error.
func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma answer with application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// GetHeaders implements huma.HeadersError: a replayed decline carries
// Idempotent-Replayed, a 401 carries WWW-Authenticate.
func (p *Problem) GetHeaders() http.Header { return p.headers }

// statuses maps the domain's error codes to HTTP: the one table of it.
var statuses = map[string]int{
	renkei.EINVALID:      http.StatusUnprocessableEntity,
	renkei.ENOTFOUND:     http.StatusNotFound,
	renkei.ECONFLICT:     http.StatusConflict,
	renkei.EUNAUTHORIZED: http.StatusUnauthorized,
	renkei.EFORBIDDEN:    http.StatusForbidden,
	renkei.EDECLINED:     http.StatusPaymentRequired,
	renkei.ERATELIMIT:    http.StatusTooManyRequests,
	renkei.EINTERNAL:     http.StatusInternalServerError,
}

// problemType is where the docs explain a problem code.
func problemType(code string) string { return "/docs#problem-" + code }

// newProblem builds a problem from a status, a detail and its causes.
func newProblem(status int, detail string, errs ...error) *Problem {
	p := &Problem{Status: status, Title: http.StatusText(status), Detail: detail}
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(err, &d) {
			p.Errors = append(p.Errors, d.ErrorDetail())
		} else {
			p.Errors = append(p.Errors, &huma.ErrorDetail{Message: err.Error()})
		}
	}
	switch {
	case (status == http.StatusUnprocessableEntity || status == http.StatusBadRequest) && amountTooLarge(p.Errors):
		// The schema's maximum caught it before the domain could: the
		// same code and sentence as the domain's renkei.TooLarge.
		p.Code = renkei.ReasonAmountTooLarge
		msg := renkei.TooLarge("body.amount").Message
		p.Detail = msg
		for _, e := range p.Errors {
			if isAmountOverMax(e) {
				e.Message = msg
			}
		}
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		p.Code = "invalid_request"
		if len(p.Errors) > 0 {
			// huma says "validation failed"; say what failed.
			var parts []string
			for _, e := range p.Errors {
				if e.Location != "" {
					parts = append(parts, fmt.Sprintf("%s: %s", e.Location, e.Message))
				} else {
					parts = append(parts, e.Message)
				}
			}
			p.Detail = "The request is not valid. " + strings.Join(parts, "; ") + "."
		} else if detail == "" {
			p.Detail = "The request is not valid."
		}
	case status == http.StatusRequestEntityTooLarge:
		p.Code = "body_too_large"
		p.Detail = "The request body is too large."
	case status == http.StatusNotFound:
		p.Code = "not_found"
	case status == http.StatusMethodNotAllowed:
		p.Code = "method_not_allowed"
	case status == http.StatusUnsupportedMediaType:
		p.Code = "unsupported_media_type"
		p.Detail = "Send the body as application/json."
	case status >= 500:
		p.Code = renkei.EINTERNAL
		p.Detail = "Something went wrong on our side. It has been logged; please retry later."
		p.Errors = nil // never show internals
	}
	if p.Code == "" {
		p.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
	}
	p.Type = problemType(p.Code)
	return p
}

// amountTooLarge tells whether the schema refused an amount for being
// above its maximum (renkei.MaxAmount), and nothing else.
func amountTooLarge(errs []*huma.ErrorDetail) bool {
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		if !isAmountOverMax(e) {
			return false
		}
	}
	return true
}

func isAmountOverMax(e *huma.ErrorDetail) bool {
	return (e.Location == "body.amount" || strings.HasSuffix(e.Location, ".amount")) &&
		strings.HasPrefix(e.Message, strings.TrimSuffix(validation.MsgExpectedMaximumNumber, "%v"))
}

// problemFrom turns a domain error into a problem.
func problemFrom(err error) *Problem {
	var e *renkei.Error
	if !errors.As(err, &e) {
		return newProblem(http.StatusInternalServerError, "")
	}
	status, ok := statuses[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := &Problem{Status: status, Title: http.StatusText(status), Detail: e.Message, PaymentID: e.PaymentID}
	p.Code = e.Reason
	if p.Code == "" {
		p.Code = e.Code
	}
	if e.Code == renkei.EINVALID {
		p.Title = "Invalid request"
	}
	for _, f := range e.Fields {
		p.Errors = append(p.Errors, &huma.ErrorDetail{Location: f.Location, Message: f.Message})
	}
	if e.Code == renkei.EUNAUTHORIZED {
		p.headers = http.Header{"WWW-Authenticate": {`Bearer realm="renkei"`}}
	}
	p.Type = problemType(p.Code)
	return p
}

// writeProblem answers outside huma (unknown routes, pages' API calls).
func writeProblem(w http.ResponseWriter, p *Problem) {
	for k, vs := range p.headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}
