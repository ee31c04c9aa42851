package policy_test

import (
	"strings"
	"testing"

	"github.com/renkei/renkei/policy"
)

func TestReasonText(t *testing.T) {
	t.Parallel()
	r := func(code policy.Code) policy.Reason {
		return policy.Reason{Code: code, Service: "Kakeibo", Amount: 12800, Currency: "JPY", Threshold: 5000}
	}
	with := func(rs policy.Reason, f func(*policy.Reason)) policy.Reason { f(&rs); return rs }
	tests := []struct {
		name   string
		reason policy.Reason
		en, ja string
	}{
		{"over", r(policy.CodeOverThreshold),
			"Suggested because ¥12,800 is over your ¥5,000 threshold for Kakeibo.",
			"¥12,800 が Kakeibo のあなたのしきい値 ¥5,000 以上なので提案しています。"},
		{"at", with(r(policy.CodeOverThreshold), func(r *policy.Reason) { r.Amount = 5000 }),
			"Suggested because ¥5,000 reaches your ¥5,000 threshold for Kakeibo.",
			"¥5,000 が Kakeibo のあなたのしきい値 ¥5,000 以上なので提案しています。"},
		{"first time", r(policy.CodeFirstTime),
			"Suggested because Kakeibo is new to you and ¥12,800 is over its ¥5,000 threshold.",
			"Kakeibo はまだ使ったことがなく、¥12,800 がしきい値 ¥5,000 以上なので提案しています。"},
		{"first time at", with(r(policy.CodeFirstTime), func(r *policy.Reason) { r.Amount = 5000 }),
			"Suggested because Kakeibo is new to you and ¥5,000 reaches its ¥5,000 threshold.",
			"Kakeibo はまだ使ったことがなく、¥5,000 がしきい値 ¥5,000 以上なので提案しています。"},
		{"disabled", r(policy.CodeServiceDisabled),
			"Not suggested because Kakeibo is not available right now.",
			"Kakeibo は現在利用できないため提案していません。"},
		{"revoked", r(policy.CodeLinkRevoked),
			"Not suggested because you unlinked Kakeibo.",
			"Kakeibo との連携を解除しているため提案していません。"},
		{"auto", r(policy.CodeAutoLink),
			"Not suggested because Kakeibo already receives every payment automatically.",
			"Kakeibo にはすべての支払いが自動で送られるため提案していません。"},
		{"already sent", r(policy.CodeAlreadySent),
			"Not suggested because this payment has already been sent to Kakeibo or is on its way.",
			"この支払いは Kakeibo に送信済みまたは送信待ちのため提案していません。"},
		{"scope one", with(r(policy.CodeScopeMismatch), func(r *policy.Reason) { r.Fields = []string{"merchant_category"} }),
			"Not suggested because Kakeibo needs the merchant category, which cannot be sent for this payment.",
			"Kakeibo が必要とする「業種」をこの支払いでは送れないため提案していません。"},
		{"scope three", with(r(policy.CodeScopeMismatch), func(r *policy.Reason) { r.Fields = []string{"time", "method", "x_custom"} }),
			"Not suggested because Kakeibo needs the time, the payment method and x_custom, which cannot be sent for this payment.",
			"Kakeibo が必要とする「日時・支払方法・x_custom」をこの支払いでは送れないため提案していません。"},
		{"scope none listed", r(policy.CodeScopeMismatch),
			"Not suggested because Kakeibo needs payment details, which cannot be sent for this payment.",
			"Kakeibo が必要とする支払い情報をこの支払いでは送れないため提案していません。"},
		{"currency", with(r(policy.CodeCurrencyNotSupported), func(r *policy.Reason) { r.Currency = "USD" }),
			"Not suggested because Kakeibo does not take payments in USD.",
			"Kakeibo は USD の支払いに対応していないため提案していません。"},
		{"category", with(r(policy.CodeCategoryMismatch), func(r *policy.Reason) { r.Category = "home_supply" }),
			"Not suggested because Kakeibo does not cover home supply payments.",
			"Kakeibo は「home_supply」の支払いを対象としていないため提案していません。"},
		{"below", with(r(policy.CodeBelowThreshold), func(r *policy.Reason) { r.Amount = 120 }),
			"Not suggested because ¥120 is under your ¥5,000 threshold for Kakeibo.",
			"¥120 が Kakeibo のあなたのしきい値 ¥5,000 未満なので提案していません。"},
		{"not in top k", r(policy.CodeNotInTopK),
			"Not suggested because other apps fit this payment better than Kakeibo.",
			"この支払いには Kakeibo より合うアプリがあるため提案していません。"},
		{"USD", policy.Reason{Code: policy.CodeOverThreshold, Service: "Ledgerly", Amount: 1280, Currency: "USD", Threshold: 1000},
			"Suggested because $12.80 is over your $10.00 threshold for Ledgerly.",
			"$12.80 が Ledgerly のあなたのしきい値 $10.00 以上なので提案しています。"},
		{"CHF", policy.Reason{Code: policy.CodeBelowThreshold, Service: "Ledgerly", Amount: 123456, Currency: "CHF", Threshold: 200000},
			"Not suggested because 1,234.56 CHF is under your 2,000.00 CHF threshold for Ledgerly.",
			"1,234.56 CHF が Ledgerly のあなたのしきい値 2,000.00 CHF 未満なので提案していません。"},
		{"unknown code", policy.Reason{Code: "made_up"}, "made_up", "made_up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for lang, want := range map[string]string{"en": tt.en, "": tt.en, "fr": tt.en, "ja": tt.ja, "ja-JP": tt.ja, "JA": tt.ja} {
				if got := tt.reason.Text(lang); got != want {
					t.Errorf("Text(%q) =\n %q\nwant\n %q", lang, got, want)
				}
			}
		})
	}
}

// TestCodesHaveSentences makes sure a code added to Codes gets a sentence
// in both languages, and that the list has no repeats.
func TestCodesHaveSentences(t *testing.T) {
	t.Parallel()
	seen := map[policy.Code]bool{}
	for _, c := range policy.Codes() {
		if seen[c] {
			t.Errorf("%s listed twice", c)
		}
		seen[c] = true
		r := policy.Reason{Code: c, Service: "Kakeibo", Amount: 1, Currency: "JPY"}
		en, ja := r.Text("en"), r.Text("ja")
		if en == string(c) || ja == string(c) || en == ja {
			t.Errorf("%s: no sentence: en %q ja %q", c, en, ja)
		}
		if !strings.Contains(en, "Kakeibo") || !strings.Contains(ja, "Kakeibo") {
			t.Errorf("%s: sentence does not name the service: %q %q", c, en, ja)
		}
		if !strings.HasSuffix(en, ".") || !strings.HasSuffix(ja, "。") {
			t.Errorf("%s: not a sentence: %q %q", c, en, ja)
		}
	}
	if len(seen) != 11 {
		t.Errorf("%d codes, want 11", len(seen))
	}
}
