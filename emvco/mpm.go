// Package emvco encodes and decodes the codes a payment starts from: EMVCo
// merchant-presented QR payloads (EMV QRCPS-MPM v1.1), the numeric pay codes
// a customer's app shows at a till, and SVG pictures of QR codes.
//
// Everything here is pure: the only input that is not an argument is the
// io.Reader NewPayCode draws randomness from, so callers and tests choose it.
package emvco

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPayloadLen is the longest payload, in bytes, that Parse reads and
// Encode writes. EMVCo caps a payload at 512 characters; capping bytes as
// well keeps the work Parse does on hostile input small and fixed.
const MaxPayloadLen = 512

// Values of Payload.PointOfInitiation (field 01).
const (
	// InitiationStatic marks a code printed once and used for many payments.
	InitiationStatic = "11"
	// InitiationDynamic marks a code made for one payment, usually with an
	// amount; wallets may refuse to pay it twice.
	InitiationDynamic = "12"
)

// Errors returned by Parse and Encode. Each is wrapped with a sentence
// naming the field and the problem, so errors.Is tells a caller what kind
// of failure it was and Error() tells a person what to fix.
var (
	// ErrTooLong means the payload exceeds MaxPayloadLen bytes.
	ErrTooLong = errors.New("qr payload is too long")
	// ErrMalformed means the text is not a sequence of ID, length, value
	// data objects that starts with field 00 and ends with field 63:
	// typically a code that was cut off or is not an EMVCo code at all.
	ErrMalformed = errors.New("qr payload is malformed")
	// ErrBadCRC means field 63 does not match the checksum of the payload:
	// the code was damaged or altered after it was made.
	ErrBadCRC = errors.New("qr payload checksum does not match")
	// ErrMissingField means a field EMVCo makes mandatory is absent.
	ErrMissingField = errors.New("qr payload lacks a required field")
	// ErrInvalidField means a field is present but its value breaks the
	// rules for that field (length, characters or format).
	ErrInvalidField = errors.New("qr payload has an invalid field")
)

// Field is one data object kept as text: a field Payload has no member for,
// or a subfield of a template it only partly models. Parse keeps these so
// that a payload made elsewhere survives Parse and Encode unchanged.
type Field struct {
	// ID is the two-digit data object ID, "00" to "99".
	ID string
	// Value is the raw value; for a template it is the nested data
	// objects, still encoded.
	Value string
}

// Payload is a decoded merchant-presented QR payload. Field 00 (payload
// format indicator) and field 63 (CRC) are not members: Encode writes them
// and Parse checks them.
type Payload struct {
	// PointOfInitiation is field 01: InitiationStatic, InitiationDynamic or
	// "" when the field is absent. It is a string, not a bool, so that a
	// payload without field 01 encodes back without it.
	PointOfInitiation string

	// GUID is subfield 00 of merchant account information template 26,
	// the globally unique identifier of the payment network ("jp.renkei").
	// Up to 32 characters. Required when Reference or AccountFields is set.
	GUID string
	// Reference is subfield 01 of template 26: the opaque token that tells
	// our backend which merchant or payment the code belongs to.
	Reference string
	// AccountFields are the other subfields of template 26, ascending by ID.
	AccountFields []Field

	// MCC is field 52, the four-digit ISO 18245 merchant category code.
	MCC string
	// CurrencyNumeric is field 53, the three-digit ISO 4217 numeric
	// currency code ("392" is JPY).
	CurrencyNumeric string
	// Amount is field 54, optional: digits with an optional '.' and
	// fraction ("1500", "12.50"), at most 13 characters. It stays text
	// because the currency decides what the digits mean.
	Amount string
	// CountryCode is field 58, the ISO 3166-1 alpha-2 code in capitals.
	CountryCode string
	// MerchantName is field 59, 1 to 25 printable ASCII characters.
	MerchantName string
	// MerchantCity is field 60, 1 to 15 printable ASCII characters.
	MerchantCity string

	// ReferenceLabel is subfield 05 of the additional data template 62,
	// up to 25 characters, which a wallet echoes back with the payment.
	ReferenceLabel string
	// AdditionalFields are the other subfields of template 62, ascending
	// by ID.
	AdditionalFields []Field

	// Extra holds every other top-level field (accounts of other networks
	// in 02-51, tip fields 55-57, postal code 61, language template 64,
	// templates 80-99, ...), ascending by ID.
	Extra []Field
}

