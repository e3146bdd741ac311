package portal

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/yeqown/go-qrcode/v2"
)

var qrRun = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// The drawn path covers exactly the dark modules of the code, no more.
func TestQRPathIsTheMatrix(t *testing.T) {
	text := "https://koto.example.fi/t/AAAAAAAAAAAAAAAAAAAAAA"
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		t.Fatal(err)
	}
	var want [][]bool
	w := &svgWriter{label: `a "label" <x>`}
	if err := q.Save(w); err != nil {
		t.Fatal(err)
	}
	q2, _ := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err := q2.Save(matrixGrab(func(m qrcode.Matrix) { want = m.Bitmap() })); err != nil {
		t.Fatal(err)
	}
	svg := string(w.out)
	if !strings.Contains(svg, `aria-label="a &#34;label&#34; &lt;x&gt;"`) {
		t.Fatalf("label not escaped: %.200s", svg)
	}
	got := make([][]bool, len(want))
	for i := range got {
		got[i] = make([]bool, len(want[i]))
	}
	for _, m := range qrRun.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		n, _ := strconv.Atoi(m[3])
		for i := range n {
			got[y-quietZone][x-quietZone+i] = true
		}
	}
	for y := range want {
		for x := range want[y] {
			if got[y][x] != want[y][x] {
				t.Fatalf("module %d,%d drawn %v, is %v", x, y, got[y][x], want[y][x])
			}
		}
	}
}

type matrixGrab func(qrcode.Matrix)

func (g matrixGrab) Write(m qrcode.Matrix) error { g(m); return nil }
func (g matrixGrab) Close() error                { return nil }

func BenchmarkQRSVG(b *testing.B) {
	for b.Loop() {
		if _, err := qrSVG("https://koto.example.fi/t/AAAAAAAAAAAAAAAAAAAAAA", "QR"); err != nil {
			b.Fatal(err)
		}
	}
}
