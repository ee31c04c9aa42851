package renkei

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scopes: the payment fields a related service may receive. There is no
// scope for card numbers, e-mail or phone: Renkei never sends them.
const (
	ScopeAmount           = "amount"
	ScopeMerchantName     = "merchant_name"
	ScopeMerchantCategory = "merchant_category"
	ScopeTime             = "time"
	ScopeMethod           = "method"
)

// AllScopes lists every scope in display order.
var AllScopes = []string{ScopeAmount, ScopeMerchantName, ScopeMerchantCategory, ScopeTime, ScopeMethod}

// RelatedService is a partner's app that can receive payment information:
// the patent's related service with its app information.
type RelatedService struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	IconURL     string        `json:"icon_url,omitempty"`
	Description Localized     `json:"description"`
	AppURL      string        `json:"app_url,omitempty" doc:"Link or mini-app URL opened from the card."`
	AppCategory string        `json:"app_category" doc:"What kind of app: household_budget, points, expenses, savings…"`
	WebhookURL  string        `json:"webhook_url"`
	Scopes      []string      `json:"scopes"`
	Input       InputFields   `json:"input"`
	Policy      ServicePolicy `json:"policy"`
	Enabled     bool          `json:"enabled"`
	// DisabledReason says why the delivery engine turned the endpoint off
	// (410 Gone, failing for too long); empty when enabled by hand.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is when the endpoint's current run of failures began.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// WebhookSecret is the endpoint's signing secret (whsec_…), present
	// only in the answer that created or rotated it.
	WebhookSecret string    `json:"webhook_secret,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// DeletedAt is when the admin deleted the service; a deleted service
	// is read only by id, for the audit trail of its messages.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// Localized is a text in Japanese and English.
type Localized struct {
	JA string `json:"ja,omitempty" maxLength:"280"`
	EN string `json:"en,omitempty" maxLength:"280"`
}

// In returns the text for a language, falling back to the other one.
func (l Localized) In(lang string) string {
	if lang == "ja" && l.JA != "" || l.EN == "" {
		return l.JA
	}
	return l.EN
}

// InputFields are what the service asks the user on the completion screen
// (claim 7).
type InputFields struct {
	Memo       bool     `json:"memo" doc:"Ask for a free-text memo."`
	MemoMaxLen int      `json:"memo_max_length,omitempty" minimum:"0" maximum:"500"`
	Categories []string `json:"categories,omitempty" maxItems:"50" doc:"The service's own categories the user picks from: the codes the partner receives."`
	// CategoryLabels names each category for people, per page language;
	// the pages show the label, the partner still receives the code.
	CategoryLabels map[string]Localized `json:"category_labels,omitempty" doc:"Optional: per category code, its label in Japanese and English for the pages, e.g. {\"food\": {\"ja\": \"食費\", \"en\": \"Food\"}}. The partner receives the code."`
}

// Label names a category code for a page in lang ("ja" or "en"): its
// label in that language, else in the other, else the code itself.
func (f InputFields) Label(code, lang string) string {
	if l, ok := f.CategoryLabels[code]; ok {
		if s := l.In(lang); s != "" {
			return s
		}
	}
	return code
}

// ServicePolicy is when the service wants to be proposed (claims 3–5).
type ServicePolicy struct {
	BaseThreshold      map[string]int64 `json:"base_threshold" doc:"Per currency, minor units: propose from this amount (before personalisation)."`
	Floor              map[string]int64 `json:"floor,omitempty" doc:"Per currency: the personal threshold never goes below this (default base/4)."`
	Ceiling            map[string]int64 `json:"ceiling,omitempty" doc:"Per currency: nor above this (default base×32)."`
	MerchantCategories []string         `json:"merchant_categories,omitempty" doc:"Merchant categories the service is about; empty means all."`
	WantsStatement     bool             `json:"wants_statement,omitempty" doc:"Receive the payee's later statement feed for linked users."`
}

// RelatedServiceInput registers or updates a related service.
type RelatedServiceInput struct {
	Name        string        `json:"name" minLength:"1" maxLength:"60"`
	IconURL     string        `json:"icon_url,omitempty" maxLength:"2000"`
	Description Localized     `json:"description,omitempty"`
	AppURL      string        `json:"app_url,omitempty" maxLength:"2000"`
	AppCategory string        `json:"app_category" minLength:"1" maxLength:"40"`
	WebhookURL  string        `json:"webhook_url" maxLength:"2000"`
	Scopes      []string      `json:"scopes" maxItems:"10"`
	Input       InputFields   `json:"input,omitempty"`
	Policy      ServicePolicy `json:"policy"`
	Enabled     bool          `json:"enabled" doc:"Whether the service is proposed and receives messages."`
}

// Validate checks a related service's settings.
func (in *RelatedServiceInput) Validate() error {
	if strings.TrimSpace(in.Name) == "" || len([]rune(in.Name)) > 60 {
		return Invalid("body.name", "A related service needs a name of 1 to 60 characters.")
	}
	if err := validURL("body.webhook_url", in.WebhookURL, true); err != nil {
		return err
	}
	if in.AppURL != "" {
		if err := validURL("body.app_url", in.AppURL, false); err != nil {
			return err
		}
	}
	if in.IconURL != "" && !strings.HasPrefix(in.IconURL, "/v1/related_services/") {
		if err := validURL("body.icon_url", in.IconURL, false); err != nil {
			return err
		}
	}
	if len(in.Scopes) == 0 {
		return Invalid("body.scopes", "Give at least one scope (%s).", strings.Join(AllScopes, ", "))
	}
	for _, s := range in.Scopes {
		if !slices.Contains(AllScopes, s) {
			return Invalid("body.scopes", "%q is not a scope; the scopes are %s.", s, strings.Join(AllScopes, ", "))
		}
	}
	if in.Input.MemoMaxLen == 0 {
		in.Input.MemoMaxLen = 200
	}
	if in.Input.MemoMaxLen < 1 || in.Input.MemoMaxLen > 500 {
		return Invalid("body.input.memo_max_length", "The memo limit must be between 1 and 500 characters.")
	}
	for _, c := range in.Input.Categories {
		if c == "" || len([]rune(c)) > 40 {
			return Invalid("body.input.categories", "Each category needs 1 to 40 characters.")
		}
	}
	for code, l := range in.Input.CategoryLabels {
		if !slices.Contains(in.Input.Categories, code) {
			return Invalid("body.input.category_labels", "%q has a label but is not one of the categories.", code)
		}
		if len([]rune(l.JA)) > 40 || len([]rune(l.EN)) > 40 {
			return Invalid("body.input.category_labels", "The labels of %q may have at most 40 characters each.", code)
		}
	}
	if len(in.Policy.BaseThreshold) == 0 {
		return Invalid("body.policy.base_threshold", "Give a base threshold for at least one currency, e.g. {\"JPY\": 1000}.")
	}
	for cur, v := range in.Policy.BaseThreshold {
		if _, ok := CurrencyInfo(cur); !ok {
			return Invalid("body.policy.base_threshold", "%q is not an ISO 4217 currency code.", cur)
		}
		if v < 0 || v > MaxAmount {
			return Invalid("body.policy.base_threshold", "The threshold for %s must be between 0 and %d.", cur, MaxAmount)
		}
	}
	for _, c := range in.Policy.MerchantCategories {
		if !knownCategory(c) {
			return Invalid("body.policy.merchant_categories", "%q is not a merchant category we know.", c)
		}
	}
	return nil
}

func knownCategory(c string) bool {
	for _, v := range mccCategories {
		if v == c {
			return true
		}
	}
	return false
}

func validURL(field, raw string, webhook bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Invalid(field, "%q is not an http(s) URL.", raw)
	}
	if webhook && u.User != nil {
		return Invalid(field, "A webhook URL may not carry credentials.")
	}
	return nil
}

// Link statuses.
const (
	LinkActive  = "active"
	LinkRevoked = "revoked"
)

// Link is a user's standing consent to a related service. What it lets
// Renkei send is exactly: the payment fields in Scopes, in real time for
// every payment when Auto is on, and the payee's later statement line of
// every payment when Statement is on. A link with both off sends nothing
// by itself; it gives the service a pseudonymous id and keeps the user
// asked on each payment screen.
type Link struct {
	ID        string   `json:"id"`
	UserID    string   `json:"user_id"`
	ServiceID string   `json:"service_id"`
	Scopes    []string `json:"scopes" doc:"The payment fields every message to the service carries."`
	Auto      bool     `json:"auto" doc:"Real time: send every payment automatically, without a tap (source link)."`
	Statement bool     `json:"statement" doc:"Statement feed: send the payee's later statement line of every payment (source statement). Off unless the user turns it on."`
	Status    string   `json:"status"`
	// ConsentID is the consent receipt of the link's current settings
	// (each change makes a new one).
	ConsentID string     `json:"consent_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// LinkInput creates a link.
