package http

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestJSONTextFault: the body walker names the exact string at fault,
// key or value, however deep, whether the NUL is escaped or the bytes are
// raw; text, numbers and bodies that are not JSON pass (the decoder
// explains those).
func TestJSONTextFault(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body, loc string
	}{
		{`{"memo":"lunch","category":"food"}`, ""},
		{`{"memo":"日本語 ☃ \ud83d\ude00"}`, ""},
		{`{"memo":"a\u0000b"}`, "body.memo"},
		{"{\"memo\":\"a\xffb\"}", "body.memo"},
		{"{\"memo\":\"a\xc0\x80b\"}", "body.memo"},
		{`{"a":1,"b":[true,null,{"c":"ok"},"x\u0000"]}`, "body.b[3]"},
		{`{"input":{"categories":["food","a\u0000"]},"name":"x"}`, "body.input.categories[1]"},
		{`{"policy":{"base_threshold":{"JP\u0000Y":1000}}}`, "body.policy.base_threshold.JP\x00Y"},
		{"{\"ok\":\"fine\",\"k\xff\":1}", "body.k\uFFFD"}, // named as it can be shown
		{`[{"x":1},{"y":"\u0000"}]`, "body[1].y"},
		{`{"memo":"a\u0000`, ""}, // cut off: the decoder says so
		{`not json at all`, ""},
		{`{"amount":1e400}`, ""},
	} {
		loc, fault := jsonTextFault([]byte(c.body))
		if loc != c.loc || (loc != "") != (fault != "") {
			t.Errorf("%q: at %q (%s), want %q", c.body, loc, fault, c.loc)
		}
	}
}

// FuzzJSONTextFault checks the body walker against encoding/json: a
// string the decoder would hand a handler with a NUL, or a body that is
// not UTF-8, is always flagged (no NUL ever reaches the store), and
// nothing is flagged without one.
func FuzzJSONTextFault(f *testing.F) {
	for _, seed := range []string{
		`{"memo":"lunch"}`, `{"memo":"a\u0000b"}`, "{\"memo\":\"a\xffb\"}", `{"a":[{"b":"\u0000"}]}`,
		`{"\u0000":1}`, `["x",1,null,{"y":"z"}]`, `{"a":"\u0000","a":"b"}`, `"\u0000"`, `{`, `{"a":"b"}{"c":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		loc, fault := jsonTextFault(body)
		if (loc == "") != (fault == "") {
			t.Fatalf("%q: location %q with fault %q", body, loc, fault)
		}
		var v any
		if json.Unmarshal(body, &v) == nil && (!utf8.Valid(body) || hasNUL(v)) && fault == "" {
			t.Fatalf("%q decodes to a string that is not text, but passed", body)
		}
		if fault != "" && utf8.Valid(body) && !bytes.Contains(body, []byte(`\u0000`)) {
			t.Fatalf("%q: flagged at %s (%s) without a NUL or a byte that is not UTF-8", body, loc, fault)
		}
	})
}

// hasNUL reports whether a decoded JSON value holds a NUL in any key or
// string.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		return slices.ContainsFunc(x, hasNUL)
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}
