package policy

import (
	"strings"
)

// Code is the machine-readable reason of a Decision. The set is closed:
// Codes lists every value, and Reason.Text has a sentence for each in
// English and Japanese.
type Code string

// Reason codes. The necessity codes are listed in the order Decide checks
// them; a candidate gets the first that applies.
const (
	// CodeOverThreshold: proposed, because the amount is at or above the
	// user's threshold for the service.
	CodeOverThreshold Code = "over_threshold"
	// CodeFirstTime: proposed, as CodeOverThreshold, to a user who has
	// never been shown the service.
	CodeFirstTime Code = "first_time"

	// CodeServiceDisabled: not proposed, the service is switched off.
	CodeServiceDisabled Code = "service_disabled"
	// CodeLinkRevoked: not proposed, the user unlinked the service.
	CodeLinkRevoked Code = "link_revoked"
	// CodeAutoLink: not proposed and not needed, the user's link already
	// sends every payment to the service automatically.
	CodeAutoLink Code = "auto_link"
	// CodeAlreadySent: not proposed and not needed, a delivery of this
	// payment to the service exists or is queued.
	CodeAlreadySent Code = "already_sent"
	// CodeScopeMismatch: not proposed, a field the service requires is
	// outside its scopes or missing from the payment (Reason.Fields).
	CodeScopeMismatch Code = "scope_mismatch"
	// CodeCurrencyNotSupported: not proposed, the service has no
	// threshold in the payment's currency.
	CodeCurrencyNotSupported Code = "currency_not_supported"
	// CodeCategoryMismatch: not proposed, the service lists categories
	// and the merchant's (Reason.Category) is not one of them.
	CodeCategoryMismatch Code = "category_mismatch"

	// CodeBelowThreshold: not proposed, the amount is under the user's
	// threshold for the service.
	CodeBelowThreshold Code = "below_threshold"
	// CodeNotInTopK: not proposed, the service qualified but K others
	// ranked higher.
	CodeNotInTopK Code = "not_in_top_k"
)

// Codes returns every reason code: the two of a proposal first, then the
// necessity codes in the order Decide checks them, then the condition and
// the ranking.
func Codes() []Code {
	return []Code{
		CodeOverThreshold, CodeFirstTime,
		CodeServiceDisabled, CodeLinkRevoked, CodeAutoLink, CodeAlreadySent,
		CodeScopeMismatch, CodeCurrencyNotSupported, CodeCategoryMismatch,
		CodeBelowThreshold, CodeNotInTopK,
	}
}

// Reason is why a candidate was or was not proposed. It keeps raw values,
// not sentences, so the screen can word them in the user's language
// (Text) and a log can keep them as data.
type Reason struct {
	// Code says which rule decided.
	Code Code `json:"code"`
	// Service is the service's display name (its ID if it has none).
	Service string `json:"service"`
	// Amount is the payment's amount, in minor units.
	Amount int64 `json:"amount"`
	// Currency is the payment's ISO 4217 code.
	Currency string `json:"currency"`
	// Threshold is the personal threshold compared with Amount, in minor
	// units; set for below_threshold, not_in_top_k, over_threshold and
	// first_time.
	Threshold int64 `json:"threshold"`
	// Category is the merchant category the service does not cover; set
	// for category_mismatch.
	Category string `json:"category,omitempty"`
	// Fields are the required fields that cannot be sent; set for
	// scope_mismatch.
	Fields []string `json:"fields,omitempty"`
}

