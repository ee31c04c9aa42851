package renkei

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Provision is one message that gives, or gave, a payer's data to a
// related service: the record of provision to a third party that APPI
// art. 29 asks for, and what the payer's privacy center lists. It is read
// from the message itself (its row in the outbox and its body), never kept
// as a second copy that could drift from what was sent.
type Provision struct {
	ID          string `json:"id" doc:"The message id (msg_…)."`
	ServiceID   string `json:"service_id"`
	ServiceName string `json:"service_name"`
	// UserID is the payer; only the admin's export carries it.
	UserID    string `json:"user_id,omitempty"`
	User      string `json:"user" doc:"The pseudonymous id the service knows the payer by."`
	PaymentID string `json:"payment_id,omitempty"`
	Type      string `json:"type" doc:"payment.completed, payment.refunded, payment.annotated, statement.line or link.revoked."`
	Source    string `json:"source" doc:"Why it was sent: selection (a tap), link (a standing link) or statement (the statement feed)."`
	// Fields are the data categories the message carries, as sent.
	Fields []string `json:"fields"`
	Status string   `json:"status" doc:"queued (not sent yet), delivered (the service acknowledged it with a 2xx), failed, or canceled (stopped before it was sent)."`
	// Attempts is how many times Renkei tried to send it.
	Attempts int `json:"attempts"`
	// DeliveredAt is when the service acknowledged the message.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// ConsentID is the consent that covers the message: the tap (sel_…)
	// or the link's consent in force when it was queued (cns_…).
	ConsentID string    `json:"consent_id,omitempty"`
	CreatedAt time.Time `json:"created_at" doc:"When the message was queued."`
}

// Data categories a message can carry besides the payment scopes.
const (
	FieldPseudonym = "pseudonymous_id"
	FieldPaymentID = "payment_id"
	FieldMemo      = "memo"
	FieldCategory  = "category"
)

// MessageFields lists the data categories a message body carries, in a
// fixed order: the pseudonym and payment id, the payment scopes present,
// and the user's memo and category. It reads the body as sent, so the
// record says what the service got, not what it was allowed.
func MessageFields(body string) []string {
	var m struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if json.Unmarshal([]byte(body), &m) != nil {
		return []string{}
	}
	d := m.Data
	out := []string{}
	has := func(k string) bool { _, ok := d[k]; return ok }
	if has("user") {
		out = append(out, FieldPseudonym)
	}
	if has("payment_id") {
		out = append(out, FieldPaymentID)
	}
	if has("amount") {
		out = append(out, ScopeAmount)
	}
	var merchant map[string]json.RawMessage
	json.Unmarshal(d["merchant"], &merchant)
	if _, ok := merchant["name"]; ok {
		out = append(out, ScopeMerchantName)
	}
	if _, ok := merchant["category_code"]; ok {
		out = append(out, ScopeMerchantCategory)
	}
	if has("completed_at") || has("refunded_at") {
		out = append(out, ScopeTime)
	}
	if has("method") {
		out = append(out, ScopeMethod)
	}
	var input map[string]json.RawMessage
	json.Unmarshal(d["input"], &input)
	if _, ok := input["memo"]; ok {
		out = append(out, FieldMemo)
	}
	if _, ok := input["category"]; ok {
		out = append(out, FieldCategory)
	}
	return out
}

// ProvisionFilter selects provisions: a payer's (privacy center) or a
// service's over a period (the admin's export).
type ProvisionFilter struct {
	UserID    string
	ServiceID string
	Since     time.Time // inclusive; zero for no bound
	Until     time.Time // exclusive; zero for no bound
	Page      Page
}

// Consent kinds.
const (
	ConsentLink      = "link"
	ConsentSelection = "selection"
)