// IsDynamic reports whether the payload is marked as made for one payment.
func (p Payload) IsDynamic() bool { return p.PointOfInitiation == InitiationDynamic }

// fieldNames names the fields this package knows, for error messages.
var fieldNames = map[string]string{
	"00": "payload format indicator",
	"01": "point of initiation method",
	"26": "merchant account information",
	"52": "merchant category code",
	"53": "transaction currency",
	"54": "transaction amount",
	"55": "tip or convenience indicator",
	"56": "convenience fee",
	"57": "convenience fee percentage",
	"58": "country code",
	"59": "merchant name",
	"60": "merchant city",
	"61": "postal code",
	"62": "additional data",
	"63": "CRC",
	"64": "merchant information in another language",
}

// fieldName returns "field 59 (merchant name)", so messages make sense to
// someone who has not read the specification.
func fieldName(id string) string {
	if name, ok := fieldNames[id]; ok {
		return "field " + id + " (" + name + ")"
	}
	if n, ok := idNumber(id); ok {
		switch {
		case n >= 2 && n <= 51:
			return "field " + id + " (merchant account information)"
		case n >= 80:
			return "field " + id + " (unreserved template)"
		}
	}
	return "field " + id
}

// errf wraps a sentinel error with a sentence of detail.
func errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// Encode validates p and returns its payload text: the fields in ascending
// ID order, then field 63 with the CRC, as EMVCo prescribes. The result
// always parses back to p (with its Field slices sorted by ID).
func Encode(p Payload) (string, error) {
	if err := p.validate(); err != nil {
		return "", err
	}
	fields := []Field{{"00", "01"}}
	if p.PointOfInitiation != "" {
		fields = append(fields, Field{"01", p.PointOfInitiation})
	}
	if p.GUID != "" {
		fields = append(fields, Field{"26", p.accountTemplate()})
	}
	fields = append(fields,
		Field{"52", p.MCC},
		Field{"53", p.CurrencyNumeric},
	)
	if p.Amount != "" {
		fields = append(fields, Field{"54", p.Amount})
	}
	fields = append(fields,
		Field{"58", p.CountryCode},
		Field{"59", p.MerchantName},
		Field{"60", p.MerchantCity},
	)
	if t := p.additionalTemplate(); t != "" {
		fields = append(fields, Field{"62", t})
	}
	fields = append(fields, p.Extra...)

	s := encodeFields(fields) + "6304"
	s += fmt.Sprintf("%04X", CRC16([]byte(s)))
	if len(s) > MaxPayloadLen {
		return "", errf(ErrTooLong, "encoded it is %d bytes; at most %d fit", len(s), MaxPayloadLen)
	}
	return s, nil
}

