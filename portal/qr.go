package portal

import (
	"fmt"
	"html/template"
	"strings"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// svgWriter draws a QR matrix as one SVG path, so the code is inline markup
// (no image request, no inline style) and scales sharply on screen and paper.
type svgWriter struct {
	label string
	out   string
}

const quietZone = 4 // modules of white around the code, as the standard asks

func (w *svgWriter) Write(mat qrcode.Matrix) error {
	var path strings.Builder
	mat.Iterate(qrcode.IterDirection_ROW, func(x, y int, v qrcode.QRValue) {
		if v.IsSet() {
			fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+quietZone, y+quietZone)
		}
	})
	size := mat.Width() + 2*quietZone
	w.out = fmt.Sprintf(`<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" shape-rendering="crispEdges">`+
		`<rect width="%d" height="%d" fill="#fff"/><path d="%s" fill="#000"/></svg>`,
		size, size, template.HTMLEscapeString(w.label), size, size, path.String())
	return nil
}

func (w *svgWriter) Close() error { return nil }

// qrSVG encodes text (a URL) as an inline SVG QR code with an accessible
// label; medium error correction survives a smudged receipt.
func qrSVG(text, label string) (template.HTML, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return "", err
	}
	w := &svgWriter{label: label}
	if err := q.Save(w); err != nil {
		return "", err
	}
	return template.HTML(w.out), nil // built above from numbers and an escaped label
}
