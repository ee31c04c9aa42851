package partner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Client calls Renkei's partner API with a related service's API key
// (rk_rsv_…): the service's own deliveries with their attempt logs,
// replays of failed deliveries, and its settings. It is safe for
// concurrent use.
type Client struct {
	base   string
	apiKey string
	hc     *http.Client
}

// NewClient returns a client for the Renkei at baseURL (e.g.
// "https://pay.example.com", without /v1) authenticating with apiKey. hc
// nil means a client with a 30-second timeout.
func NewClient(baseURL, apiKey string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), apiKey: apiKey, hc: hc}
}

// Delivery statuses.
const (
	DeliveryQueued    = "queued"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryCanceled  = "canceled"
)

// Delivery is one message to the service's endpoint with its delivery
// state, as the partner API shows it.
type Delivery struct {
	// ID is the message id, the webhook-id of every attempt.
	ID        string `json:"id"`
	ServiceID string `json:"service_id"`
	PaymentID string `json:"payment_id"`
	Type      string `json:"type"`
	Source    string `json:"source"`
	Sequence  int64  `json:"sequence"`
	// Status is DeliveryQueued, DeliveryDelivered, DeliveryFailed or
	// DeliveryCanceled.
	Status string `json:"status"`
	// Body is the JSON message exactly as it is (or will be) sent.
	Body        string     `json:"body"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	// AttemptLog is filled by Client.Delivery only.
	AttemptLog []*Attempt `json:"attempt_log,omitempty"`
}

// Event decodes the delivery's body, with ID set to the delivery's id, for
// reconciliation: a message fetched here has no signature to check.
func (d *Delivery) Event() (*Event, error) {
	ev, err := ParseEvent([]byte(d.Body))
	if err != nil {
		return nil, fmt.Errorf("delivery %s: %w", d.ID, err)
	}
	ev.ID = d.ID
	return ev, nil
}

// Attempt is one try at sending a delivery.
type Attempt struct {
	ID         string    `json:"id"`
	DeliveryID string    `json:"delivery_id"`
	Attempt    int       `json:"attempt"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS float64   `json:"duration_ms"`
	// StatusCode is what the endpoint answered, 0 without an answer.
	StatusCode int `json:"status_code,omitempty"`
	// ResponseBody is the first bytes of the endpoint's answer: the
	// Handler writes its reason for a rejection there.
	ResponseBody string `json:"response_body,omitempty"`
	Error        string `json:"error,omitempty"`
}

// DeliveryPage is one page of deliveries, newest first.
type DeliveryPage struct {
	Data []*Delivery `json:"data"`
	// HasMore says there is a next page: pass the last Data item's ID as
	// ListOptions.StartingAfter.
	HasMore bool `json:"has_more"`
}

// ListOptions narrow Client.Deliveries. Zero fields are left out.
type ListOptions struct {
	Status        string // DeliveryQueued, DeliveryDelivered, DeliveryFailed or DeliveryCanceled
	PaymentID     string
	Limit         int // 1 to 100; Renkei's default is 20
	StartingAfter string
}

// Settings is a related service's registration as Renkei keeps it.
type Settings struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	IconURL     string       `json:"icon_url,omitempty"`
	Description Localized    `json:"description"`
	AppURL      string       `json:"app_url,omitempty"`
	AppCategory string       `json:"app_category"`
	WebhookURL  string       `json:"webhook_url"`
	Scopes      []string     `json:"scopes"`
	Input       InputFields  `json:"input"`
	Policy      PolicyConfig `json:"policy"`
	Enabled     bool         `json:"enabled"`
	// DisabledReason says why Renkei turned the endpoint off (410 Gone,
	// failing for too long); empty when enabled or disabled by hand.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is when the endpoint's current run of failures began.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Localized is a text in Japanese and English.
type Localized struct {
	JA string `json:"ja,omitempty"`
	EN string `json:"en,omitempty"`
}

// InputFields are what the service asks the user on the completion screen.
type InputFields struct {
	Memo          bool     `json:"memo"`
	MemoMaxLength int      `json:"memo_max_length,omitempty"`
	Categories    []string `json:"categories,omitempty"`
}

