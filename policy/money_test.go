package policy

import (
	"math"
	"testing"
)

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount   int64
		currency string
		want     string
	}{
		{12800, "JPY", "¥12,800"},
		{0, "JPY", "¥0"},
		{999, "JPY", "¥999"},
		{1000, "JPY", "¥1,000"},
		{1234567, "JPY", "¥1,234,567"},
		{12800, "KRW", "₩12,800"},
		{1280, "USD", "$12.80"},
		{5, "USD", "$0.05"},
		{123456789, "USD", "$1,234,567.89"},
		{1280, "EUR", "€12.80"},
		{1280, "GBP", "£12.80"},
		{1280, "CHF", "12.80 CHF"},
		{1280, "ISK", "1,280 ISK"},
		{12805, "KWD", "12.805 KWD"},
		{7, "BHD", "0.007 BHD"},
		{-1280, "USD", "-$12.80"},
		{math.MinInt64, "JPY", "-¥9,223,372,036,854,775,808"},
		{math.MaxInt64, "USD", "$92,233,720,368,547,758.07"},
	}
	for _, tt := range tests {
		if got := formatMoney(tt.amount, tt.currency); got != tt.want {
			t.Errorf("formatMoney(%d, %s) = %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
	}
}