// Parse decodes and checks a payload read from a QR code: its structure,
// that field 00 comes first and field 63 last, the CRC, the mandatory fields
// and each field's format. Errors wrap ErrTooLong, ErrMalformed, ErrBadCRC,
// ErrMissingField or ErrInvalidField. Fields may appear in any order, since
// payloads from other issuers do not always sort them.
func Parse(s string) (Payload, error) {
	if len(s) > MaxPayloadLen {
		return Payload{}, errf(ErrTooLong, "it is %d bytes; at most %d are allowed", len(s), MaxPayloadLen)
	}
	if s == "" {
		return Payload{}, errf(ErrMalformed, "it is empty")
	}
	if !utf8.ValidString(s) {
		return Payload{}, errf(ErrMalformed, "it is not valid UTF-8 text")
	}
	objs, err := splitTLV(s, "")
	if err != nil {
		return Payload{}, errf(ErrMalformed, "%v", err)
	}
	if objs[0].ID != "00" {
		return Payload{}, errf(ErrMalformed, "it must begin with field 00 (payload format indicator), not %s", fieldName(objs[0].ID))
	}
	last := objs[len(objs)-1]
	if last.ID != "63" {
		if slices.ContainsFunc(objs, func(f Field) bool { return f.ID == "63" }) {
			return Payload{}, errf(ErrMalformed, "field 63 (CRC) must be the last field")
		}
		return Payload{}, errf(ErrMissingField, "field 63 (CRC) is missing")
	}
	if n := utf8.RuneCountInString(last.Value); n != 4 {
		return Payload{}, errf(ErrMalformed, "field 63 (CRC) has %d characters; it must have 4", n)
	}
	want, ok := parseHex4(last.Value)
	if !ok {
		return Payload{}, errf(ErrBadCRC, "field 63 (CRC) is %q; it must be 4 uppercase hexadecimal digits", last.Value)
	}
	// The CRC covers everything before its own value, "6304" included.
	if got := CRC16([]byte(s[:len(s)-4])); got != want {
		return Payload{}, errf(ErrBadCRC, "the payload sums to %04X but field 63 says %s; the code is damaged or was altered", got, last.Value)
	}

	var p Payload
	var seen [100]bool
	for _, o := range objs {
		n, _ := idNumber(o.ID) // splitTLV checked the digits
		if seen[n] {
			return Payload{}, errf(ErrMalformed, "%s appears more than once", fieldName(o.ID))
		}
		seen[n] = true
		switch o.ID {
		case "00":
			if o.Value != "01" {
				return Payload{}, errf(ErrInvalidField, "field 00 (payload format indicator) is %q; only 01 is defined", o.Value)
			}
		case "01":
			p.PointOfInitiation = o.Value
		case "26":
			subs, err := splitTemplate(o)
			if err != nil {
				return Payload{}, err
			}
			for _, sub := range subs {
				switch sub.ID {
				case "00":
					p.GUID = sub.Value
				case "01":
					p.Reference = sub.Value
				default:
					p.AccountFields = append(p.AccountFields, sub)
				}
			}
		case "52":
			p.MCC = o.Value
		case "53":
			p.CurrencyNumeric = o.Value
		case "54":
			p.Amount = o.Value
		case "58":
			p.CountryCode = o.Value
		case "59":
			p.MerchantName = o.Value
		case "60":
			p.MerchantCity = o.Value
		case "62":
			subs, err := splitTemplate(o)
			if err != nil {
				return Payload{}, err
			}
			for _, sub := range subs {
				if sub.ID == "05" {
					p.ReferenceLabel = sub.Value
				} else {
					p.AdditionalFields = append(p.AdditionalFields, sub)
				}
			}
		case "63":
			// Checked above.
		default:
			p.Extra = append(p.Extra, o)
		}
	}
	// Sorted slices make a parsed payload canonical: two payloads that
	// differ only in field order parse to equal values.
	sortFields(p.AccountFields)
	sortFields(p.AdditionalFields)
	sortFields(p.Extra)
	if err := p.validate(); err != nil {
		return Payload{}, err
	}
	return p, nil
}

// splitTemplate splits the value of template field o into its subfields,
// rejecting repeats so that no subfield is silently dropped.
func splitTemplate(o Field) ([]Field, error) {
	subs, err := splitTLV(o.Value, o.ID)
	if err != nil {
		return nil, errf(ErrInvalidField, "%s is not a well-formed template: %v", fieldName(o.ID), err)
	}
	var seen [100]bool
	for _, sub := range subs {
		n, _ := idNumber(sub.ID)
		if seen[n] {
			return nil, errf(ErrInvalidField, "subfield %s of %s appears more than once", sub.ID, fieldName(o.ID))
		}
		seen[n] = true
	}
	return subs, nil
}

// splitTLV cuts s into data objects. parent is the ID of the enclosing
// template, or "" at the top level, and only names things in errors.
// Lengths count characters, not bytes: EMVCo allows UTF-8 text (a merchant
// name in Japanese in template 64) and counts it by character. s must be
// valid UTF-8.
func splitTLV(s, parent string) ([]Field, error) {
	name := fieldName
	if parent != "" {
		name = func(id string) string { return "subfield " + id + " of " + fieldName(parent) }
	}
	var out []Field
	for pos := 0; pos < len(s); {
		if len(s)-pos < 4 {
			return nil, fmt.Errorf("it ends with %q where a two-digit ID and a two-digit length were expected (the code may be cut off)", s[pos:])
		}
		id, length := s[pos:pos+2], s[pos+2:pos+4]
		if !isDigits(id) {
			return nil, fmt.Errorf("%q at byte %d is not a two-digit data object ID", id, pos)
		}
		if !isDigits(length) {
			return nil, fmt.Errorf("the length %q of %s is not two digits", length, name(id))
		}
		n := int(length[0]-'0')*10 + int(length[1]-'0')
		if n == 0 {
			return nil, fmt.Errorf("%s has length 00; every data object needs a value", name(id))
		}
		start := pos + 4
		end := start
		for i := range n {
			if end >= len(s) {
				return nil, fmt.Errorf("%s claims %d characters but only %d remain (the code may be cut off)", name(id), n, i)
			}
			_, size := utf8.DecodeRuneInString(s[end:])
			end += size
		}
		out = append(out, Field{ID: id, Value: s[start:end]})
		pos = end
	}
	return out, nil
}