// PolicyConfig is when the service wants to be proposed; amounts are in
// minor units per currency.
type PolicyConfig struct {
	BaseThreshold      map[string]int64 `json:"base_threshold"`
	Floor              map[string]int64 `json:"floor,omitempty"`
	Ceiling            map[string]int64 `json:"ceiling,omitempty"`
	MerchantCategories []string         `json:"merchant_categories,omitempty"`
	WantsStatement     bool             `json:"wants_statement,omitempty"`
}

// APIError is an error answer of the partner API, decoded from its RFC
// 9457 problem+json body.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is Renkei's stable machine code (not_found, unauthorized,
	// conflict…); empty if the answer was not problem+json (a proxy's
	// error page).
	Code string
	// Detail says what went wrong, in words.
	Detail string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("renkei api: HTTP %d: %s", e.Status, e.Detail)
	}
	return fmt.Sprintf("renkei api: HTTP %d %s: %s", e.Status, e.Code, e.Detail)
}

// Deliveries lists the service's deliveries, newest first.
func (c *Client) Deliveries(ctx context.Context, opts ListOptions) (*DeliveryPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": opts.Status, "payment_id": opts.PaymentID, "starting_after": opts.StartingAfter} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	path := "/v1/deliveries"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var page DeliveryPage
	if err := c.do(ctx, http.MethodGet, path, nil, &page); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return &page, nil
}

// Delivery returns one delivery with its attempt log.
func (c *Client) Delivery(ctx context.Context, id string) (*Delivery, error) {
	var d Delivery
	if err := c.do(ctx, http.MethodGet, "/v1/deliveries/"+url.PathEscape(id), nil, &d); err != nil {
		return nil, fmt.Errorf("get delivery %s: %w", id, err)
	}
	return &d, nil
}

// Replay queues a failed delivery again, with its original message id, so
// a Handler that processed it after all answers 200 without running again.
// Renkei answers 409 (an *APIError with Code "conflict") for a delivery
// that is not failed.
func (c *Client) Replay(ctx context.Context, id string) error {
	var out struct {
		Replayed int `json:"replayed"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/deliveries/"+url.PathEscape(id)+"/replay", struct{}{}, &out); err != nil {
		return fmt.Errorf("replay delivery %s: %w", id, err)
	}
	return nil
}

// ReplaySince queues again every failed delivery of the service created at
// or after since, and returns how many: the way to catch up after an
// outage longer than Renkei's retries.
func (c *Client) ReplaySince(ctx context.Context, since time.Time) (int, error) {
	in := struct {
		Since time.Time `json:"since"`
	}{since.UTC()}
	var out struct {
		Replayed int `json:"replayed"`
	}
	if err := c.do(ctx, http.MethodPost, "/v1/deliveries/replay", in, &out); err != nil {
		return 0, fmt.Errorf("replay deliveries since %s: %w", since.Format(time.RFC3339), err)
	}
	return out.Replayed, nil
}

// Settings returns the service's own registration; serviceID is its id
// (rsv_…), the only one its API key may read.
func (c *Client) Settings(ctx context.Context, serviceID string) (*Settings, error) {
	var s Settings
	if err := c.do(ctx, http.MethodGet, "/v1/related_services/"+url.PathEscape(serviceID), nil, &s); err != nil {
		return nil, fmt.Errorf("get settings of %s: %w", serviceID, err)
	}
	return &s, nil
}

// maxResponse bounds what the client reads of one answer.
const maxResponse = 16 << 20

// do sends one request and decodes a 2xx JSON answer into out, or returns
// an *APIError.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "renkei-partner-go/1")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode answer: %s", jsonReason(err))
	}
	return nil
}

// apiError decodes an error answer: problem+json when it is one, else the
// status and a short, printable start of the body.
func apiError(resp *http.Response, raw []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p struct {
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Code   string `json:"code"`
		}
		if json.Unmarshal(raw, &p) == nil {
			e.Code, e.Detail = p.Code, p.Detail
			if e.Detail == "" {
				e.Detail = p.Title
			}
		}
	} else if mt == "text/plain" {
		e.Detail = printable(raw, 200)
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	return e
}

// printable returns at most n bytes of b as one line of printable text.
func printable(b []byte, n int) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}
