package portal_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// A lead sets the reminders' hours in the browser: the set-up page with its
// reminder fields, and its field error, pass axe-core in Finnish and in
// Arabic (right to left); a good form is saved.
func TestReminderTimesSetUpInBrowser(t *testing.T) {
	in, lead := browserAs(t, demo.LeadEmail)
	setValue := func(sel, v string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(lead, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.SetValue(chromedp.CSS(sel), v)); err != nil {
			t.Fatalf("set %s: %v", sel, err)
		}
	}
	for _, lang := range []string{"fi", "ar"} {
		browsertest.Open(lead, t, in.URL+"/staff/setup/demo/appointments?lang="+lang)
		browsertest.WaitVisible(lead, t, "#first_hours")
		browsertest.Axe(lead, t)
	}
	if dir := browsertest.Attr(lead, t, "html", "dir"); dir != "rtl" {
		t.Errorf("Arabic set-up page dir %q", dir)
	}
	// The first reminder after the second: the field's error, in Arabic.
	setValue("#first_hours", "1")
	submitAndWait(lead, t, ".setup-form button[type=submit]", "#first_hours-error")
	browsertest.Axe(lead, t)
	browsertest.Screenshot(lead, t, "reminder-times-error-ar")

	setValue("#first_hours", "48")
	submitAndWait(lead, t, ".setup-form button[type=submit]", ".notice[role=status]")
	if got := queryString(t, in.OwnerURL, `SELECT format('%s %s', first_reminder_hours, second_reminder_hours)
		FROM appointment_settings s JOIN service_points p ON p.id = s.service_point_id WHERE p.slug = 'demo'`); got != "48 2" {
		t.Errorf("stored %q, want 48 and 2 hours", got)
	}
}