// Text is the reason as one sentence for the payer, in lang: "ja" (or a
// tag starting with "ja", such as "ja-JP") for Japanese, English for any
// other value. A Code outside Codes comes back as the bare code.
func (r Reason) Text(lang string) string {
	ja := strings.HasPrefix(strings.ToLower(lang), "ja")
	svc := r.Service
	amt := formatMoney(r.Amount, r.Currency)
	thr := formatMoney(r.Threshold, r.Currency)
	pick := func(en, jp string) string {
		if ja {
			return jp
		}
		return en
	}
	switch r.Code {
	case CodeOverThreshold:
		verb := "is over"
		if r.Amount == r.Threshold {
			verb = "reaches"
		}
		return pick("Suggested because "+amt+" "+verb+" your "+thr+" threshold for "+svc+".",
			amt+" が "+svc+" のあなたのしきい値 "+thr+" 以上なので提案しています。")
	case CodeFirstTime:
		verb := "is over"
		if r.Amount == r.Threshold {
			verb = "reaches"
		}
		return pick("Suggested because "+svc+" is new to you and "+amt+" "+verb+" its "+thr+" threshold.",
			svc+" はまだ使ったことがなく、"+amt+" がしきい値 "+thr+" 以上なので提案しています。")
	case CodeServiceDisabled:
		return pick("Not suggested because "+svc+" is not available right now.",
			svc+" は現在利用できないため提案していません。")
	case CodeLinkRevoked:
		return pick("Not suggested because you unlinked "+svc+".",
			svc+" との連携を解除しているため提案していません。")
	case CodeAutoLink:
		return pick("Not suggested because "+svc+" already receives every payment automatically.",
			svc+" にはすべての支払いが自動で送られるため提案していません。")
	case CodeAlreadySent:
		return pick("Not suggested because this payment has already been sent to "+svc+" or is on its way.",
			"この支払いは "+svc+" に送信済みまたは送信待ちのため提案していません。")
	case CodeScopeMismatch:
		return pick("Not suggested because "+svc+" needs "+fieldsEN(r.Fields)+", which cannot be sent for this payment.",
			svc+" が必要とする"+fieldsJA(r.Fields)+"をこの支払いでは送れないため提案していません。")
	case CodeCurrencyNotSupported:
		return pick("Not suggested because "+svc+" does not take payments in "+r.Currency+".",
			svc+" は "+r.Currency+" の支払いに対応していないため提案していません。")
	case CodeCategoryMismatch:
		return pick("Not suggested because "+svc+" does not cover "+strings.ReplaceAll(r.Category, "_", " ")+" payments.",
			svc+" は「"+r.Category+"」の支払いを対象としていないため提案していません。")
	case CodeBelowThreshold:
		return pick("Not suggested because "+amt+" is under your "+thr+" threshold for "+svc+".",
			amt+" が "+svc+" のあなたのしきい値 "+thr+" 未満なので提案していません。")
	case CodeNotInTopK:
		return pick("Not suggested because other apps fit this payment better than "+svc+".",
			"この支払いには "+svc+" より合うアプリがあるため提案していません。")
	}
	return string(r.Code)
}

// fieldLabels name the payment fields for people: English, Japanese.
var fieldLabels = map[string][2]string{
	"amount":            {"the amount", "金額"},
	"merchant_name":     {"the merchant name", "店舗名"},
	"merchant_category": {"the merchant category", "業種"},
	"time":              {"the time", "日時"},
	"method":            {"the payment method", "支払方法"},
}

// fieldsEN joins field labels as English prose: "the amount and the time".
func fieldsEN(fields []string) string {
	ls := make([]string, len(fields))
	for i, f := range fields {
		ls[i] = f
		if l, ok := fieldLabels[f]; ok {
			ls[i] = l[0]
		}
	}
	switch len(ls) {
	case 0:
		return "payment details"
	case 1:
		return ls[0]
	}
	return strings.Join(ls[:len(ls)-1], ", ") + " and " + ls[len(ls)-1]
}

// fieldsJA joins field labels the Japanese way: 「金額・日時」.
func fieldsJA(fields []string) string {
	ls := make([]string, len(fields))
	for i, f := range fields {
		ls[i] = f
		if l, ok := fieldLabels[f]; ok {
			ls[i] = l[1]
		}
	}
	if len(ls) == 0 {
		return "支払い情報"
	}
	return "「" + strings.Join(ls, "・") + "」"
}
