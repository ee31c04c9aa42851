package renkei

// Money is an amount in the currency's minor units (yen for JPY, cents for
// USD) and an ISO 4217 code. Floats never carry money.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// MaxAmount bounds one payment, top-up or refund (in minor units). It keeps
// sums of many amounts far from int64 overflow and catches typos such as an
// extra zero in a shop terminal.
const MaxAmount int64 = 100_000_000_000

// ReasonAmountTooLarge is the code of an amount above MaxAmount: its own
// code, so a client can say "too large" rather than "not a number".
const ReasonAmountTooLarge = "amount_too_large"

// TooLarge is the error of an amount above MaxAmount at the given field.
func TooLarge(location string) *Error {
	e := Invalid(location, "The amount is above the limit of %d per payment, top-up or refund.", MaxAmount)
	e.Reason = ReasonAmountTooLarge
	return e
}

// DefaultCurrency is the currency of the demo and of requests that name none.
const DefaultCurrency = "JPY"

// CurrencyInfo tells whether a code is an ISO 4217 currency and how many
// minor-unit digits it has. The root package has no currency table of its
// own; the binary wires one in (bojanz/currency), so the domain stays
// standard-library only.
var CurrencyInfo func(code string) (digits int, ok bool) = func(code string) (int, bool) {
	switch code {
	case "JPY", "KRW":
		return 0, true
	case "USD", "EUR":
		return 2, true
	}
	return 0, false
}

// ValidateAmount checks an amount in minor units for the given currency:
// positive, not above MaxAmount, and a currency we know.
func ValidateAmount(field string, amount int64, currency string) error {
	if _, ok := CurrencyInfo(currency); !ok {
		return Invalid(field+".currency", "%q is not an ISO 4217 currency code.", currency)
	}
	if amount <= 0 {
		return Invalid(field+".amount", "The amount must be a positive whole number of minor units (got %d).", amount)
	}
	if amount > MaxAmount {
		return TooLarge(field + ".amount")
	}
	return nil
}
