package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/portal/portaltest"
)

// setValue types a value into a form field, replacing what it held.
func setValue(ctx context.Context, t testing.TB, sel, value string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.SetValue(chromedp.CSS(sel), value)); err != nil {
		t.Fatalf("set %s: %v", sel, err)
	}
}

// typeCode presses a check-in code on the kiosk's keypad, key by key.
func typeCode(ctx context.Context, t testing.TB, code string) {
	t.Helper()
	for _, r := range code {
		if r >= '0' && r <= '9' {
			click(ctx, t, `.keypad .key[data-key="`+string(r)+`"]`)
		}
	}
}

// TestAppointmentCheckIn books an appointment in Finnish and one in
// Swedish (the second for the same time, through the double-booking
// warning), prints the letter, checks in at the kiosk in Arabic with the
// letter's code on the keypad, and sees the expert's queue screen mark the
// visitor as checked in without a reload. A wrong code gets one clear
// answer that names nobody. Every page passes axe.
func TestAppointmentCheckIn(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	client := queryString(t, in.OwnerURL, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language)
		SELECT municipality_id, id, 'Amina', 'Hassan', 'ar' FROM service_points WHERE slug = 'demo' RETURNING id::text`)
	staff := browsertest.New(t)
	kiosk := browsertest.New(t, browsertest.Kiosk())
	browserLogin(staff, t, in.URL, "expert@example.org", demoPassword)

	// Ten minutes from now: inside the check-in window (30 minutes early).
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().In(helsinki).Add(10 * time.Minute)
	var codes []string
	for i, lang := range []string{"fi", "sv"} {
		browsertest.Open(staff, t, in.URL+"/staff/clients/"+client+"/appointments/new?lang="+lang)
		browsertest.WaitVisible(staff, t, "#booking")
		if got := browsertest.Attr(staff, t, "html", "lang"); got != lang {
			t.Fatalf("booking form in %s: <html lang> = %q", lang, got)
		}
		browsertest.Axe(staff, t)
		setValue(staff, t, "#date", start.Format(time.DateOnly))
		setValue(staff, t, "#time", start.Format("15:04"))
		click(staff, t, `#booking button[type="submit"]`)
		if i == 1 {
			// The expert has the Finnish booking then: a warning first.
			browsertest.WaitVisible(staff, t, "#clash")
			browsertest.Axe(staff, t)
			browsertest.Screenshot(staff, t, "appointment-double-booking-sv")
			click(staff, t, "#overlap_ok")
			click(staff, t, `#booking button[type="submit"]`)
		}
		browsertest.WaitVisible(staff, t, "#code")
		browsertest.Axe(staff, t)
		codes = append(codes, strings.ReplaceAll(browsertest.Text(staff, t, "#code"), " ", ""))
	}
	if len(codes[0]) != 8 || codes[0] == codes[1] {
		t.Fatalf("check-in codes %v, want two different eight-digit codes", codes)
	}

	// The client's page lists both.
	browsertest.Open(staff, t, in.URL+"/staff/clients/"+client+"?lang=sv")
	browsertest.WaitVisible(staff, t, "#client-appointments")
	if n := browsertest.Eval[int](staff, t, `document.querySelectorAll('#client-appointments tbody tr').length`); n != 2 {
		t.Errorf("the client's page lists %d appointments, want 2", n)
	}
	browsertest.Axe(staff, t)

	// The letter: Arabic and Finnish, the code and its QR code.
	id := queryString(t, in.OwnerURL, `SELECT id::text FROM appointments WHERE code = $1`, codes[0])
	browsertest.Open(staff, t, in.URL+"/staff/appointments/"+id+"/letter?lang=fi")
	browsertest.WaitVisible(staff, t, "#letter")
	if got := strings.ReplaceAll(browsertest.Text(staff, t, "#letter-code"), " ", ""); got != codes[0] {
		t.Errorf("the letter shows code %q, want %q", got, codes[0])
	}
	if n := browsertest.Eval[int](staff, t, `document.querySelectorAll('.letter-part[lang="ar"][dir="rtl"], .letter-part[lang="fi"]').length`); n != 2 {
		t.Errorf("the letter has %d parts in Arabic and Finnish, want 2", n)
	}
	browsertest.Axe(staff, t)
	browsertest.Screenshot(staff, t, "appointment-letter")

	// The expert's queue screen is open when the client arrives.
	deskID := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '1'`)
	browsertest.Open(staff, t, in.URL+"/staff/queue/demo?desk="+deskID+"&lang=fi")
	browsertest.WaitVisible(staff, t, ".queue-screen")

	// At the kiosk, in Arabic: language, "I have an appointment", the code.
	browsertest.Open(kiosk, t, in.URL+"/kiosk/demo")
	click(kiosk, t, `a.kiosk-tile[hreflang="ar"]`)
	browsertest.WaitVisible(kiosk, t, ".checkin-tile")
	click(kiosk, t, ".checkin-tile")
	browsertest.WaitVisible(kiosk, t, ".keypad")
	if got := browsertest.Attr(kiosk, t, "html", "dir"); got != "rtl" {
		t.Errorf("the check-in screen in Arabic has dir %q", got)
	}
	if browsertest.Eval[bool](kiosk, t, `!document.getElementById('scan').hidden`) {
		t.Error("a kiosk without a camera offers to read a QR code")
	}
	browsertest.Axe(kiosk, t)
	browsertest.Screenshot(kiosk, t, "kiosk-ar-checkin")
	typeCode(kiosk, t, codes[0])
	click(kiosk, t, ".checkin-submit")
	number := checkedInNumber(kiosk, t)
	browsertest.Axe(kiosk, t)
	browsertest.Screenshot(kiosk, t, "kiosk-ar-checked-in")

	// The expert's screen shows the visitor checked in, as theirs, live.
	waitText(staff, t, ".queue-table", number)
	waitText(staff, t, ".queue-table .queue-appt.mine", "ilmoittautunut")
	browsertest.Axe(staff, t)
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tasks WHERE kind = 'checked_in'
		AND assignee_id = (SELECT id FROM staff WHERE email = 'expert@example.org')`); n != "1" {
		t.Errorf("%s checked-in tasks for the expert, want 1", n)
	}

	// A wrong code: one answer, in Arabic, naming nobody.
	browsertest.Open(kiosk, t, in.URL+"/kiosk/demo/checkin?lang=ar")
	browsertest.WaitVisible(kiosk, t, ".keypad")
	typeCode(kiosk, t, "00000000")
	click(kiosk, t, ".checkin-submit")
	browsertest.WaitVisible(kiosk, t, "#retry")
	if got := browsertest.Text(kiosk, t, "h1[role=alert]"); !strings.Contains(got, "هذا الرمز لا يعمل هنا الآن") {
		t.Errorf("a wrong code says %q", got)
	}
	browsertest.Axe(kiosk, t)
	browsertest.Screenshot(kiosk, t, "kiosk-ar-wrong-code")
}

// checkedInNumber waits for the kiosk's ticket after a check-in and checks
// it: the appointments' own letter, and no word of whose appointment it was.
func checkedInNumber(kiosk context.Context, t *testing.T) string {
	t.Helper()
	browsertest.WaitVisible(kiosk, t, ".ticket-number")
	number := browsertest.Text(kiosk, t, ".ticket-number")
	if !strings.HasPrefix(number, "V ") {
		t.Errorf("the check-in's number is %q, want the appointment letter V", number)
	}
	if page := browsertest.Text(kiosk, t, "main"); strings.Contains(page, "Amina") || strings.Contains(page, "Hassan") {
		t.Error("the kiosk shows the client's name")
	}
	return number
}