type LinkInput struct {
	ServiceID string `json:"service_id" maxLength:"64"`
	Auto      bool   `json:"auto,omitempty" doc:"Real time: send every payment automatically, without a tap."`
	Statement bool   `json:"statement,omitempty" doc:"Statement feed: send the payee's later statement line of every payment."`
}

// LinkChange turns a link's consents on or off; a nil field stays as it is.
type LinkChange struct {
	Auto      *bool `json:"auto,omitempty" doc:"Real time: send every payment automatically."`
	Statement *bool `json:"statement,omitempty" doc:"Statement feed: send the payee's later statement line of every payment."`
}

// Proposal statuses.
const (
	ProposalShown     = "shown"
	ProposalSelected  = "selected"
	ProposalDismissed = "dismissed"
)

// Proposal is one related app offered on one completion screen.
type Proposal struct {
	ID        string         `json:"id"`
	PaymentID string         `json:"payment_id"`
	ServiceID string         `json:"service_id"`
	Service   *ServiceCard   `json:"service"`
	Rank      int            `json:"rank"`
	Threshold int64          `json:"threshold"`
	Reason    ProposalReason `json:"reason"`
	Status    string         `json:"status"`
	Outcome   string         `json:"outcome,omitempty" doc:"After a selection: queued or sent."`
	CreatedAt time.Time      `json:"created_at"`
}

