package camscan

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// frameWithQR draws text's QR code, size pixels wide, at (x, y) on a grey
// w×h frame and returns the frame as a kiosk sends it.
func frameWithQR(t testing.TB, text string, w, h, x, y, size int) []byte {
	t.Helper()
	var body bytes.Buffer
	fmt.Fprintf(&body, "P5\n%d %d\n255\n", w, h)
	pix := bytes.Repeat([]byte{170}, w*h)
	if text != "" {
		m, err := qrcode.NewQRCodeWriter().EncodeWithoutHint(text, gozxing.BarcodeFormat_QR_CODE, size, size)
		if err != nil {
			t.Fatal(err)
		}
		for dy := 0; dy < m.GetHeight(); dy++ {
			for dx := 0; dx < m.GetWidth(); dx++ {
				v := byte(235) // paper, a little darker than white
				if m.Get(dx, dy) {
					v = 25
				}
				pix[(y+dy)*w+x+dx] = v
			}
		}
	}
	body.Write(pix)
	return body.Bytes()
}

func TestReadFindsTheCode(t *testing.T) {
	for _, tc := range []struct {
		name             string
		w, h, x, y, size int
	}{
		{"centred, as the kiosk sends it", 400, 300, 100, 50, 200},
		{"small in a corner", 320, 240, 10, 10, 90},
		{"the largest frame", 640, 480, 300, 200, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(frameWithQR(t, "12345678", tc.w, tc.h, tc.x, tc.y, tc.size))
			if err != nil {
				t.Fatal(err)
			}
			text, ok := Read(f)
			if !ok || text != "12345678" {
				t.Errorf("Read = %q, %v; want the code", text, ok)
			}
		})
	}
}

func TestReadWithoutACode(t *testing.T) {
	f, err := Parse(frameWithQR(t, "", 400, 300, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if text, ok := Read(f); ok {
		t.Errorf("a blank frame reads as %q", text)
	}
	if _, ok := Read(Frame{Width: 100, Height: 100, Pix: make([]byte, 10)}); ok {
		t.Error("a frame with too few pixels reads")
	}
}

// A QR code holding more than a code (a URL, a long text) comes back cut
// to MaxText bytes, still valid text.
func TestReadCutsLongText(t *testing.T) {
	long := strings.Repeat("ä", 60) // 120 bytes
	f, err := Parse(frameWithQR(t, long, 640, 480, 120, 40, 400))
	if err != nil {
		t.Fatal(err)
	}
	text, ok := Read(f)
	if !ok {
		t.Fatal("the long text's code was not found")
	}
	if len(text) > MaxText || !strings.HasPrefix(long, text) || len(text) < MaxText-1 {
		t.Errorf("Read = %d bytes %q, want the first %d bytes of the text", len(text), text, MaxText)
	}
}

func TestParse(t *testing.T) {
	pix := func(n int) string { return strings.Repeat("\x80", n) }
	for _, tc := range []struct {
		name string
		body string
		w, h int // 0: ErrBadFrame
	}{
		{"smallest", "P5\n32 32\n255\n" + pix(32*32), 32, 32},
		{"spaces and tabs", "P5 64\t40\r\n255 " + pix(64*40), 64, 40},
		{"largest", "P5\n640 480\n255\n" + pix(640*480), 640, 480},
		{"empty", "", 0, 0},
		{"text PGM", "P2\n32 32\n255\n" + pix(32*32), 0, 0},
		{"no space after P5", "P532 32\n255\n" + pix(32*32), 0, 0},
		{"too narrow", "P5\n31 32\n255\n" + pix(31*32), 0, 0},
		{"too wide", "P5\n641 32\n255\n" + pix(641*32), 0, 0},
		{"too many pixels", "P5\n640 640\n255\n" + pix(640*640), 0, 0},
		{"sixteen-bit", "P5\n32 32\n65535\n" + pix(2*32*32), 0, 0},
		{"maxval 100", "P5\n32 32\n100\n" + pix(32*32), 0, 0},
		{"a pixel short", "P5\n32 32\n255\n" + pix(32*32-1), 0, 0},
		{"a pixel over", "P5\n32 32\n255\n" + pix(32*32+1), 0, 0},
		{"comment", "P5\n# hi\n32 32\n255\n" + pix(32*32), 0, 0},
		{"long number", "P5\n00032 32\n255\n" + pix(32*32), 0, 0},
		{"negative", "P5\n-32 32\n255\n" + pix(32*32), 0, 0},
		{"no pixels", "P5\n32 32\n255", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.body))
			if tc.w == 0 {
				if !errors.Is(err, ErrBadFrame) {
					t.Errorf("err = %v, want ErrBadFrame", err)
				}
				return
			}
			if err != nil || f.Width != tc.w || f.Height != tc.h || len(f.Pix) != tc.w*tc.h {
				t.Errorf("Parse = %dx%d (%d pixels), %v; want %dx%d", f.Width, f.Height, len(f.Pix), err, tc.w, tc.h)
			}
		})
	}
}

