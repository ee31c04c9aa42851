package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
	"github.com/renkei/renkei"
	"github.com/renkei/renkei/emvco"
)

// QRGUID marks Renkei's merchant account template in EMVCo payloads, so a
// wallet can tell our codes from other networks' at a glance.
const QRGUID = "jp.renkei"

// EMVCoQR is the QRCodec of merchant-presented payments: an EMVCo
// dynamic payload whose template 26 carries a random reference.
type EMVCoQR struct {
	Country string // ISO 3166 alpha-2, "JP"
	City    string // at most 15 ASCII characters
}

// Encode builds the payload a shop terminal shows.
func (q EMVCoQR) Encode(m *renkei.Merchant, amount int64, code, reference string) (string, error) {
	numeric, ok := currency.GetNumericCode(code)
	if !ok {
		return "", fmt.Errorf("currency %s has no numeric code", code)
	}
	digits, _ := currency.GetDigits(code)
	amt := strconv.FormatInt(amount, 10)
	if digits > 0 {
		// EMVCo writes the amount in major units with a decimal point.
		for len(amt) <= int(digits) {
			amt = "0" + amt
		}
		amt = amt[:len(amt)-int(digits)] + "." + amt[len(amt)-int(digits):]
	}
	name := asciiName(m.Name, 25)
	return emvco.Encode(emvco.Payload{
		PointOfInitiation: emvco.InitiationDynamic,
		GUID:              QRGUID,
		Reference:         reference,
		MCC:               m.MCC,
		CurrencyNumeric:   numeric,
		Amount:            amt,
		CountryCode:       q.Country,
		MerchantName:      name,
		MerchantCity:      asciiName(q.City, 15),
	})
}

// Reference reads back the reference of one of our payloads.
func (q EMVCoQR) Reference(payload string) (string, error) {
	p, err := emvco.Parse(payload)
	if err != nil {
		return "", err
	}
	if p.GUID != QRGUID || p.Reference == "" {
		return "", fmt.Errorf("the code is an EMVCo payment code, but not one issued by Renkei")
	}
	return p.Reference, nil
}

// asciiName keeps the printable ASCII of s (EMVCo's field 59 allows only
// that; the merchant's full name is in the payment itself) and never
// returns an empty name.
func asciiName(s string, max int) string {
	var b []byte
	for i := 0; i < len(s) && len(b) < max; i++ {
		if s[i] >= 0x20 && s[i] < 0x7f {
			b = append(b, s[i])
		}
	}
	name := strings.TrimSpace(string(b))
	if name == "" {
		return "Renkei merchant"
	}
	return name
}
