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
	browsertest.WaitVisible(kiosk, t, ".ticket-number")
	number := browsertest.Text(kiosk, t, ".ticket-number")
	if !strings.HasPrefix(number, "V ") {
		t.Errorf("the camera's check-in gave number %q, want the appointment letter V", number)
	}
	if page := browsertest.Text(kiosk, t, "main"); strings.Contains(page, "Amina") || strings.Contains(page, "Hassan") {
		t.Error("the kiosk shows the client's name")
	}
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
