package portal_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/koto-portal/portal/portal/portaltest"
)

// qrPicture is a w×h grayscale picture (one byte a pixel) of text's QR
// code, size pixels wide, centred on a grey background as a letter held up
// to a camera is.
func qrPicture(t testing.TB, text string, w, h, size int) []byte {
	t.Helper()
	pix := bytes.Repeat([]byte{150}, w*h)
	if text == "" {
		return pix
	}
	m, err := qrcode.NewQRCodeWriter().EncodeWithoutHint(text, gozxing.BarcodeFormat_QR_CODE, size, size)
	if err != nil {
		t.Fatal(err)
	}
	x0, y0 := (w-m.GetWidth())/2, (h-m.GetHeight())/2
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			v := byte(240)
			if m.Get(x, y) {
				v = 20
			}
			pix[(y0+y)*w+x0+x] = v
		}
	}
	return pix
}

// pgmFrame is a camera frame as the kiosk's script sends it.
func pgmFrame(w, h int, pix []byte) []byte {
	return append(fmt.Appendf(nil, "P5\n%d %d\n255\n", w, h), pix...)
}

// y4mWithQR writes a video file for Chromium's fake camera: one 640×480
// frame of text's QR code, which the camera shows over and over.
func y4mWithQR(t testing.TB, text string) string {
	t.Helper()
	const w, h = 640, 480
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\nFRAME\n", w, h)
	b.Write(qrPicture(t, text, w, h, 300))
	b.Write(bytes.Repeat([]byte{128}, w*h/2)) // no colour: U and V at their middle
	path := filepath.Join(t.TempDir(), "camera.y4m")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// frameAttempt is one POST of a camera frame from the demo kiosk.
type frameAttempt struct {
	body    []byte
	token   bool              // send the check-in screen's CSRF token
	header  map[string]string // more headers (Origin, a device cookie)
	status  int
	code    string // the text the answer carries
	errCode string // the JSON error's code
}

// The kiosk's camera frames: a frame with an appointment's QR code comes
// back as the code, one without as no content, and anything that is not a
// frame, too big, without the token, from another site or from a device
// that is not a paired kiosk is refused with a clear answer, never a 500.
func TestCheckInFrameEndpoint(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	c := kioskClient(t)
	resp, err := c.Get(in.URL + "/kiosk/demo/checkin?lang=ar")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	csrf := csrfField.FindStringSubmatch(page)
	if csrf == nil || !strings.Contains(page, `data-frame="/kiosk/demo/checkin/frame"`) {
		t.Fatalf("check-in screen (status %d) without a CSRF field or the frame address", resp.StatusCode)
	}
	const w, h = 400, 300
	withCode := pgmFrame(w, h, qrPicture(t, "12345678", w, h, 200))
	blank := pgmFrame(w, h, qrPicture(t, "", w, h, 0))
	for name, a := range map[string]frameAttempt{
		"the appointment's QR code": {body: withCode, token: true, status: http.StatusOK, code: "12345678"},
		"another QR code":           {body: pgmFrame(w, h, qrPicture(t, "https://example.org/x", w, h, 200)), token: true, status: http.StatusOK, code: "https://example.org/x"},
		"no QR code":                {body: blank, token: true, status: http.StatusNoContent},
		"not a frame":               {body: []byte("hello"), token: true, status: http.StatusBadRequest, errCode: "error.bad_request"},
		"a frame a pixel short":     {body: withCode[:len(withCode)-1], token: true, status: http.StatusBadRequest, errCode: "error.bad_request"},
		"too large a frame":         {body: pgmFrame(800, 600, make([]byte, 800*600)), token: true, status: http.StatusRequestEntityTooLarge, errCode: "error.too_large"},
		"an empty body":             {token: true, status: http.StatusBadRequest, errCode: "error.bad_request"},
		"no CSRF token":             {body: withCode, status: http.StatusForbidden, errCode: "error.csrf"},
		"from another site":         {body: withCode, token: true, header: map[string]string{"Origin": "http://evil.example"}, status: http.StatusForbidden, errCode: "error.csrf"},
		"not a paired kiosk":        {body: withCode, token: true, header: map[string]string{"Cookie": "koto_device=not-a-device"}, status: http.StatusForbidden, errCode: "device.not_paired"},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, in.URL+"/kiosk/demo/checkin/frame", bytes.NewReader(a.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("Accept", "application/json")
			if a.token {
				req.Header.Set("X-CSRF-Token", csrf[1])
			}
			for k, v := range a.header {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != a.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, a.status, body)
			}
			if cc := resp.Header.Get("Cache-Control"); a.status < 300 && cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			var got struct {
				Code  string `json:"code"`
				Error struct {
					Code, Message string
				} `json:"error"`
			}
			if body != "" {
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatalf("answer is not JSON: %v: %.300s", err, body)
				}
			}
			if got.Code != a.code {
				t.Errorf("code %q, want %q", got.Code, a.code)
			}
			if a.errCode != "" && (got.Error.Code != a.errCode || got.Error.Message == "") {
				t.Errorf("error %+v, want %s with a message", got.Error, a.errCode)
			}
		})
	}
}
