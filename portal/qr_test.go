package portal

import (
	"image"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxingqr "github.com/makiuchi-d/gozxing/qrcode"
)

var qrRun = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
var qrSize = regexp.MustCompile(`viewBox="0 0 (\d+) `)

// The drawn code reads back as the text it was made of, with an independent
// reader, and the label is escaped.
func TestQRReadsBack(t *testing.T) {
	for _, text := range []string{
		"https://koto.example.fi/t/AAAAAAAAAAAAAAAAAAAAAA",
		"https://kotoportaali.espoo.fi/e/Vq3mZk8rT1yXw9LpQe7NbC2dFs5GhJ4aKo6UiRt0WxE",
	} {
		svg, err := qrSVG(text, `a "label" <x>`)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(svg), `aria-label="a &#34;label&#34; &lt;x&gt;"`) {
			t.Fatalf("label not escaped: %.200s", svg)
		}
		got := readQR(t, string(svg))
		if got != text {
			t.Fatalf("read %q back from the code of %q", got, text)
		}
	}
}

// readQR paints the SVG's rectangles four pixels a module and decodes them.
func readQR(t *testing.T, svg string) string {
	t.Helper()
	m := qrSize.FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no size in %.100s", svg)
	}
	size, _ := strconv.Atoi(m[1])
	const px = 4
	img := image.NewGray(image.Rect(0, 0, size*px, size*px))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, r := range qrRun.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		n, _ := strconv.Atoi(r[3])
		for dx := range n * px {
			for dy := range px {
				img.SetGray(x*px+dx, y*px+dy, color.Gray{})
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxingqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the drawn code does not read: %v", err)
	}
	return res.GetText()
}

func BenchmarkQRSVG(b *testing.B) {
	for b.Loop() {
		if _, err := qrSVG("https://koto.example.fi/t/AAAAAAAAAAAAAAAAAAAAAA", "QR"); err != nil {
			b.Fatal(err)
		}
	}
}
