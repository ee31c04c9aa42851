package http

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
)

// Browsers ask for /favicon.ico whatever the page links, and a 404 for it
// shows in every log and tab. The pages link the SVG in static/; this is
// the same mark, two linked rings (連携) on the brand blue, as a 32 px PNG
// inside an ICO container (valid since Windows Vista and in every browser).
var faviconICO = makeFaviconICO()

func makeFaviconICO() []byte {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	blue := color.NRGBA{0x0a, 0x4f, 0xb8, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	ring := func(x, y, cx float64) bool {
		d := math.Hypot(x-cx, y-16)
		return d >= 5 && d <= 8
	}
	for y := range size {
		for x := range size {
			fx, fy := float64(x)+.5, float64(y)+.5
			c := blue
			if ring(fx, fy, 12) || ring(fx, fy, 20) {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, img); err != nil {
		panic(err)
	}
	var b bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image.
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	// ICONDIRENTRY: width, height, colours, reserved, planes, bpp, size, offset.
	b.Write([]byte{size, size, 0, 0})
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(pngBuf.Len()), 6 + 16})
	b.Write(pngBuf.Bytes())
	return b.Bytes()
}

// favicon serves the ICO; it changes only with the binary, so a day of
// caching is safe.
func favicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/x-icon")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(faviconICO)
}