// encodeFields writes fields as ID, length, value in ascending ID order.
func encodeFields(fields []Field) string {
	fields = slices.Clone(fields)
	sortFields(fields)
	var b strings.Builder
	for _, f := range fields {
		fmt.Fprintf(&b, "%s%02d%s", f.ID, utf8.RuneCountInString(f.Value), f.Value)
	}
	return b.String()
}

// accountTemplate returns the value of field 26, or "" when p has no GUID.
func (p Payload) accountTemplate() string {
	if p.GUID == "" {
		return ""
	}
	fields := append([]Field{{"00", p.GUID}}, p.AccountFields...)
	if p.Reference != "" {
		fields = append(fields, Field{"01", p.Reference})
	}
	return encodeFields(fields)
}

// additionalTemplate returns the value of field 62, or "" when it is empty.
func (p Payload) additionalTemplate() string {
	fields := slices.Clone(p.AdditionalFields)
	if p.ReferenceLabel != "" {
		fields = append(fields, Field{"05", p.ReferenceLabel})
	}
	return encodeFields(fields)
}

// topLevelModelled lists the IDs Payload has members for; Extra may not
// repeat them, or Encode would write the field twice.
var topLevelModelled = map[string]bool{
	"00": true, "01": true, "26": true, "52": true, "53": true, "54": true,
	"58": true, "59": true, "60": true, "62": true, "63": true,
}

// validate applies every rule a payload must meet. Encode and Parse share
// it, so whatever Parse accepts Encode can write back.
func (p Payload) validate() error {
	switch p.PointOfInitiation {
	case "", InitiationStatic, InitiationDynamic:
	default:
		return errf(ErrInvalidField, "field 01 (point of initiation method) is %q; it must be 11 (static) or 12 (dynamic)", p.PointOfInitiation)
	}

	if p.GUID == "" && (p.Reference != "" || len(p.AccountFields) > 0) {
		return errf(ErrMissingField, "field 26 (merchant account information) needs subfield 00 (globally unique identifier)")
	}
	if p.GUID != "" {
		if err := checkANS("subfield 00 (globally unique identifier) of field 26", p.GUID, 32); err != nil {
			return err
		}
		if p.Reference != "" {
			if err := checkANS("subfield 01 (payment reference) of field 26", p.Reference, 99); err != nil {
				return err
			}
		}
		if err := checkFields(p.AccountFields, "26", func(id string) bool { return id == "00" || id == "01" }); err != nil {
			return err
		}
		if n := utf8.RuneCountInString(p.accountTemplate()); n > 99 {
			return errf(ErrInvalidField, "field 26 (merchant account information) would be %d characters; at most 99 fit", n)
		}
	}
	// EMVCo requires at least one way to pay: template 26 or another
	// network's account in 02-51.
	if p.GUID == "" && !slices.ContainsFunc(p.Extra, func(f Field) bool {
		n, ok := idNumber(f.ID)
		return ok && n >= 2 && n <= 51
	}) {
		return errf(ErrMissingField, "merchant account information (one of fields 02 to 51) is missing")
	}

	if err := checkDigits("52", p.MCC, 4); err != nil {
		return err
	}
	if err := checkDigits("53", p.CurrencyNumeric, 3); err != nil {
		return err
	}
	if p.Amount != "" && !validAmount(p.Amount) {
		return errf(ErrInvalidField, "field 54 (transaction amount) is %q; it must be digits with an optional decimal point, at most 13 characters", p.Amount)
	}
	if p.CountryCode == "" {
		return errf(ErrMissingField, "field 58 (country code) is missing")
	}
	if len(p.CountryCode) != 2 || !isUpper(p.CountryCode[0]) || !isUpper(p.CountryCode[1]) {
		return errf(ErrInvalidField, "field 58 (country code) is %q; it must be two capital letters such as JP", p.CountryCode)
	}
	if p.MerchantName == "" {
		return errf(ErrMissingField, "field 59 (merchant name) is missing")
	}
	if err := checkANS("field 59 (merchant name)", p.MerchantName, 25); err != nil {
		return err
	}
	if p.MerchantCity == "" {
		return errf(ErrMissingField, "field 60 (merchant city) is missing")
	}
	if err := checkANS("field 60 (merchant city)", p.MerchantCity, 15); err != nil {
		return err
	}

	if p.ReferenceLabel != "" {
		if err := checkANS("subfield 05 (reference label) of field 62", p.ReferenceLabel, 25); err != nil {
			return err
		}
	}
	if err := checkFields(p.AdditionalFields, "62", func(id string) bool { return id == "05" }); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(p.additionalTemplate()); n > 99 {
		return errf(ErrInvalidField, "field 62 (additional data) would be %d characters; at most 99 fit", n)
	}

	return checkFields(p.Extra, "", func(id string) bool { return topLevelModelled[id] })
}