// Consent is one consent a payer gave to send data to a related service:
// a link as made or changed, or a tap on one payment. Each is immutable;
// a consent receipt is made from it.
type Consent struct {
	ID          string   `json:"id" doc:"cns_… for a link's consent, sel_… for a tap."`
	Kind        string   `json:"kind" doc:"link or selection."`
	ServiceID   string   `json:"service_id"`
	ServiceName string   `json:"service_name"`
	User        string   `json:"user" doc:"The pseudonymous id the service knows the payer by."`
	LinkID      string   `json:"link_id,omitempty"`
	PaymentID   string   `json:"payment_id,omitempty"`
	Scopes      []string `json:"scopes" doc:"The payment fields the consent lets Renkei send."`
	// Auto and Statement are what a link consent covers (real time, the
	// statement feed); a tap covers its one payment.
	Auto      bool `json:"auto,omitempty"`
	Statement bool `json:"statement,omitempty"`
	// Input is whether a tap sent the user's memo or category.
	Input bool `json:"input,omitempty"`
	// StatementLine is whether the service takes the statement feed: a
	// tap then also covers that payment's statement line.
	StatementLine bool      `json:"statement_line,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// Superseded is when a later change of the link replaced this consent.
	Superseded *time.Time `json:"superseded_at,omitempty"`
	// Withdrawn is when the payer ended it (unlinked the service).
	Withdrawn *time.Time `json:"withdrawn_at,omitempty"`
}

// PrivacyService is the payer's privacy center and the admin's record of
// provision.
type PrivacyService interface {
	ListProvisions(ctx context.Context, f ProvisionFilter) ([]*Provision, bool, error)
	ListConsents(ctx context.Context, userID string, page Page) ([]*Consent, bool, error)
	FindConsent(ctx context.Context, userID, id string) (*Consent, error)
}

// Controller is the operator that decides what is done with the payer's
// data (the PII controller of ISO/IEC 29100), as a receipt names it.
type Controller struct {
	Name    string `json:"piiController"`
	Contact string `json:"contact,omitempty"`
	URL     string `json:"url,omitempty"`
}

// ConsentReceipt is a consent receipt in the shape of the Kantara
// Initiative Consent Receipt Specification v1.1 (the basis of ISO/IEC TS
// 27560). Its fields keep the specification's camelCase names rather than
// this API's snake_case, so that tools that read Kantara receipts read it.
type ConsentReceipt struct {
	Version          string           `json:"version"`
	Jurisdiction     string           `json:"jurisdiction"`
	ConsentTimestamp int64            `json:"consentTimestamp"`
	CollectionMethod string           `json:"collectionMethod"`
	ConsentReceiptID string           `json:"consentReceiptID"`
	Language         string           `json:"language"`
	PIIPrincipalID   string           `json:"piiPrincipalId"`
	PIIControllers   []Controller     `json:"piiControllers"`
	PolicyURL        string           `json:"policyUrl"`
	Services         []ReceiptService `json:"services"`
	Sensitive        bool             `json:"sensitive"`
	SPICat           []string         `json:"spiCat"`
	// Renkei is what the specification has no field for: what the consent
	// is in Renkei's terms, and whether it still holds.
	Renkei ReceiptExtension `json:"renkei"`
}

// ReceiptService is one service a receipt's consent is for.
type ReceiptService struct {
	Service  string           `json:"service"`
	Purposes []ReceiptPurpose `json:"purposes"`
}

// ReceiptPurpose is one purpose of a receipt, with the data it covers.
type ReceiptPurpose struct {
	Purpose              string   `json:"purpose"`
	PurposeCategory      []string `json:"purposeCategory"`
	ConsentType          string   `json:"consentType"`
	PIICategory          []string `json:"piiCategory"`
	PrimaryPurpose       bool     `json:"primaryPurpose"`
	Termination          string   `json:"termination"`
	ThirdPartyDisclosure bool     `json:"thirdPartyDisclosure"`
	ThirdPartyName       string   `json:"thirdPartyName"`
}

// ReceiptExtension carries Renkei's own facts of a receipt.
type ReceiptExtension struct {
	Kind       string     `json:"kind"`
	ServiceID  string     `json:"service_id"`
	LinkID     string     `json:"link_id,omitempty"`
	PaymentID  string     `json:"payment_id,omitempty"`
	Status     string     `json:"status" doc:"active, superseded or withdrawn."`
	Superseded *time.Time `json:"superseded_at,omitempty"`
	Withdrawn  *time.Time `json:"withdrawn_at,omitempty"`
}

// ReceiptVersion is the Kantara specification version receipts follow.
const ReceiptVersion = "KI-CR-v1.1.0"

// Receipt makes the consent receipt of a consent. The purposes say exactly
// what the consent lets Renkei send: for a tap, that payment now and its
// statement line later; for a link, a pseudonymous id and, as turned on,
// every payment in real time and every statement line. Texts are in the
// receipt's language (ja or en).
func (c *Consent) Receipt(ctrl Controller, policyURL, lang string) *ConsentReceipt {
	t := func(en, ja string) string {
		if lang == "ja" {
			return ja
		}
		return en
	}
	fields := append([]string{FieldPseudonym, FieldPaymentID}, c.Scopes...)
	r := &ConsentReceipt{Version: ReceiptVersion, Jurisdiction: "JP", ConsentTimestamp: c.CreatedAt.Unix(),
		ConsentReceiptID: c.ID, Language: lang, PIIPrincipalID: c.User, PIIControllers: []Controller{ctrl},
		PolicyURL: policyURL, SPICat: []string{},
		Renkei: ReceiptExtension{Kind: c.Kind, ServiceID: c.ServiceID, LinkID: c.LinkID, PaymentID: c.PaymentID,
			Status: "active", Superseded: c.Superseded, Withdrawn: c.Withdrawn}}
	switch {
	case c.Withdrawn != nil:
		r.Renkei.Status = "withdrawn"
	case c.Superseded != nil:
		r.Renkei.Status = "superseded"
	}
	purpose := func(text string, primary bool, data []string, termination string) ReceiptPurpose {
		return ReceiptPurpose{Purpose: text, PurposeCategory: []string{t("Provision to a third party (APPI art. 27)", "第三者提供（個人情報保護法第27条）")},
			ConsentType: "EXPLICIT", PIICategory: data, PrimaryPurpose: primary, Termination: termination,
			ThirdPartyDisclosure: true, ThirdPartyName: c.ServiceName}
	}
	var ps []ReceiptPurpose
	if c.Kind == ConsentSelection {
		r.CollectionMethod = t("tap on the payment-completion screen", "支払い完了画面でのタップ")
		end := t("Covers this one payment. Unlinking "+c.ServiceName+" in the wallet (Linked apps or Privacy) ends what is not sent yet.",
			"この1件の支払いだけが対象です。ウォレットで"+c.ServiceName+"との連携を解除すると（連携アプリまたはプライバシー）、未送信の分は止まります。")
		data := slices.Clone(fields)
		if c.Input {
			data = append(data, FieldMemo, FieldCategory)
		}
		ps = append(ps, purpose(t("Send payment "+c.PaymentID+" to "+c.ServiceName+" when you tapped it, with what you typed.",
			"支払い "+c.PaymentID+" を、タップした時点で入力内容とともに"+c.ServiceName+"に送る。"), true, data, end))
		if c.StatementLine {
			ps = append(ps, purpose(t("Send the shop's statement line of that payment later, so "+c.ServiceName+" can match the two.",
				"その支払いのお店の明細行をあとで送り、"+c.ServiceName+"が照合できるようにする。"), false, slices.Clone(fields), end))
		}
	} else {
		r.CollectionMethod = t("link set up in the wallet", "ウォレットでの連携設定")
		end := t("Until you change or end the link in the wallet (Linked apps or Privacy). Ending it stops all sending at once and tells "+c.ServiceName+".",
			"ウォレット（連携アプリまたはプライバシー）で連携を変更・解除するまで。解除するとすぐにすべての送信が止まり、"+c.ServiceName+"に通知されます。")
		ps = append(ps, purpose(t("Give "+c.ServiceName+" a pseudonymous id for you, and send the payments you tap on the payment screen.",
			c.ServiceName+"にあなたの仮名IDを渡し、支払い画面でタップした支払いを送る。"), true, []string{FieldPseudonym}, end))
		if c.Auto {
			ps = append(ps, purpose(t("Real time: send every payment to "+c.ServiceName+" the moment it completes.",
				"リアルタイム：すべての支払いを完了時点で"+c.ServiceName+"に送る。"), false, slices.Clone(fields), end))
		}
		if c.Statement {
			ps = append(ps, purpose(t("Statement feed: send the shop's statement line of every payment to "+c.ServiceName+" later.",
				"明細フィード：すべての支払いのお店の明細行をあとで"+c.ServiceName+"に送る。"), false, slices.Clone(fields), end))
		}
	}
	r.Services = []ReceiptService{{Service: c.ServiceName, Purposes: ps}}
	return r
}
