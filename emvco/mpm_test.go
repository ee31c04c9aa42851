package emvco_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/renkei/renkei/emvco"
)

// specExample is the merchant-presented payload printed as an example in
// the EMV QRCPS-MPM specification. Its CRC, A13A, comes from the
// specification, and it has fields out of order and Chinese text in
// template 64, counted by character: things our own encoder never writes.
const specExample = "00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A"

// renkeiExample is what Encode writes for renkeiPayload, spelled out by
// hand so that a change to the encoder shows up here. Its CRC is checked
// against referenceCRC16 in TestEncodeGolden.
const renkeiExample = "000201010212263000" + "09jp.renkei0113pr_7Qm2x9KfZ3" +
	"5204581253033925404150058" + "02JP5911RENKEI CAFE6005TOKYO62140510ORDER-1042" + "6304" + "E58A"

var renkeiPayload = emvco.Payload{
	PointOfInitiation: emvco.InitiationDynamic,
	GUID:              "jp.renkei",
	Reference:         "pr_7Qm2x9KfZ3",
	MCC:               "5812",
	CurrencyNumeric:   "392",
	Amount:            "1500",
	CountryCode:       "JP",
	MerchantName:      "RENKEI CAFE",
	MerchantCity:      "TOKYO",
	ReferenceLabel:    "ORDER-1042",
}

// tlv encodes one data object the way the specification describes it.
func tlv(id, value string) string {
	return fmt.Sprintf("%s%02d%s", id, utf8.RuneCountInString(value), value)
}

// withCRC appends field 63 with a correct CRC, computed by the reference
// implementation, so that a test reaches the check it means to test.
func withCRC(body string) string {
	s := body + "6304"
	return s + fmt.Sprintf("%04X", referenceCRC16([]byte(s)))
}

// baseFields is a valid payload without field 63, one entry per field, for
// tests to change one thing at a time.
func baseFields() []emvco.Field {
	return []emvco.Field{
		{ID: "00", Value: "01"},
		{ID: "01", Value: "12"},
		{ID: "26", Value: tlv("00", "jp.renkei") + tlv("01", "tok_123")},
		{ID: "52", Value: "5812"},
		{ID: "53", Value: "392"},
		{ID: "54", Value: "1500"},
		{ID: "58", Value: "JP"},
		{ID: "59", Value: "RENKEI CAFE"},
		{ID: "60", Value: "TOKYO"},
		{ID: "62", Value: tlv("05", "ORDER-1042")},
	}
}

func join(fields []emvco.Field) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(tlv(f.ID, f.Value))
	}
	return b.String()
}

// without returns a valid-CRC payload lacking field id.
func without(id string) string {
	fs := slices.DeleteFunc(baseFields(), func(f emvco.Field) bool { return f.ID == id })
	return withCRC(join(fs))
}

// replaced returns a valid-CRC payload with field id set to value.
func replaced(id, value string) string {
	fs := baseFields()
	for i := range fs {
		if fs[i].ID == id {
			fs[i].Value = value
		}
	}
	return withCRC(join(fs))
}

func TestEncodeGolden(t *testing.T) {
	t.Parallel()
	got, err := emvco.Encode(renkeiPayload)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if got != renkeiExample {
		t.Errorf("Encode =\n%s\nwant\n%s", got, renkeiExample)
	}
	prefix := renkeiExample[:len(renkeiExample)-4]
	if crc := fmt.Sprintf("%04X", referenceCRC16([]byte(prefix))); crc != renkeiExample[len(renkeiExample)-4:] {
		t.Errorf("reference CRC of the golden payload is %s, not the %s it ends with", crc, renkeiExample[len(renkeiExample)-4:])
	}
	p, err := emvco.Parse(got)
	if err != nil {
		t.Fatalf("Parse(Encode(p)): %v", err)
	}
	if !reflect.DeepEqual(p, renkeiPayload) {
		t.Errorf("Parse(Encode(p)) = %+v, want %+v", p, renkeiPayload)
	}
	if !p.IsDynamic() {
		t.Error("IsDynamic() = false for a payload with field 01 = 12")
	}
}

