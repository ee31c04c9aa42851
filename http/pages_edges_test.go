package http_test

import (
	"bytes"
	"image/png"
	"net/http"
	"strings"
	"testing"
)

// TestFavicon: /favicon.ico is a real ICO holding a PNG, and every page
// links the SVG icon, which is served as an image.
func TestFavicon(t *testing.T) {
	t.Parallel()
	f := newPagesFixture(t)
	b := f.browser("en")
	ico := b.want(b.get("/favicon.ico"), http.StatusOK)
	if ct := ico.header.Get("Content-Type"); ct != "image/x-icon" {
		t.Fatalf("favicon.ico Content-Type %q", ct)
	}
	raw := []byte(ico.body)
	if len(raw) < 22 || !bytes.Equal(raw[:4], []byte{0, 0, 1, 0}) {
		t.Fatalf("favicon.ico is not an ICO: % x", raw[:min(len(raw), 8)])
	}
	img, err := png.Decode(bytes.NewReader(raw[22:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Fatalf("favicon.ico image: %v %v", err, img)
	}
	for _, page := range []string{"/app/login", "/shop/login", "/admin/login", "/partner/login"} {
		r := b.want(b.get(page), http.StatusOK, `rel="icon"`)
		href := pagesField(t, r.body, `rel="icon" href`, "")
		svg := b.want(b.get(href), http.StatusOK, "<svg")
		if ct := svg.header.Get("Content-Type"); !strings.HasPrefix(ct, "image/svg+xml") {
			t.Fatalf("%s: icon %s served as %q", page, href, ct)
		}
	}
}
