package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/portal/portaltest"
)

// cameraKiosk starts a kiosk browser whose camera shows text's QR code.
// The browser's own QR reader is taken away before any page runs, so the
// kiosk sends its frames to the portal, as on Chromium on Linux, even on a
// browser that has one.
func cameraKiosk(t *testing.T, text string) context.Context {
	t.Helper()
	kiosk := browsertest.New(t, browsertest.Kiosk(), browsertest.FakeCamera(y4mWithQR(t, text)))
	if err := chromedp.Do(kiosk, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: `delete window.BarcodeDetector;`})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}
	return kiosk
}

// scanAtKiosk goes from the kiosk's first screen to its camera in Arabic:
// the language, "I have an appointment", then the camera button.
func scanAtKiosk(kiosk context.Context, t *testing.T, base string) {
	t.Helper()
	browsertest.Open(kiosk, t, base+"/kiosk/demo")
	click(kiosk, t, `a.kiosk-tile[hreflang="ar"]`)
	browsertest.WaitVisible(kiosk, t, ".checkin-tile")
	click(kiosk, t, ".checkin-tile")
	browsertest.WaitVisible(kiosk, t, "#scan")
	if got := browsertest.Attr(kiosk, t, "html", "dir"); got != "rtl" {
		t.Errorf("the check-in screen in Arabic has dir %q", got)
	}
	browsertest.Axe(kiosk, t)
	click(kiosk, t, "#scan")
}

// TestAppointmentCheckInByCamera books an appointment, takes the QR code
// of the code its letter prints, and shows it to the camera of a kiosk
// whose browser cannot read QR codes (Chromium on Linux): the kiosk sends
// frames to the portal, which reads the code, and the check-in is the
// typed code's. The expert's queue screen shows the visitor live. The QR
// code of an appointment that is over gets the wrong typed code's answer,
// naming nobody. Every page passes axe.
func TestAppointmentCheckInByCamera(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	client := queryString(t, in.OwnerURL, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language)
		SELECT municipality_id, id, 'Amina', 'Hassan', 'ar' FROM service_points WHERE slug = 'demo' RETURNING id::text`)
	staff := browsertest.New(t)
	browserLogin(staff, t, in.URL, "expert@example.org", demoPassword)

	// Ten minutes from now: inside the check-in window.
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(helsinki).Add(10 * time.Minute)
	browsertest.Open(staff, t, in.URL+"/staff/clients/"+client+"/appointments/new?lang=fi")
	browsertest.WaitVisible(staff, t, "#booking")
	setValue(staff, t, "#date", start.Format(time.DateOnly))
	setValue(staff, t, "#time", start.Format("15:04"))
	click(staff, t, `#booking button[type="submit"]`)
	browsertest.WaitVisible(staff, t, "#code")
	code := strings.ReplaceAll(browsertest.Text(staff, t, "#code"), " ", "")
	id := queryString(t, in.OwnerURL, `SELECT id::text FROM appointments WHERE code = $1`, code)
	browsertest.Open(staff, t, in.URL+"/staff/appointments/"+id+"/letter?lang=fi")
	browsertest.WaitVisible(staff, t, "#letter")
	printed := strings.ReplaceAll(browsertest.Text(staff, t, "#letter-code"), " ", "")
	if len(printed) != 8 || printed != code {
		t.Fatalf("the letter prints code %q, the booking showed %q", printed, code)
	}

	deskID := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '1'`)
	browsertest.Open(staff, t, in.URL+"/staff/queue/demo?desk="+deskID+"&lang=fi")
	browsertest.WaitVisible(staff, t, ".queue-screen")

	// The letter's QR code before the kiosk's camera.
	kiosk := cameraKiosk(t, printed)
	scanAtKiosk(kiosk, t, in.URL)
	number := checkedInNumber(kiosk, t)
	if got := browsertest.Attr(kiosk, t, "html", "dir"); got != "rtl" {
		t.Errorf("the checked-in screen in Arabic has dir %q", got)
	}
	browsertest.Axe(kiosk, t)
	browsertest.Screenshot(kiosk, t, "kiosk-ar-camera-checked-in")
	waitText(staff, t, ".queue-table", number)
	waitText(staff, t, ".queue-table .queue-appt.mine", "ilmoittautunut")
	if st := queryString(t, in.OwnerURL, `SELECT status FROM appointments WHERE id = $1`, id); st != "checked_in" {
		t.Errorf("the appointment is %s, want checked_in", st)
	}

	// An appointment that is over: its QR code gets the wrong code's answer.
	queryString(t, in.OwnerURL, `INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, starts_at,
			duration_minutes, code, status)
		SELECT c.municipality_id, c.id, c.service_point_id, s.id, 'in_person', now() - interval '3 hours', 30, '33333333', 'attended'
		FROM clients c, staff s WHERE c.id = $1 AND s.email = 'expert@example.org' RETURNING id::text`, client)
	old := cameraKiosk(t, "33333333")
	scanAtKiosk(old, t, in.URL)
	browsertest.WaitVisible(old, t, "#retry")
	if got := browsertest.Text(old, t, "h1[role=alert]"); !strings.Contains(got, "هذا الرمز لا يعمل هنا الآن") {
		t.Errorf("an old appointment's QR code says %q, want the wrong code's message", got)
	}
	if page := browsertest.Text(old, t, "main"); strings.Contains(page, "Amina") || strings.Contains(page, "Hassan") {
		t.Error("the kiosk names the client of an old appointment")
	}
	browsertest.Axe(old, t)
	browsertest.Screenshot(old, t, "kiosk-ar-camera-wrong-code")
}

// framesSent counts the camera frames the page has sent to the portal.
const framesSent = `performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/checkin/frame') >= 0; }).length`