func TestParseSpecExample(t *testing.T) {
	t.Parallel()
	prefix := specExample[:len(specExample)-4]
	if got := referenceCRC16([]byte(prefix)); got != 0xA13A {
		t.Fatalf("reference CRC of the specification example = %04X, want A13A", got)
	}
	p, err := emvco.Parse(specExample)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := emvco.Payload{
		PointOfInitiation: emvco.InitiationDynamic,
		MCC:               "4111",
		CurrencyNumeric:   "156",
		Amount:            "23.72",
		CountryCode:       "CN",
		MerchantName:      "BEST TRANSPORT",
		MerchantCity:      "BEIJING",
		AdditionalFields: []emvco.Field{
			{ID: "03", Value: "1234"},
			{ID: "06", Value: "***"},
			{ID: "07", Value: "A6008667"},
			{ID: "09", Value: "ME"},
		},
		Extra: []emvco.Field{
			{ID: "29", Value: "0012D156000000000510A93FO3230Q"},
			{ID: "31", Value: "0012D15600000001030812345678"},
			{ID: "55", Value: "01"},
			{ID: "64", Value: "0002ZH0104最佳运输0202北京"},
			{ID: "91", Value: "0016A011223344998877070812345678"},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", p, want)
	}

	// Re-encoding sorts the fields, so the text changes but not its length
	// or its meaning.
	enc, err := emvco.Encode(p)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if len(enc) != len(specExample) {
		t.Errorf("re-encoded length %d, original %d", len(enc), len(specExample))
	}
	p2, err := emvco.Parse(enc)
	if err != nil {
		t.Fatalf("Parse(Encode): %v", err)
	}
	if !reflect.DeepEqual(p2, p) {
		t.Errorf("Parse(Encode(p)) = %+v, want %+v", p2, p)
	}
}

func TestParseAcceptsAnyFieldOrder(t *testing.T) {
	t.Parallel()
	want, err := emvco.Parse(withCRC(join(baseFields())))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		fs := baseFields()
		// Field 00 stays first; the rest may come in any order.
		r.Shuffle(len(fs)-1, func(i, j int) { fs[i+1], fs[j+1] = fs[j+1], fs[i+1] })
		s := withCRC(join(fs))
		got, err := emvco.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q) = %+v, want %+v", s, got, want)
		}
	}
}

