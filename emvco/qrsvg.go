package emvco

import (
	"errors"
	"fmt"
	"strings"

	"rsc.io/qr"
)

// quietZone is the blank border, in modules, that the QR standard requires
// so a scanner can find the code's edges against a busy background.
const quietZone = 4

// QRSVG returns an inline SVG picture of a QR code holding text, size
// pixels wide and high. It uses error correction level M (15% of the
// code may be lost), which survives a scuffed print or a glare on a screen
// without making the code much denser. The modules are one path on a white
// square, scaled by the viewBox so the picture stays sharp at any size.
func QRSVG(text string, size int) (string, error) {
	if text == "" {
		return "", errors.New("qr svg: no text to encode")
	}
	if size <= 0 {
		return "", fmt.Errorf("qr svg: size %d is not a positive number of pixels", size)
	}
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", fmt.Errorf("qr svg: %w", err)
	}
	n := code.Size + 2*quietZone

	var path strings.Builder
	for y := range code.Size {
		for x := 0; x < code.Size; {
			if !code.Black(x, y) {
				x++
				continue
			}
			// One rectangle per run of dark modules keeps the path short.
			run := 1
			for code.Black(x+run, y) {
				run++
			}
			fmt.Fprintf(&path, "M%d %dh%dv1h-%dz", x+quietZone, y+quietZone, run, run)
			x += run
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" shape-rendering="crispEdges" role="img" aria-label="QR code">`, size, size, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`, n, n)
	fmt.Fprintf(&b, `<path d="%s" fill="#000"/>`, path.String())
	b.WriteString(`</svg>`)
	return b.String(), nil
}
