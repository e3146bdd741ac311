package portal

import (
	"html/template"
	"strconv"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

// svgWriter draws a QR matrix as one SVG path, so the code is inline markup
// (no image request, no inline style) and scales sharply on screen and paper.
type svgWriter struct {
	label string
	out   []byte
}

const quietZone = 4 // modules of white around the code, as the standard asks

// Write draws each row's runs of dark modules as one rectangle each
// ("M x y h n v1 h-n z"): a third of the path of one square per module, and
// built with appends, as this ran once for every ticket and was the
// portal's costliest step in a profile.
func (w *svgWriter) Write(mat qrcode.Matrix) error {
	size := mat.Width() + 2*quietZone
	b := make([]byte, 0, 4096)
	b = append(b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `" role="img" aria-label="`...)
	b = append(b, template.HTMLEscapeString(w.label)...)
	b = append(b, `" shape-rendering="crispEdges"><rect width="`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `" height="`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `" fill="#fff"/><path d="`...)
	for y, row := range mat.Bitmap() {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(start+quietZone), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(y+quietZone), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, int64(x-start), 10)
			b = append(b, "v1h-"...)
			b = strconv.AppendInt(b, int64(x-start), 10)
			b = append(b, 'z')
		}
	}
	w.out = append(b, `" fill="#000"/></svg>`...)
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
