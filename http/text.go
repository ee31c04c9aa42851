package http

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// Every string Renkei accepts (path ids, query parameters, headers, JSON
// bodies, page forms) must be text: valid UTF-8 without NUL. PostgreSQL
// refuses anything else (SQLSTATE 22021) where SQLite would store it, so
// without one check at the door the same request failed on one engine
// and not on the other. The check sits in front of every handler; no
// handler needs to remember it.

// textFault says what is wrong with s as text, or "" when nothing is.
func textFault(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8 text"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL character (U+0000), which no text field may contain"
	}
	return ""
}

// textFaultBytes is textFault for raw bytes.
func textFaultBytes(b []byte) string {
	if !utf8.Valid(b) {
		return "is not valid UTF-8 text"
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return "contains a NUL character (U+0000), which no text field may contain"
	}
	return ""
}

// jsonTextFault walks a JSON body and returns the first string (key or
// value) that is not text, as a huma location ("body.memo",
// "body.items[2]"), with what is wrong. A body that is not JSON is left
// to the decoder, which explains its own errors.
func jsonTextFault(body []byte) (location, fault string) {
	type frame struct {
		array   bool
		index   int    // array: the element being read
		key     string // object: the member being read
		wantKey bool   // object: the next string is a key
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		b.WriteString("body")
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
			} else {
				b.WriteString("." + f.key)
			}
		}
		return b.String()
	}
	begin := func() { // a value starts in the innermost container
		if n := len(stack); n > 0 && stack[n-1].array {
			stack[n-1].index++
		}
	}
	end := func() { // a value ended: an object wants its next key
		if n := len(stack); n > 0 && !stack[n-1].array {
			stack[n-1].wantKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var prev int64
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", "" // the end, or not JSON: the decoder says why
		}
		// The bytes of this token as sent: the decoder would turn bytes
		// that are not UTF-8 into U+FFFD without a word.
		cur := dec.InputOffset()
		raw := body[prev:cur]
		prev = cur
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				begin()
				stack = append(stack, frame{array: v == '[', index: -1, wantKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
				end()
			}
		case string:
			n := len(stack)
			isKey := n > 0 && !stack[n-1].array && stack[n-1].wantKey
			if isKey {
				stack[n-1].key, stack[n-1].wantKey = v, false
			} else {
				begin()
			}
			if f := textFaultBytes(raw); f != "" {
				return path(), f
			}
			if f := textFault(v); f != "" {
				return path(), f
			}
			if !isKey {
				end()
			}
		default:
			begin()
			end()
		}
	}
}

// textProblem is the 422 of a request with a string that is not text.
func textProblem(location, fault string) *Problem {
	return newProblem(http.StatusUnprocessableEntity, "", &huma.ErrorDetail{Location: location, Message: fault})
}

// checkText is the API's guard: every declared path, query and header
// parameter and every string in a JSON body must be text, or the call is
// refused with 422 before any handler runs.
func (s *Server) checkText(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op == nil {
		next(ctx)
		return
	}
	for _, p := range op.Parameters {
		var v string
		switch p.In {
		case "path":
			v = ctx.Param(p.Name)
		case "query":
			v = ctx.Query(p.Name)
		case "header":
			v = ctx.Header(p.Name)
		default:
			continue
		}
		if f := textFault(v); f != "" {
			writeHumaProblem(s.api, ctx, textProblem(p.In+"."+p.Name, f))
			return
		}
	}
	if op.RequestBody != nil && op.RequestBody.Content["application/json"] != nil {
		ct := ctx.Header("Content-Type")
		if ct == "" || strings.Contains(ct, "json") {
			r, _ := humago.Unwrap(ctx)
			body, err := io.ReadAll(r.Body)
			// The handler reads the body again, as it was sent; a read
			// error (a body over the limit) reaches it unchanged.
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(body), errReader{err}), r.Body}
			if err == nil {
				if loc, f := jsonTextFault(body); f != "" {
					writeHumaProblem(s.api, ctx, textProblem(loc, f))
					return
				}
			}
		}
	}
	next(ctx)
}

// errReader reads as err, or as the end when err is nil.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	return 0, io.EOF
}

// pageTextFault is the pages' guard: the name of the first part of the
// request (the path, a query parameter or a form field) that is not
// text, or "" when all of it is. It parses the form, which the handlers
// then read as usual.
func pageTextFault(r *http.Request) string {
	if textFault(r.URL.Path) != "" {
		return "path"
	}
	if f := valuesTextFault(r.URL.Query()); f != "" {
		return f
	}
	if r.Method == http.MethodPost {
		r.ParseForm() // a form it cannot read is the handler's to explain
		return valuesTextFault(r.PostForm)
	}
	return ""
}

// valuesTextFault names the first key (in order) of vs whose name or a
// value is not text.
func valuesTextFault(vs url.Values) string {
	keys := make([]string, 0, len(vs))
	for k := range vs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if textFault(k) != "" {
			// Name what of it can be shown.
			if name := strings.ToValidUTF8(strings.ReplaceAll(k, "\x00", ""), ""); name != "" {
				return name
			}
			return "?"
		}
		for _, v := range vs[k] {
			if textFault(v) != "" {
				return k
			}
		}
	}
	return ""
}
