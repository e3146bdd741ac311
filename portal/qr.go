package portal

import (
	"html/template"
	"strconv"

	"rsc.io/qr"
)

const quietZone = 4 // modules of white around the code, as the standard asks

// qrSVG encodes text (a URL) as an inline SVG QR code with an accessible
// label, drawn as one SVG path, so the code is inline markup (no image
// request, no inline style) that scales sharply on screen and paper.
// Medium error correction survives a smudged receipt. rsc.io/qr always uses
// the first mask pattern, which every reader decodes, instead of trying all
// eight for the one a reader likes best: that search was 26 % of the
// portal's CPU while tickets were taken, 35 times the cost of the encoding.
func qrSVG(text, label string) (template.HTML, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", err
	}
	return template.HTML(drawQR(c.Size, c.Black, label)), nil // built from numbers and an escaped label
}

// drawQR draws each row's runs of dark modules as one rectangle each
// ("M x y h n v1 h-n z"), built with appends: this runs for every ticket.
func drawQR(n int, dark func(x, y int) bool, label string) []byte {
	size := n + 2*quietZone
	b := make([]byte, 0, 4096)
	b = append(b, `<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `" role="img" aria-label="`...)
	b = append(b, template.HTMLEscapeString(label)...)
	b = append(b, `" shape-rendering="crispEdges"><rect width="`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `" height="`...)
	b = strconv.AppendInt(b, int64(size), 10)
	b = append(b, `" fill="#fff"/><path d="`...)
	for y := range n {
		for x := 0; x < n; {
			if !dark(x, y) {
				x++
				continue
			}
			start := x
			for x < n && dark(x, y) {
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
	return append(b, `" fill="#000"/></svg>`...)
}
