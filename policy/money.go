package policy

import (
	"strconv"
	"strings"
)

// currencyDigits are the minor-unit digits (ISO 4217) of the currencies
// whose digits are not two; any other code is formatted with two.
var currencyDigits = map[string]int{
	"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "UGX": 0, "PYG": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// currencySymbols are the signs written before an amount, the same as on
// the completion page; other currencies are written "12.80 CHF".
var currencySymbols = map[string]string{"JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "KRW": "₩"}

// formatMoney writes minor units as a person reads them: ¥12,800,
// $12.80, €1,234.50, 12.80 CHF.
func formatMoney(amount int64, currency string) string {
	digits, ok := currencyDigits[currency]
	if !ok {
		digits = 2
	}
	u := uint64(amount)
	if amount < 0 {
		u = -u // two's complement: right even for MinInt64
	}
	var scale uint64 = 1
	for range digits {
		scale *= 10
	}
	major := strconv.FormatUint(u/scale, 10)
	var b strings.Builder
	if amount < 0 {
		b.WriteByte('-')
	}
	sym, hasSym := currencySymbols[currency]
	b.WriteString(sym)
	for i, c := range major {
		if i > 0 && (len(major)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if digits > 0 {
		minor := strconv.FormatUint(u%scale, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", digits-len(minor)))
		b.WriteString(minor)
	}
	if !hasSym {
		b.WriteString(" " + currency)
	}
	return b.String()
}