// atSizeLimit returns a valid payload of exactly emvco.MaxPayloadLen bytes:
// the base fields padded with templates 80 to 83.
func atSizeLimit() string {
	fs := baseFields()
	for id := 80; id < 83; id++ {
		// 4 + 4 + 95 = 103 bytes each.
		fs = append(fs, emvco.Field{ID: fmt.Sprint(id), Value: tlv("00", strings.Repeat("a", 95))})
	}
	rest := emvco.MaxPayloadLen - len(withCRC(join(fs))) - 8
	fs = append(fs, emvco.Field{ID: "83", Value: tlv("00", strings.Repeat("a", rest))})
	return withCRC(join(fs))
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		check func(emvco.Payload) bool
	}{
		{"all fields", withCRC(join(baseFields())), func(p emvco.Payload) bool {
			return p.GUID == "jp.renkei" && p.Reference == "tok_123" && p.ReferenceLabel == "ORDER-1042" && p.Amount == "1500"
		}},
		{"no point of initiation", without("01"), func(p emvco.Payload) bool {
			return p.PointOfInitiation == "" && !p.IsDynamic()
		}},
		{"static", replaced("01", "11"), func(p emvco.Payload) bool { return p.PointOfInitiation == emvco.InitiationStatic }},
		{"no amount", without("54"), func(p emvco.Payload) bool { return p.Amount == "" }},
		{"decimal amount", replaced("54", "12.50"), func(p emvco.Payload) bool { return p.Amount == "12.50" }},
		{"no additional data", without("62"), func(p emvco.Payload) bool { return p.ReferenceLabel == "" && p.AdditionalFields == nil }},
		{"GUID without reference", replaced("26", tlv("00", "jp.renkei")), func(p emvco.Payload) bool {
			return p.GUID == "jp.renkei" && p.Reference == ""
		}},
		{"other subfields of 26 kept", replaced("26", tlv("00", "jp.renkei")+tlv("02", "MID42")), func(p emvco.Payload) bool {
			return reflect.DeepEqual(p.AccountFields, []emvco.Field{{ID: "02", Value: "MID42"}})
		}},
		{"another network's account instead of 26", withCRC(strings.Replace(join(baseFields()), tlv("26", tlv("00", "jp.renkei")+tlv("01", "tok_123")), tlv("04", "4111111111111111"), 1)), func(p emvco.Payload) bool {
			return p.GUID == "" && reflect.DeepEqual(p.Extra, []emvco.Field{{ID: "04", Value: "4111111111111111"}})
		}},
		{"exactly the size limit", atSizeLimit(), func(p emvco.Payload) bool { return len(p.Extra) == 4 }},
	}
	if n := len(atSizeLimit()); n != emvco.MaxPayloadLen {
		t.Fatalf("atSizeLimit is %d bytes, want %d", n, emvco.MaxPayloadLen)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := emvco.Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if !tt.check(p) {
				t.Errorf("Parse(%q) = %+v, which fails the check", tt.in, p)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	valid := withCRC(join(baseFields()))
	tests := []struct {
		name    string
		in      string
		want    error
		message string // a piece of the message a person would read
	}{
		{"empty", "", emvco.ErrMalformed, "empty"},
		{"oversize", withCRC(join(baseFields()) + strings.Repeat(tlv("99", strings.Repeat("x", 99)), 5)), emvco.ErrTooLong, "at most 512"},
		{"not UTF-8", withCRC(join(baseFields()) + tlv("99", "\xff\xfe")), emvco.ErrMalformed, "UTF-8"},

		{"missing 00", without("00"), emvco.ErrMalformed, "begin with field 00"},
		{"missing 52", without("52"), emvco.ErrMissingField, "field 52 (merchant category code)"},
		{"missing 53", without("53"), emvco.ErrMissingField, "field 53 (transaction currency)"},
		{"missing 58", without("58"), emvco.ErrMissingField, "field 58 (country code)"},
		{"missing 59", without("59"), emvco.ErrMissingField, "field 59 (merchant name)"},
		{"missing 60", without("60"), emvco.ErrMissingField, "field 60 (merchant city)"},
		{"missing 63", join(baseFields()), emvco.ErrMissingField, "field 63 (CRC)"},
		{"missing merchant account", without("26"), emvco.ErrMissingField, "merchant account information"},

		{"bad CRC", valid[:len(valid)-1] + string("0123456789ABCDEF"[(strings.IndexByte("0123456789ABCDEF", valid[len(valid)-1])+1)%16]), emvco.ErrBadCRC, "damaged or was altered"},
		{"altered after the CRC was made", strings.Replace(valid, "1500", "1000", 1), emvco.ErrBadCRC, "damaged"},
		{"lowercase CRC", specExample[:len(specExample)-4] + "a13a", emvco.ErrBadCRC, "uppercase hexadecimal"},
		{"CRC of the wrong length", join(baseFields()) + "630512345", emvco.ErrMalformed, "must have 4"},

		{"length not digits", withCRC(join(baseFields()) + "99A1x"), emvco.ErrMalformed, `length "A1"`},
		{"length 00", withCRC(join(baseFields()) + "9900"), emvco.ErrMalformed, "length 00"},
		{"length beyond the end", join(baseFields()) + "5930RENKEI", emvco.ErrMalformed, "only 6 remain"},
		{"truncated by two", valid[:len(valid)-2], emvco.ErrMalformed, "cut off"},
		{"truncated inside a header", valid[:len(valid)-7], emvco.ErrMalformed, "cut off"},
		{"truncated early", valid[:30], emvco.ErrMalformed, "cut off"},
		{"63 not last", valid + tlv("99", "x"), emvco.ErrMalformed, "must be the last"},
		{"63 in the middle", join(baseFields()[:3]) + "6304ABCD" + join(baseFields()[3:]), emvco.ErrMalformed, "must be the last"},
		{"non-digit ID", withCRC(join(baseFields()) + "A1" + "01x"), emvco.ErrMalformed, "two-digit data object ID"},
		{"non-digit ID first", "X0020101021263041234", emvco.ErrMalformed, "two-digit data object ID"},
		{"repeated field", withCRC(join(baseFields()) + tlv("59", "OTHER")), emvco.ErrMalformed, "more than once"},

		{"format indicator 02", replaced("00", "02"), emvco.ErrInvalidField, "only 01"},
		{"point of initiation 13", replaced("01", "13"), emvco.ErrInvalidField, "11 (static) or 12 (dynamic)"},
		{"MCC with a letter", replaced("52", "58A2"), emvco.ErrInvalidField, "4 digits"},
		{"MCC too short", replaced("52", "581"), emvco.ErrInvalidField, "4 digits"},
		{"alphabetic currency", replaced("53", "JPY"), emvco.ErrInvalidField, "3 digits"},
		{"amount with a comma", replaced("54", "1,500"), emvco.ErrInvalidField, "transaction amount"},
		{"amount too long", replaced("54", "12345678901234"), emvco.ErrInvalidField, "13 characters"},
		{"amount ending in a point", replaced("54", "15."), emvco.ErrInvalidField, "transaction amount"},
		{"lowercase country", replaced("58", "jp"), emvco.ErrInvalidField, "two capital letters"},
		{"three-letter country", replaced("58", "JPN"), emvco.ErrInvalidField, "two capital letters"},
		{"name too long", replaced("59", strings.Repeat("N", 26)), emvco.ErrInvalidField, "at most 25"},
		{"name not ASCII", replaced("59", "連携カフェ"), emvco.ErrInvalidField, "printable ASCII"},
		{"city too long", replaced("60", strings.Repeat("C", 16)), emvco.ErrInvalidField, "at most 15"},
		{"control character in name", replaced("59", "RENKEI\nCAFE"), emvco.ErrInvalidField, "printable ASCII"},
		{"template 26 malformed", replaced("26", "0009jp.renk"), emvco.ErrInvalidField, "not a well-formed template"},
		{"template 26 without GUID", replaced("26", tlv("01", "tok_123")), emvco.ErrMissingField, "globally unique identifier"},
		{"GUID too long", replaced("26", tlv("00", strings.Repeat("g", 33))), emvco.ErrInvalidField, "at most 32"},
		{"template 62 with a repeated subfield", replaced("62", tlv("05", "A")+tlv("05", "B")), emvco.ErrInvalidField, "more than once"},
		{"reference label too long", replaced("62", tlv("05", strings.Repeat("L", 26))), emvco.ErrInvalidField, "at most 25"},
		{"other template malformed", withCRC(join(baseFields()) + tlv("64", "0002J")), emvco.ErrInvalidField, "field 64"},
		{"control character in an unknown field", withCRC(join(baseFields()) + tlv("99", "a\x00b")), emvco.ErrInvalidField, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := emvco.Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %+v, %v; want error %v", tt.in, p, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
			if !reflect.DeepEqual(p, emvco.Payload{}) {
				t.Errorf("Parse returned %+v with an error; want the zero Payload", p)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	with := func(change func(*emvco.Payload)) emvco.Payload {
		p := renkeiPayload
		change(&p)
		return p
	}
	tests := []struct {
		name    string
		in      emvco.Payload
		want    error
		message string
	}{
		{"zero payload", emvco.Payload{}, emvco.ErrMissingField, "merchant account"},
		{"reference without GUID", with(func(p *emvco.Payload) { p.GUID = "" }), emvco.ErrMissingField, "globally unique identifier"},
		{"no account at all", with(func(p *emvco.Payload) { p.GUID, p.Reference = "", "" }), emvco.ErrMissingField, "merchant account"},
		{"missing MCC", with(func(p *emvco.Payload) { p.MCC = "" }), emvco.ErrMissingField, "field 52"},
		{"missing currency", with(func(p *emvco.Payload) { p.CurrencyNumeric = "" }), emvco.ErrMissingField, "field 53"},
		{"missing country", with(func(p *emvco.Payload) { p.CountryCode = "" }), emvco.ErrMissingField, "field 58"},
		{"missing name", with(func(p *emvco.Payload) { p.MerchantName = "" }), emvco.ErrMissingField, "field 59"},
		{"missing city", with(func(p *emvco.Payload) { p.MerchantCity = "" }), emvco.ErrMissingField, "field 60"},
		{"bad point of initiation", with(func(p *emvco.Payload) { p.PointOfInitiation = "dynamic" }), emvco.ErrInvalidField, "field 01"},
		{"negative amount", with(func(p *emvco.Payload) { p.Amount = "-5" }), emvco.ErrInvalidField, "field 54"},
		{"template 26 over 99 characters", with(func(p *emvco.Payload) { p.Reference = strings.Repeat("r", 90) }), emvco.ErrInvalidField, "at most 99 fit"},
		{"Extra repeats a modelled field", with(func(p *emvco.Payload) { p.Extra = []emvco.Field{{ID: "59", Value: "X"}} }), emvco.ErrInvalidField, "own Payload member"},
		{"Extra holds the CRC", with(func(p *emvco.Payload) { p.Extra = []emvco.Field{{ID: "63", Value: "ABCD"}} }), emvco.ErrInvalidField, "own Payload member"},
		{"AccountFields holds the GUID", with(func(p *emvco.Payload) { p.AccountFields = []emvco.Field{{ID: "00", Value: "x"}} }), emvco.ErrInvalidField, "own Payload member"},
		{"AdditionalFields holds the label", with(func(p *emvco.Payload) { p.AdditionalFields = []emvco.Field{{ID: "05", Value: "x"}} }), emvco.ErrInvalidField, "own Payload member"},
		{"Extra ID not two digits", with(func(p *emvco.Payload) { p.Extra = []emvco.Field{{ID: "7", Value: "x"}} }), emvco.ErrInvalidField, "not two digits"},
		{"Extra repeated", with(func(p *emvco.Payload) {
			p.Extra = []emvco.Field{{ID: "55", Value: "01"}, {ID: "55", Value: "02"}}
		}), emvco.ErrInvalidField, "more than once"},
		{"Extra empty value", with(func(p *emvco.Payload) { p.Extra = []emvco.Field{{ID: "61", Value: ""}} }), emvco.ErrInvalidField, "1 to 99"},
		{"Extra value too long", with(func(p *emvco.Payload) { p.Extra = []emvco.Field{{ID: "61", Value: strings.Repeat("1", 100)}} }), emvco.ErrInvalidField, "1 to 99"},
		{"Extra template malformed", with(func(p *emvco.Payload) { p.Extra = []emvco.Field{{ID: "80", Value: "hello"}} }), emvco.ErrInvalidField, "well-formed template"},
		{"over 512 bytes", with(func(p *emvco.Payload) {
			for id := 80; id < 86; id++ {
				p.Extra = append(p.Extra, emvco.Field{ID: fmt.Sprint(id), Value: tlv("00", strings.Repeat("x", 95))})
			}
		}), emvco.ErrTooLong, "at most 512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := emvco.Encode(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Encode = %q, %v; want error %v", s, err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}

// randomPayload builds a valid payload from r, exercising every member,
// with Field slices sorted and nil when empty, as Parse returns them.
func randomPayload(r *rand.Rand) emvco.Payload {
	const ans = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
	text := func(min, max int) string {
		b := make([]byte, min+r.IntN(max-min+1))
		for i := range b {
			b[i] = ans[r.IntN(len(ans))]
		}
		return string(b)
	}
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	// unicodeText mixes ASCII with Japanese so that lengths counted in
	// characters and in bytes differ.
	unicodeText := func(min, max int) string {
		rs := make([]rune, min+r.IntN(max-min+1))
		for i := range rs {
			if r.IntN(3) == 0 {
				rs[i] = rune(0x3041 + r.IntN(0x56)) // hiragana
			} else {
				rs[i] = rune(ans[r.IntN(len(ans))])
			}
		}
		return string(rs)
	}
	pickIDs := func(from []int, n int) []string {
		ids := slices.Clone(from)
		r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		out := make([]string, 0, n)
		for _, id := range ids[:n] {
			out = append(out, fmt.Sprintf("%02d", id))
		}
		slices.Sort(out)
		return out
	}

	var p emvco.Payload
	p.PointOfInitiation = []string{"", emvco.InitiationStatic, emvco.InitiationDynamic}[r.IntN(3)]
	if r.IntN(4) != 0 {
		p.GUID = text(1, 32)
		if r.IntN(2) == 0 {
			p.Reference = text(1, 20)
		}
		for _, id := range pickIDs([]int{2, 3, 4, 10, 99}, r.IntN(3)) {
			p.AccountFields = append(p.AccountFields, emvco.Field{ID: id, Value: text(1, 8)})
		}
	}
	p.MCC = digits(4)
	p.CurrencyNumeric = digits(3)
	switch r.IntN(3) {
	case 1:
		p.Amount = digits(1 + r.IntN(13))
	case 2:
		p.Amount = digits(1+r.IntN(6)) + "." + digits(1+r.IntN(6))
	}
	p.CountryCode = string([]byte{byte('A' + r.IntN(26)), byte('A' + r.IntN(26))})
	p.MerchantName = text(1, 25)
	p.MerchantCity = text(1, 15)
	if r.IntN(2) == 0 {
		p.ReferenceLabel = text(1, 25)
	}
	for _, id := range pickIDs([]int{1, 2, 3, 7, 8, 9, 50}, r.IntN(3)) {
		p.AdditionalFields = append(p.AdditionalFields, emvco.Field{ID: id, Value: text(1, 10)})
	}
	// Primitive fields take any text; templates need nested data objects.
	primitive := []int{2, 4, 15, 25, 55, 56, 57, 61, 65, 79}
	template := []int{27, 29, 51, 64, 80, 99}
	for _, id := range pickIDs(append(primitive, template...), r.IntN(4)) {
		var v string
		if slices.Contains(template, atoi(id)) {
			v = tlv("00", unicodeText(1, 20)) + tlv("01", unicodeText(1, 10))
		} else {
			v = unicodeText(1, 30)
		}
		p.Extra = append(p.Extra, emvco.Field{ID: id, Value: v})
	}
	if p.GUID == "" && !slices.ContainsFunc(p.Extra, func(f emvco.Field) bool { return atoi(f.ID) >= 2 && atoi(f.ID) <= 51 }) {
		p.Extra = append(p.Extra, emvco.Field{ID: "04", Value: digits(16)})
		slices.SortFunc(p.Extra, func(a, b emvco.Field) int { return strings.Compare(a.ID, b.ID) })
	}
	return p
}

func atoi(id string) int {
	var n int
	fmt.Sscanf(id, "%d", &n)
	return n
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	encoded := 0
	for range 3000 {
		p := randomPayload(r)
		s, err := emvco.Encode(p)
		if errors.Is(err, emvco.ErrTooLong) {
			continue // a random payload may carry more than fits
		}
		if err != nil {
			t.Fatalf("Encode(%+v): %v", p, err)
		}
		encoded++
		got, err := emvco.Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("Parse(Encode(p)) =\n%+v\nwant\n%+v\npayload %q", got, p, s)
		}
		again, err := emvco.Encode(got)
		if err != nil || again != s {
			t.Fatalf("Encode(Parse(s)) = %q, %v; want %q", again, err, s)
		}
	}
	// Guard against a generator that only makes oversize payloads, which
	// would make this test pass without testing anything.
	if encoded < 2500 {
		t.Errorf("only %d of 3000 random payloads fit in 512 bytes", encoded)
	}
}