// cameraOn tells whether the check-in screen's camera is on: its picture
// shown and fed by a live stream.
const cameraOn = `(function () { var v = document.getElementById('camera');
  return !v.hidden && !!v.srcObject && v.srcObject.getVideoTracks().some(function (t) { return t.readyState === 'live'; }); })()`

// The kiosk's camera, seeing no QR code, sends a few frames a second and
// turns itself off after its time, and at once when the visitor leaves the
// screen; then no frame is sent any more. Refused frames turn it off for
// good. The screen passes axe while the camera shows its picture.
func TestKioskCameraStops(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	kiosk := cameraKiosk(t, "")
	browsertest.Open(kiosk, t, in.URL+"/kiosk/demo/checkin?lang=fa")
	browsertest.WaitVisible(kiosk, t, "#scan")
	// Three seconds instead of a minute.
	browsertest.Eval[bool](kiosk, t, `document.getElementById('checkin').setAttribute('data-scan-ms', '3000'), true`)
	click(kiosk, t, "#scan")
	browsertest.WaitVisible(kiosk, t, "#camera")
	waitTrue(kiosk, t, framesSent+` >= 3`)
	if !browsertest.Eval[bool](kiosk, t, cameraOn) {
		t.Error("the camera is not on while it looks for a code")
	}
	if got := browsertest.Text(kiosk, t, "#scan-hint"); got != "کد QR را به دوربین نشان دهید" {
		t.Errorf("the camera's caption says %q", got)
	}
	if browsertest.Attr(kiosk, t, "html", "dir") != "rtl" {
		t.Error("the check-in screen in Persian is not right-to-left")
	}
	browsertest.Axe(kiosk, t)
	browsertest.Screenshot(kiosk, t, "kiosk-fa-camera")
	// The time runs out: the camera is off and the button back.
	browsertest.WaitVisible(kiosk, t, "#scan")
	if browsertest.Eval[bool](kiosk, t, cameraOn) {
		t.Error("the camera is still on after its time")
	}
	sent := browsertest.Eval[int](kiosk, t, framesSent)
	time.Sleep(time.Second)
	if n := browsertest.Eval[int](kiosk, t, framesSent); n != sent {
		t.Errorf("%d frames sent after the camera's time ran out", n-sent)
	}

	// On again, then the visitor leaves the screen.
	click(kiosk, t, "#scan")
	browsertest.WaitVisible(kiosk, t, "#camera")
	waitTrue(kiosk, t, cameraOn)
	browsertest.Eval[bool](kiosk, t, `window.dispatchEvent(new PageTransitionEvent('pagehide')), true`)
	if browsertest.Eval[bool](kiosk, t, cameraOn) {
		t.Error("the camera stays on when the visitor leaves the screen")
	}

	// A kiosk whose frames are refused (here a device credential nobody
	// holds, as after the kiosk's pairing is revoked) turns the camera off
	// and keeps only the keypad.
	browsertest.Eval[bool](kiosk, t, `document.cookie = 'koto_device=revoked; path=/', true`)
	click(kiosk, t, "#scan")
	waitTrue(kiosk, t, `document.getElementById('scan').hidden && document.getElementById('camera').hidden && !document.getElementById('camera').srcObject`)
	browsertest.WaitVisible(kiosk, t, ".keypad")
}

// waitTrue waits until a JavaScript expression is true.
func waitTrue(ctx context.Context, t testing.TB, expr string) {
	t.Helper()
	if _, ok := waitFor(ctx, `String(`+expr+`)`, func(got string) bool { return got == "true" }); !ok {
		t.Fatalf("%s never became true", expr)
	}
}
