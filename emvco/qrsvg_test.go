package emvco_test

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"rsc.io/qr"

	"github.com/renkei/renkei/emvco"
)

type svgDoc struct {
	XMLName        xml.Name `xml:"svg"`
	Width          string   `xml:"width,attr"`
	Height         string   `xml:"height,attr"`
	ViewBox        string   `xml:"viewBox,attr"`
	ShapeRendering string   `xml:"shape-rendering,attr"`
	Role           string   `xml:"role,attr"`
	AriaLabel      string   `xml:"aria-label,attr"`
	Rect           struct {
		Width  string `xml:"width,attr"`
		Height string `xml:"height,attr"`
		Fill   string `xml:"fill,attr"`
	} `xml:"rect"`
	Path struct {
		D    string `xml:"d,attr"`
		Fill string `xml:"fill,attr"`
	} `xml:"path"`
}

var runPattern = regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// TestQRSVG checks the picture module by module: it paints the path's
// rectangles onto a grid and compares the grid with the QR encoder's
// bitmap, quiet zone included.
func TestQRSVG(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		size int
	}{
		{"renkei payload", renkeiExample, 256},
		{"specification example with UTF-8", specExample, 300},
		{"short text", "8812 3456", 1},
		{"XML-looking text", `<svg onload="alert(1)">&amp;`, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svg, err := emvco.QRSVG(tt.text, tt.size)
			if err != nil {
				t.Fatalf("QRSVG: %v", err)
			}
			var doc svgDoc
			if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
				t.Fatalf("QRSVG output is not well-formed XML: %v\n%s", err, svg)
			}
			code, err := qr.Encode(tt.text, qr.M)
			if err != nil {
				t.Fatalf("qr.Encode: %v", err)
			}
			n := code.Size + 8
			size := strconv.Itoa(tt.size)
			checks := []struct{ what, got, want string }{
				{"width", doc.Width, size},
				{"height", doc.Height, size},
				{"viewBox", doc.ViewBox, fmt.Sprintf("0 0 %d %d", n, n)},
				{"shape-rendering", doc.ShapeRendering, "crispEdges"},
				{"role", doc.Role, "img"},
				{"aria-label", doc.AriaLabel, "QR code"},
				{"background width", doc.Rect.Width, strconv.Itoa(n)},
				{"background fill", doc.Rect.Fill, "#fff"},
				{"module fill", doc.Path.Fill, "#000"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}

			grid := make([][]bool, n)
			for y := range grid {
				grid[y] = make([]bool, n)
			}
			for d := doc.Path.D; d != ""; {
				m := runPattern.FindStringSubmatch(d)
				if m == nil {
					t.Fatalf("unexpected path data at %q", d[:min(len(d), 30)])
				}
				x, _ := strconv.Atoi(m[1])
				y, _ := strconv.Atoi(m[2])
				run, _ := strconv.Atoi(m[3])
				if back, _ := strconv.Atoi(m[4]); back != run {
					t.Fatalf("rectangle %q does not close", m[0])
				}
				for i := range run {
					if y >= n || x+i >= n || grid[y][x+i] {
						t.Fatalf("rectangle %q is outside the picture or overlaps another", m[0])
					}
					grid[y][x+i] = true
				}
				d = d[len(m[0]):]
			}
			for y := range n {
				for x := range n {
					// Outside the code, Black is false: the quiet zone is white.
					if want := code.Black(x-4, y-4); grid[y][x] != want {
						t.Fatalf("module (%d,%d) is dark=%v, want %v", x, y, grid[y][x], want)
					}
				}
			}
			if strings.Contains(svg, "alert") {
				t.Error("the encoded text leaked into the SVG markup")
			}
		})
	}
}

func TestQRSVGErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		size       int
		message    string
	}{
		{"empty text", "", 100, "no text"},
		{"zero size", "x", 0, "size 0"},
		{"negative size", "x", -5, "size -5"},
		{"too long for a QR code", strings.Repeat("x", 3000), 100, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svg, err := emvco.QRSVG(tt.text, tt.size)
			if err == nil || svg != "" {
				t.Fatalf("QRSVG = %q, %v; want an error", svg, err)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not mention %q", err, tt.message)
			}
		})
	}
}