// ProposalReason is why a service was (or was not) proposed.
type ProposalReason struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

// ServiceCard is the app information shown on a proposal card.
type ServiceCard struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	IconURL     string      `json:"icon_url,omitempty"`
	Description string      `json:"description"`
	AppURL      string      `json:"app_url,omitempty"`
	Input       InputFields `json:"input"`
	// Scopes and StatementLine say what a tap sends: these payment fields
	// (and what the user types) now, and, when StatementLine, the
	// payment's statement line later so the service can reconcile it.
	Scopes        []string `json:"scopes,omitempty" doc:"The payment fields a tap sends."`
	StatementLine bool     `json:"statement_line,omitempty" doc:"A tap also sends this payment's statement line later."`
}

// Selection is the user's tap on a proposal: the consent to send that one
// payment to that one service, with what the user typed.
type Selection struct {
	ID         string    `json:"id"`
	ProposalID string    `json:"proposal_id"`
	PaymentID  string    `json:"payment_id"`
	ServiceID  string    `json:"service_id"`
	Memo       string    `json:"memo,omitempty"`
	Category   string    `json:"category,omitempty"`
	DeliveryID string    `json:"delivery_id,omitempty"`
	Outcome    string    `json:"outcome"`
	CreatedAt  time.Time `json:"created_at"`
}

// Delivery statuses.
const (
	DeliveryQueued    = "queued"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryCanceled  = "canceled"
)

// Delivery sources: why a message was sent.
const (
	SourceSelection = "selection"
	SourceLink      = "link"
	SourceStatement = "statement"
)

// Delivery is one message to one related service's endpoint.
type Delivery struct {
	ID        string `json:"id" doc:"The message id (msg_…), the partner's dedup key."`
	ServiceID string `json:"service_id"`
	UserID    string `json:"-"`
	PaymentID string `json:"payment_id"`
	Type      string `json:"type"`
	Source    string `json:"source"`
	Sequence  int64  `json:"sequence"`
	Status    string `json:"status"`
	Body      string `json:"body" doc:"The JSON message as it is (or will be) sent."`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
	// DeliveredAt is when the partner answered 2xx.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// Attempt is one try at sending a delivery, as the log keeps it.
type Attempt struct {
	ID           string    `json:"id"`
	DeliveryID   string    `json:"delivery_id"`
	Attempt      int       `json:"attempt"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   float64   `json:"duration_ms"`
	StatusCode   int       `json:"status_code,omitempty"`
	ResponseBody string    `json:"response_body,omitempty" doc:"The first bytes of the partner's answer."`
	Error        string    `json:"error,omitempty"`
}

// CompletionView is what the payment-completion screen shows.
type CompletionView struct {
	Payment   *Payment    `json:"payment"`
	Proposals []*Proposal `json:"proposals"`
}

// SelectInput is the user's tap on a proposal card.
type SelectInput struct {
	ServiceID string `json:"service_id" maxLength:"64"`
	Memo      string `json:"memo,omitempty" maxLength:"2000"`
	Category  string `json:"category,omitempty" maxLength:"100"`
}

// RelatedServiceService manages related services, links, proposals and
// selections.
type RelatedServiceService interface {
	CreateRelatedService(ctx context.Context, in RelatedServiceInput) (*RelatedService, string, error)
	UpdateRelatedService(ctx context.Context, id string, in RelatedServiceInput) (*RelatedService, error)
	DeleteRelatedService(ctx context.Context, id string) (*RelatedService, error)
	FindRelatedService(ctx context.Context, id string) (*RelatedService, error)
	ListRelatedServices(ctx context.Context, page Page) ([]*RelatedService, bool, error)
	SetServiceIcon(ctx context.Context, id, contentType string, data []byte) (*RelatedService, error)
	ServiceIcon(ctx context.Context, id string) (contentType string, data []byte, err error)

	CreateLink(ctx context.Context, userID string, in LinkInput) (*Link, error)
	UpdateLink(ctx context.Context, userID, linkID string, ch LinkChange) (*Link, error)
	RevokeLink(ctx context.Context, userID, linkID string) (*Link, error)
	ListLinks(ctx context.Context, userID string) ([]*Link, error)

	Completion(ctx context.Context, userID, paymentID, lang string) (*CompletionView, error)
	Select(ctx context.Context, userID, paymentID string, in SelectInput) (*Selection, error)
	Dismiss(ctx context.Context, userID, paymentID, serviceID string) (*Proposal, error)

	ListDeliveries(ctx context.Context, f DeliveryFilter) ([]*Delivery, bool, error)
}

// DeliveryFilter selects deliveries for a list.
type DeliveryFilter struct {
	ServiceID string
	PaymentID string
	Status    string
	Page      Page
}