// FuzzFrame feeds Parse, and Read on what it takes, whatever a caller may
// send: neither may panic, Parse takes only frames inside the limits, and
// its pixels are exactly the rest of the body.
func FuzzFrame(f *testing.F) {
	f.Add(frameWithQR(f, "12345678", 64, 64, 4, 4, 56))
	f.Add([]byte("P5\n32 32\n255\n" + strings.Repeat("\x00", 32*32)))
	f.Add([]byte("P5 32 32 255 "))
	f.Add([]byte("P6\n32 32\n255\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		fr, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("Parse: %v, want ErrBadFrame", err)
			}
			return
		}
		if fr.Width < MinSide || fr.Height < MinSide || fr.Width > MaxSide || fr.Height > MaxSide ||
			fr.Width*fr.Height > MaxPixels || len(fr.Pix) != fr.Width*fr.Height || len(body) > MaxBytes {
			t.Fatalf("Parse took a %dx%d frame of %d pixels from %d bytes", fr.Width, fr.Height, len(fr.Pix), len(body))
		}
		if !bytes.HasSuffix(body, fr.Pix) {
			t.Fatal("the pixels are not the body's tail")
		}
		if text, ok := Read(fr); ok && len(text) > MaxText {
			t.Fatalf("Read returned %d bytes", len(text))
		}
	})
}

// BenchmarkRead is what one frame costs the server: a 400×300 frame, as the
// kiosk sends it, with and without a code in it.
func BenchmarkRead(b *testing.B) {
	for _, text := range []string{"12345678", ""} {
		f, err := Parse(frameWithQR(b, text, 400, 300, 100, 50, 200))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("code=%v", text != ""), func(b *testing.B) {
			for b.Loop() {
				Read(f)
			}
		})
	}
}

// A letter is never held straight or lit evenly: the code turned by up to
// 15 degrees, with noise on every pixel and the light falling off to one
// side, is still read.
func TestReadTurnedNoisyCode(t *testing.T) {
	const w, h = 400, 300
	straight, err := Parse(frameWithQR(t, "20481735", w, h, 110, 60, 180))
	if err != nil {
		t.Fatal(err)
	}
	for _, deg := range []float64{-15, -7, 4, 10, 15} {
		t.Run(fmt.Sprintf("%v degrees", deg), func(t *testing.T) {
			turned := make([]byte, w*h)
			sin, cos := math.Sincos(deg * math.Pi / 180)
			r := rand.New(rand.NewPCG(uint64(deg+100), 1))
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					// Sample the straight picture where this pixel turns from.
					dx, dy := float64(x-w/2), float64(y-h/2)
					sx, sy := int(cos*dx+sin*dy)+w/2, int(-sin*dx+cos*dy)+h/2
					v := 170.0
					if sx >= 0 && sx < w && sy >= 0 && sy < h {
						v = float64(straight.Pix[sy*w+sx])
					}
					v = v*(1-0.35*float64(x)/w) + r.NormFloat64()*12
					turned[y*w+x] = byte(max(0, min(255, v)))
				}
			}
			if text, ok := Read(Frame{Width: w, Height: h, Pix: turned}); !ok || text != "20481735" {
				t.Errorf("Read = %q, %v; want the code", text, ok)
			}
		})
	}
}
