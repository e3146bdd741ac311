package queue

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/camscan"
)

// qrFrame is a 320×240 camera frame showing text's QR code, "" for none.
func qrFrame(t testing.TB, text string) []byte {
	t.Helper()
	const w, h = 320, 240
	pix := bytes.Repeat([]byte{160}, w*h)
	if text != "" {
		m, err := qrcode.NewQRCodeWriter().EncodeWithoutHint(text, gozxing.BarcodeFormat_QR_CODE, 160, 160)
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < m.GetHeight(); y++ {
			for x := 0; x < m.GetWidth(); x++ {
				v := byte(250)
				if m.Get(x, y) {
					v = 10
				}
				pix[(40+y)*w+80+x] = v
			}
		}
	}
	return append(fmt.Appendf(nil, "P5\n%d %d\n255\n", w, h), pix...)
}

// A paired kiosk's frame gives the QR code's text and checks nothing in:
// a wrong code read from a frame is not yet a wrong code typed. Anything
// but a paired kiosk is refused before a frame is read, a frame that is not
// one is refused, and a frame finding every reader busy is sent away.
func TestReadCheckInFrame(t *testing.T) {
	start := futureWednesday(10, 0)
	f := newFixture(t, `{}`, start.Add(-10*time.Minute))
	appt := f.addAppointment(f.staff1, start, "20481735", nil)
	kiosk := f.kioskOf(f.kiosk)

	text, err := f.svc.ReadCheckInFrame(f.ctx, kiosk, qrFrame(t, "20481735"))
	if err != nil || text != "20481735" {
		t.Fatalf("ReadCheckInFrame = %q, %v; want the code", text, err)
	}
	if text, err = f.svc.ReadCheckInFrame(f.ctx, kiosk, qrFrame(t, "")); err != nil || text != "" {
		t.Errorf("a frame without a code: %q, %v", text, err)
	}
	if text, err = f.svc.ReadCheckInFrame(f.ctx, kiosk, qrFrame(t, "99999999")); err != nil || text != "99999999" {
		t.Errorf("a wrong code's frame: %q, %v", text, err)
	}
	if n := f.count(`SELECT count(*) FROM checkin_failures`); n != 0 {
		t.Errorf("reading frames counted %d wrong codes", n)
	}
	if n := f.count(`SELECT count(*) FROM appointments WHERE id = $1 AND status = 'booked'`, appt); n != 1 {
		t.Error("reading a frame changed the appointment")
	}

	display := kiosk
	display.Kind = auth.KindDisplay
	stranger := kiosk
	stranger.Token = "not-a-credential"
	for name, d := range map[string]Device{"a display": display, "a wrong credential": stranger} {
		if _, err := f.svc.ReadCheckInFrame(f.ctx, d, qrFrame(t, "20481735")); !errors.Is(err, ErrUnknownDevice) {
			t.Errorf("%s: %v, want ErrUnknownDevice", name, err)
		}
	}
	if _, err := f.svc.ReadCheckInFrame(f.ctx, kiosk, []byte("P5\n1 1\n255\n\x00")); !errors.Is(err, camscan.ErrBadFrame) {
		t.Errorf("a one-pixel frame: %v, want ErrBadFrame", err)
	}

	// Every reader at work: the next frame is sent away at once.
	for range MaxFrameReads {
		f.svc.frameReads <- struct{}{}
	}
	if _, err := f.svc.ReadCheckInFrame(f.ctx, kiosk, qrFrame(t, "20481735")); !errors.Is(err, ErrFrameBusy) {
		t.Errorf("with every reader busy: %v, want ErrFrameBusy", err)
	}
	<-f.svc.frameReads
	if text, err := f.svc.ReadCheckInFrame(f.ctx, kiosk, qrFrame(t, "20481735")); err != nil || text != "20481735" {
		t.Errorf("with a reader free again: %q, %v", text, err)
	}
}
