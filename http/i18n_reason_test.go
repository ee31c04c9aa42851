package http

import (
	"regexp"
	"strings"
	"testing"

	"github.com/renkei/renkei"
	"github.com/renkei/renkei/policy"
)

// TestReasonTexts: every reason code of the domain has a sentence in
// English and Japanese for the payer and the cashier; each is said from
// the code and the error's parameters, whatever the English Message says;
// without a parameter it names, English falls back to the Message and
// Japanese to a sentence that names none. The policy's reason codes (why
// a card was or was not shown) have their sentences in both languages too.
func TestReasonTexts(t *testing.T) {
	t.Parallel()
	params := map[string]string{"service": "Kakeibo", "currency": "USD", "wallet": "JPY", "merchant": "Cafe Hikari",
		"length": "25", "max": "20", "category": "cars", "status": "refunded"}
	placeholder := regexp.MustCompile(`\{[a-z_]+\}`)
	seen := map[string]bool{}
	for _, code := range renkei.Reasons() {
		if seen[code] {
			t.Errorf("%s listed twice", code)
		}
		seen[code] = true
		rt, ok := reasonTexts[code]
		if !ok {
			t.Errorf("reason %s has no sentences", code)
			continue
		}
		for _, who := range []side{sidePayer, sideShop} {
			e := &renkei.Error{Code: renkei.ECONFLICT, Reason: code, Params: params, Message: "an English message the pages must not need"}
			en, ja := langEN.ErrorText(e, who), langJA.ErrorText(e, who)
			if en == "" || ja == "" || en == ja || en == e.Message || ja == e.Message {
				t.Errorf("%s, side %d: en %q, ja %q", code, who, en, ja)
			}
			if placeholder.MatchString(en) || placeholder.MatchString(ja) {
				t.Errorf("%s, side %d: a parameter left unsaid: %q / %q", code, who, en, ja)
			}
			if !regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}]`).MatchString(ja) {
				t.Errorf("%s, side %d: the Japanese is not Japanese: %q", code, who, ja)
			}
			for name, v := range params {
				if strings.Contains(rt.en[who], "{"+name+"}") && !strings.Contains(en, v) {
					t.Errorf("%s: %q does not say %s", code, en, name)
				}
				if strings.Contains(rt.ja[who], "{"+name+"}") && !strings.Contains(ja, v) {
					t.Errorf("%s: %q does not say %s", code, ja, name)
				}
			}
			// Without its parameters: the Message in English, a plain
			// sentence in Japanese, never a bare placeholder.
			bare := &renkei.Error{Code: renkei.ECONFLICT, Reason: code, Message: "As the store said it."}
			en, ja = langEN.ErrorText(bare, who), langJA.ErrorText(bare, who)
			if placeholder.MatchString(en) || placeholder.MatchString(ja) || ja == "" || ja == bare.Message {
				t.Errorf("%s without parameters, side %d: en %q, ja %q", code, who, en, ja)
			}
		}
	}
	documented := map[string]bool{}
	for _, p := range problemDocs {
		documented[p.Code] = true
	}
	for code := range seen {
		if !documented[code] {
			t.Errorf("reason %s is not on the API docs page", code)
		}
	}
	for code := range reasonTexts {
		if !seen[code] {
			t.Errorf("sentences for %s, which renkei.Reasons does not list", code)
		}
	}

	for _, c := range policy.Codes() {
		r := policy.Reason{Code: c, Service: "Kakeibo", Amount: 1280, Currency: "JPY", Threshold: 1000, Category: "groceries", Fields: []string{"amount"}}
		en, ja := r.Text("en"), r.Text("ja")
		if en == "" || ja == "" || en == ja || en == string(c) || ja == string(c) {
			t.Errorf("policy reason %s: en %q, ja %q", c, en, ja)
		}
	}
}