// checkFields checks raw fields under parent ("" for the top level):
// two-digit IDs, none that Payload models itself, no repeats, values of 1 to
// 99 characters without control characters, and well-formed nesting in the
// top-level IDs EMVCo defines as templates.
func checkFields(fields []Field, parent string, modelled func(string) bool) error {
	where := func(id string) string {
		if parent == "" {
			return fieldName(id)
		}
		return "subfield " + id + " of " + fieldName(parent)
	}
	var seen [100]bool
	for _, f := range fields {
		n, ok := idNumber(f.ID)
		if !ok {
			return errf(ErrInvalidField, "data object ID %q is not two digits", f.ID)
		}
		if modelled(f.ID) {
			return errf(ErrInvalidField, "%s has its own Payload member; set that instead", where(f.ID))
		}
		if seen[n] {
			return errf(ErrInvalidField, "%s appears more than once", where(f.ID))
		}
		seen[n] = true
		if !utf8.ValidString(f.Value) {
			return errf(ErrInvalidField, "%s is not valid UTF-8 text", where(f.ID))
		}
		if l := utf8.RuneCountInString(f.Value); l < 1 || l > 99 {
			return errf(ErrInvalidField, "%s has %d characters; it must have 1 to 99", where(f.ID), l)
		}
		if strings.ContainsFunc(f.Value, unicode.IsControl) {
			return errf(ErrInvalidField, "%s contains a control character", where(f.ID))
		}
		if parent == "" && isTemplateID(n) {
			if _, err := splitTLV(f.Value, f.ID); err != nil {
				return errf(ErrInvalidField, "%s is not a well-formed template: %v", where(f.ID), err)
			}
		}
	}
	return nil
}

// isTemplateID reports whether EMVCo defines top-level field n as a
// template of nested data objects.
func isTemplateID(n int) bool {
	return (n >= 26 && n <= 51) || n == 62 || n == 64 || n >= 80
}

// checkDigits checks a mandatory field of exactly n decimal digits.
func checkDigits(id, v string, n int) error {
	if v == "" {
		return errf(ErrMissingField, "%s is missing", fieldName(id))
	}
	if len(v) != n || !isDigits(v) {
		return errf(ErrInvalidField, "%s is %q; it must be %d digits", fieldName(id), v, n)
	}
	return nil
}

// checkANS checks an EMVCo "ans" value: 1 to max characters from the
// printable ASCII range, which every scanner can display.
func checkANS(what, v string, max int) error {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7E {
			return errf(ErrInvalidField, "%s may only contain printable ASCII characters (a name in another script belongs in field 64)", what)
		}
	}
	if len(v) > max {
		return errf(ErrInvalidField, "%s has %d characters; at most %d are allowed", what, len(v), max)
	}
	return nil
}

// validAmount reports whether v is 1 to 13 characters of digits with an
// optional decimal point followed by more digits.
func validAmount(v string) bool {
	if len(v) > 13 {
		return false
	}
	whole, frac, hasDot := strings.Cut(v, ".")
	return whole != "" && isDigits(whole) && (!hasDot || (frac != "" && isDigits(frac)))
}

// sortFields sorts fields by ID; IDs are unique, so order is total.
func sortFields(fields []Field) {
	slices.SortFunc(fields, func(a, b Field) int { return cmp.Compare(a.ID, b.ID) })
}

// idNumber returns the number of a two-digit ID.
func idNumber(id string) (int, bool) {
	if len(id) != 2 || !isDigits(id) {
		return 0, false
	}
	return int(id[0]-'0')*10 + int(id[1]-'0'), true
}

// parseHex4 decodes four uppercase hexadecimal digits.
func parseHex4(s string) (uint16, bool) {
	if len(s) != 4 {
		return 0, false
	}
	var v uint16
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint16(c-'0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint16(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// isDigits reports whether s is non-empty and all ASCII decimal digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
