// Package camscan owns reading a QR code from one camera frame that a
// kiosk's check-in screen sends: the frame's format and limits, and the
// decoding. A frame lives in memory for one call and is never kept.
package camscan

import (
	"errors"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Limits of a frame. The kiosk downscales its camera's picture to at most
// 400 pixels a side, where an appointment letter's QR code held up to the
// camera still has several pixels a module; the limits leave room for a
// larger camera setting without letting a caller make the server decode
// (and hold) a photograph.
const (
	MaxSide   = 640
	MinSide   = 32 // smaller than a QR code's 21 modules with any quiet zone
	MaxPixels = 640 * 480
	// MaxBytes is the largest body a frame can be: its pixels and a header.
	MaxBytes = MaxPixels + maxHeader
	// MaxText is the most of a QR code's text Read returns: a check-in
	// code is eight digits, and anything longer is no code at all.
	MaxText = 64

	maxHeader = 32
)

// ErrBadFrame: the body is not a frame, or a frame outside the limits.
var ErrBadFrame = errors.New("camscan: not a camera frame")

// Frame is an 8-bit grayscale picture, rows top to bottom.
type Frame struct {
	Width, Height int
	Pix           []byte // Width*Height bytes; it points into the request body
}

// Parse reads a frame in the binary PGM form ("P5", width, height, 255,
// then one byte a pixel): a header a browser script writes in one line
// and any image tool opens. Comments and other maximum values are not
// taken, so there is one way to say a frame and little to parse.
func Parse(b []byte) (Frame, error) {
	if len(b) > MaxBytes || len(b) < 3 || b[0] != 'P' || b[1] != '5' {
		return Frame{}, ErrBadFrame
	}
	i := 2
	var nums [3]int
	for k := range nums {
		// One or more whitespace characters before each number.
		start := i
		for i < len(b) && i < maxHeader && isSpace(b[i]) {
			i++
		}
		if i == start {
			return Frame{}, ErrBadFrame
		}
		n, digits := 0, 0
		for i < len(b) && i < maxHeader && b[i] >= '0' && b[i] <= '9' {
			n = n*10 + int(b[i]-'0')
			digits++
			i++
			if digits > 4 {
				return Frame{}, ErrBadFrame
			}
		}
		if digits == 0 {
			return Frame{}, ErrBadFrame
		}
		nums[k] = n
	}
	// Exactly one whitespace character ends the header.
	if i >= len(b) || i >= maxHeader || !isSpace(b[i]) {
		return Frame{}, ErrBadFrame
	}
	i++
	w, h, maxval := nums[0], nums[1], nums[2]
	if maxval != 255 || w < MinSide || h < MinSide || w > MaxSide || h > MaxSide || w*h > MaxPixels {
		return Frame{}, ErrBadFrame
	}
	if len(b)-i != w*h {
		return Frame{}, ErrBadFrame
	}
	return Frame{Width: w, Height: h, Pix: b[i:]}, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// Read finds a QR code in the frame and returns its text, at most MaxText
// bytes of it; ok is false when the frame shows none (the usual answer:
// most frames catch a hand on its way). Read copies nothing out of the
// frame that outlives the call.
func Read(f Frame) (text string, ok bool) {
	if f.Width < MinSide || f.Height < MinSide || len(f.Pix) != f.Width*f.Height {
		return "", false
	}
	// The gray bytes are what a planar YUV picture's luminance plane is,
	// so the decoder reads them where they are, without a copy.
	src, err := gozxing.NewPlanarYUVLuminanceSource(f.Pix, f.Width, f.Height, 0, 0, f.Width, f.Height, false)
	if err != nil {
		return "", false
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return "", false
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", false
	}
	text = res.GetText()
	if len(text) > MaxText {
		text = text[:MaxText]
		for !utf8.ValidString(text) {
			text = text[:len(text)-1]
		}
	}
	return text, true
}
