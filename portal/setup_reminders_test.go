package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
)

func reminderForm(firstOn bool, first string, secondOn bool, second string) url.Values {
	v := url.Values{"prefix": {"V"}, "early": {"30"}, "late": {"15"}, "first_hours": {first}, "second_hours": {second}}
	if firstOn {
		v.Set("first_on", "1")
	}
	if secondOn {
		v.Set("second_on", "1")
	}
	return v
}

// TestLeadSetsReminderTimes: the check-in set-up also holds when the
// appointments' two reminders go and whether each does; bad hours come back
// as localized field errors with what was typed, and save nothing.
func TestLeadSetsReminderTimes(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	const path = "/staff/setup/demo/appointments"
	stored := func() string {
		t.Helper()
		var s string
		if err := owner.QueryRow(t.Context(), `SELECT coalesce((SELECT format('%s %s %s %s', first_reminder_on, first_reminder_hours,
			second_reminder_on, second_reminder_hours) FROM appointment_settings s JOIN service_points p ON p.id = s.service_point_id
			WHERE p.slug = 'demo'), 'defaults')`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	resp, body := lead.get(path + "?lang=fi")
	wantStatus(t, "set-up page", resp, body, http.StatusOK)
	for _, want := range []string{`id="first_on" name="first_on" value="1" checked`, `id="first_hours" name="first_hours" value="24"`,
		`id="second_on" name="second_on" value="1" checked`, `id="second_hours" name="second_hours" value="2"`,
		"Muistutukset asiakkaiden puhelimiin"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}

	resp, body = lead.post(path, reminderForm(true, "48", true, "3"))
	wantStatus(t, "save", resp, body, http.StatusSeeOther)
	if got := stored(); got != "t 48 t 3" {
		t.Fatalf("stored %s, want 48 and 3 hours, both on", got)
	}
	// Off, its hours left empty: kept at the default, the page shows it off.
	resp, body = lead.post(path, reminderForm(true, "30", false, ""))
	wantStatus(t, "second off", resp, body, http.StatusSeeOther)
	if got := stored(); got != "t 30 f 2" {
		t.Fatalf("stored %s, want the first at 30 h and the second off", got)
	}
	if _, body = lead.get(path); strings.Contains(body, `name="second_on" value="1" checked`) || !strings.Contains(body, `name="first_hours" value="30"`) {
		t.Error("the page does not show the second reminder off and the first at 30 h")
	}

	cases := []struct {
		name, field, message string
		form                 url.Values
	}{
		{"first not before the second", "first_hours", "Ensimmäisen muistutuksen pitää tulla ennen toista", reminderForm(true, "3", true, "3")},
		{"not a number", "second_hours", "Anna kokonaisluku.", reminderForm(true, "24", true, "kaksi")},
		{"more than a week", "first_hours", "Luku on sallitun alueen ulkopuolella.", reminderForm(true, "169", true, "2")},
		{"zero hours", "second_hours", "Luku on sallitun alueen ulkopuolella.", reminderForm(true, "24", true, "0")},
		{"on without hours", "first_hours", "Täytä tämä kenttä.", reminderForm(true, "", false, "2")},
		{"off with bad hours", "second_hours", "Anna kokonaisluku.", reminderForm(true, "24", false, "<b>2</b>")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := lead.post(path, tc.form)
			wantStatus(t, tc.name, resp, body, http.StatusUnprocessableEntity)
			if !strings.Contains(body, tc.message) {
				t.Errorf("no message %q", tc.message)
			}
			if !strings.Contains(body, `id="`+tc.field+`-error"`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Error("the error is not tied to its field")
			}
			wantShown(t, tc.name, body, tc.form.Get(tc.field))
		})
	}
	if got := stored(); got != "t 30 f 2" {
		t.Errorf("refused forms changed the settings to %s", got)
	}

	// In Arabic the page is right to left and the error is Arabic.
	resp, body = lead.post(path+"?lang=ar", reminderForm(true, "2", true, "5"))
	wantStatus(t, "Arabic", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `dir="rtl"`) || !strings.Contains(body, "يجب أن يأتي التذكير الأول قبل الثاني") {
		t.Error("the Arabic page is not right to left or lacks its error")
	}
}
