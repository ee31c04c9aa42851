package http

import "testing"

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
