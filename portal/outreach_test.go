package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/push/pushtest"
	"github.com/koto-portal/portal/portal/portaltest"
)

var enrolLink = regexp.MustCompile(`/e/([A-Za-z0-9_-]{43})\b`)

// The whole way from the expert's letter to a task: the letter in the
// client's language and Finnish, the phone's link used once, the client's
// page in their language with the check-in code, and "I can't come" with a
// reason landing as a task for the appointment's expert.
func TestClientEnrolsSeesAppointmentAndAnswers(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	client, expert, appt := outreachClient(t, in)
	staff := newSecBrowser(t, in)
	staff.login(demo.ExpertEmail)
	if r := staff.get(fmt.Sprintf("/staff/clients/%d", client)); !strings.Contains(r.Body, fmt.Sprintf(`action="/staff/clients/%d/enrolments"`, client)) {
		t.Errorf("the client's page offers no enrolment (%d)", r.Status)
	}
	link := enrolmentLink(t, staff, client)

	phone := newSecBrowser(t, in)
	first := phone.get(link)
	tok := secHiddenCSRF.FindStringSubmatch(first.Body)
	if first.Status != http.StatusOK || tok == nil || first.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET %s: %d, referrer policy %q", link, first.Status, first.Header.Get("Referrer-Policy"))
	}
	bound := phone.do(http.MethodPost, link, url.Values{"_csrf": {tok[1]}}, nil)
	if bound.Status != http.StatusSeeOther || !strings.HasPrefix(bound.Location, "/c/") {
		t.Fatalf("POST %s: %d to %q", link, bound.Status, bound.Location)
	}
	home := bound.Location
	if again := phone.do(http.MethodPost, link, url.Values{"_csrf": {tok[1]}}, nil); again.Status != http.StatusGone {
		t.Errorf("the link worked twice: %d", again.Status)
	}

	page := phone.get(home)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `<html lang="so" dir="ltr">`) ||
		!strings.Contains(page.Body, "3141 5926") || !strings.Contains(page.Body, "Hodan") ||
		page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("client page: %d\n%s", page.Status, page.Body)
	}
	if strings.Contains(page.Body, "Warsame") {
		t.Error("the client page shows more of the name than it needs")
	}
	csrf := secHiddenCSRF.FindStringSubmatch(page.Body)[1]
	answer := phone.do(http.MethodPost, home+"/answers", url.Values{"_csrf": {csrf}, "kind": {"cannot_come"},
		"appointment": {fmt.Sprint(appt)}, "reason": {"Lapsi on sairaana"}}, nil)
	if answer.Status != http.StatusSeeOther || answer.Location != home+"?done=answer" {
		t.Fatalf("answer: %d to %q\n%s", answer.Status, answer.Location, answer.Body)
	}
	var kind, details string
	var assignee int64
	if err := owner.QueryRow(ctx, `SELECT kind, details, assignee_id FROM tasks WHERE client_id = $1`, client).
		Scan(&kind, &details, &assignee); err != nil || kind != "cannot_come" || details != "Lapsi on sairaana" || assignee != expert {
		t.Errorf("task %s %q for %d, %v", kind, details, assignee, err)
	}
	after := phone.get(home + "?done=answer")
	if strings.Contains(after.Body, "3141 5926") || !strings.Contains(after.Body, `id="client-notice"`) {
		t.Errorf("after I can't come the appointment is still listed or no notice:\n%s", after.Body)
	}

	if ar := phone.get(home + "?lang=ar"); !strings.Contains(ar.Body, `<html lang="ar" dir="rtl">`) {
		t.Errorf("?lang=ar: %.300s", ar.Body)
	}
	if kept := phone.get(home); !strings.Contains(kept.Body, `<html lang="ar" dir="rtl">`) {
		t.Errorf("the chosen language was not kept over the client's own")
	}

	man := phone.get(home + "/manifest.webmanifest")
	var manifest struct {
		StartURL string `json:"start_url"`
		Display  string `json:"display"`
		Icons    []struct {
			Sizes string `json:"sizes"`
		} `json:"icons"`
	}
	if err := json.Unmarshal([]byte(man.Body), &manifest); err != nil || manifest.StartURL != home || manifest.Display != "standalone" ||
		len(manifest.Icons) < 2 || manifest.Icons[0].Sizes != "192x192" || manifest.Icons[1].Sizes != "512x512" {
		t.Errorf("manifest %d %+v %v", man.Status, manifest, err)
	}

	for _, bad := range []url.Values{{"kind": {"maybe"}}, {"kind": {"coming"}, "appointment": {"x"}}} {
		bad.Set("_csrf", csrf)
		if r := phone.do(http.MethodPost, home+"/answers", bad, nil); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("answer %v: %d, want 422", bad, r.Status)
		}
	}
	if r := phone.get("/c/" + strings.Repeat("A", 43)); r.Status != http.StatusNotFound {
		t.Errorf("unknown credential: %d", r.Status)
	}
	forget := phone.do(http.MethodPost, home+"/forget", url.Values{"_csrf": {csrf}}, nil)
	if forget.Status != http.StatusOK {
		t.Errorf("forget: %d", forget.Status)
	}
	if r := phone.get(home); r.Status != http.StatusNotFound {
		t.Errorf("forgotten phone still opens the page: %d", r.Status)
	}
}

// outreachClient registers Hodan (Somali) with the demo expert as her
// responsible expert and an appointment with a check-in code tomorrow.
func outreachClient(t *testing.T, in *portaltest.Instance) (client, expert, appt int64) {
	t.Helper()
	owner := secOwner(t, in)
	ctx := context.Background()
	if err := owner.QueryRow(ctx, `SELECT id FROM staff WHERE email = $1`, demo.ExpertEmail).Scan(&expert); err != nil {
		t.Fatal(err)
	}
	if err := owner.QueryRow(ctx, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language, responsible_staff_id)
		SELECT municipality_id, id, 'Hodan', 'Warsame', 'so', $2 FROM service_points WHERE slug = $1 RETURNING id`,
		demo.ServicePoint, expert).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := owner.QueryRow(ctx, `INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel,
		starts_at, duration_minutes, code) SELECT municipality_id, $1, id, $2, 'in_person', $3, 30, '31415926'
		FROM service_points WHERE slug = $4 RETURNING id`, client, expert, time.Now().Add(26*time.Hour), demo.ServicePoint).Scan(&appt); err != nil {
		t.Fatal(err)
	}
	return client, expert, appt
}

// enrolmentLink has the logged-in expert make the client's letter and
// returns the link it carries.
func enrolmentLink(t *testing.T, staff *secBrowser, client int64) string {
	t.Helper()
	letter := staff.do(http.MethodPost, fmt.Sprintf("/staff/clients/%d/enrolments", client), url.Values{"_csrf": {staff.csrf}}, nil)
	if letter.Status != http.StatusOK || !strings.Contains(letter.Body, `lang="so"`) || !strings.Contains(letter.Body, `lang="fi"`) ||
		!strings.Contains(letter.Body, "<svg") {
		t.Fatalf("letter: %d\n%s", letter.Status, letter.Body)
	}
	if cc := letter.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("letter Cache-Control %q", cc)
	}
	m := enrolLink.FindStringSubmatch(letter.Body)
	if m == nil {
		t.Fatalf("no enrolment link in the letter")
	}
	return m[0]
}

// enrolledPhone has the demo expert enrol a phone for the client and
// returns the expert's browser, the phone's, and the phone's page.
func enrolledPhone(t *testing.T, in *portaltest.Instance, client int64) (staff, phone *secBrowser, home string) {
	t.Helper()
	staff = newSecBrowser(t, in)
	staff.login(demo.ExpertEmail)
	phone = newSecBrowser(t, in)
	link := enrolmentLink(t, staff, client)
	tok := secHiddenCSRF.FindStringSubmatch(phone.get(link).Body)
	if tok == nil {
		t.Fatalf("the enrolment page has no CSRF field")
	}
	home = phone.do(http.MethodPost, link, url.Values{"_csrf": {tok[1]}}, nil).Location
	return staff, phone, home
}

// The phone's service worker reports a reminder shown and tapped without
// the page's CSRF token (it cannot read it), from its own origin only; the
// expert's summary of the client then says how far each reminder got, in
// the expert's language.
func TestPhoneReceiptsReachTheExpertsSummary(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	client, _, appt := outreachClient(t, in)
	staff, _, home := enrolledPhone(t, in, client)
	var delivery int64
	if err := owner.QueryRow(ctx, `INSERT INTO client_deliveries (municipality_id, client_id, device_id, appointment_id, kind, status)
		SELECT municipality_id, client_id, id, $2, 'reminder_24h', 'sent' FROM client_devices WHERE client_id = $1 RETURNING id`,
		client, appt).Scan(&delivery); err != nil {
		t.Fatal(err)
	}
	receipt := func(body, origin string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, in.URL+home+"/receipts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	status := func() string {
		var s string
		if err := owner.QueryRow(ctx, `SELECT status FROM client_deliveries WHERE id = $1`, delivery).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	shown := fmt.Sprintf(`{"delivery":%d,"event":"delivered"}`, delivery)
	if got := receipt(shown, "https://evil.example"); got != http.StatusForbidden || status() != "sent" {
		t.Errorf("a receipt from another site: %d, delivery %s", got, status())
	}
	if got := receipt(shown, in.URL); got != http.StatusNoContent || status() != "delivered" {
		t.Errorf("the phone's receipt: %d, delivery %s", got, status())
	}
	for body, want := range map[string]int{`{"delivery":1,"event":"answered"}`: 422, `not json`: 400} {
		if got := receipt(body, in.URL); got != want {
			t.Errorf("receipt %s: %d, want %d", body, got, want)
		}
	}
	if got := receipt(shown, ""); got != http.StatusNoContent {
		t.Errorf("a repeated receipt: %d", got)
	}
	if got := receipt(fmt.Sprintf(`{"delivery":%d,"event":"opened"}`, delivery), in.URL); got != http.StatusNoContent || status() != "opened" {
		t.Errorf("tapped: %d, delivery %s", got, status())
	}
	for lang, want := range map[string]string{"fi": "edellisenä päivänä · avattu", "sv": "dagen före · öppnad"} {
		if r := staff.get(fmt.Sprintf("/staff/clients/%d/summary?lang=%s", client, lang)); !strings.Contains(r.Body, want) {
			t.Errorf("the %s summary does not say %q: %d", lang, want, r.Status)
		}
	}
}

// The client turns reminders off on their phone and keeps the phone; the
// expert's summary says so, and the client can turn them on again.
func TestClientTurnsRemindersOffAndOn(t *testing.T) {
	in := secStart(t, portaltest.WithPush(pushtest.NewServer(t).Sender()))
	owner := secOwner(t, in)
	ctx := context.Background()
	client, _, _ := outreachClient(t, in)
	staff, phone, home := enrolledPhone(t, in, client)
	if _, err := owner.Exec(ctx, `UPDATE client_devices SET push_subscription = '{"endpoint":"https://push.example.org/x"}' WHERE client_id = $1`, client); err != nil {
		t.Fatal(err)
	}
	off := func() bool {
		var b bool
		if err := owner.QueryRow(ctx, `SELECT notifications_off FROM client_devices WHERE client_id = $1`, client).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	page := phone.get(home + "?lang=fi")
	csrf := secHiddenCSRF.FindStringSubmatch(page.Body)[1]
	if !strings.Contains(page.Body, `value="off"`) {
		t.Fatalf("a phone with reminders on offers no way to stop them:\n%s", page.Body)
	}
	r := phone.do(http.MethodPost, home+"/reminders", url.Values{"_csrf": {csrf}, "reminders": {"off"}}, nil)
	if r.Status != http.StatusSeeOther || !off() {
		t.Fatalf("turning reminders off: %d, off %v", r.Status, off())
	}
	page = phone.get(r.Location)
	if !strings.Contains(page.Body, "Muistutukset ovat pois päältä tässä puhelimessa.") || !strings.Contains(page.Body, `value="on"`) {
		t.Errorf("after turning them off the page neither says so nor offers them again:\n%s", page.Body)
	}
	if s := staff.get(fmt.Sprintf("/staff/clients/%d/summary?lang=fi", client)); !strings.Contains(s.Body, "asiakas on poistanut ilmoitukset") {
		t.Errorf("the expert's summary does not show the reminders turned off (%d)", s.Status)
	}
	if r := phone.do(http.MethodPost, home+"/reminders", url.Values{"_csrf": {csrf}, "reminders": {"maybe"}}, nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("reminders=maybe: %d, want 422", r.Status)
	}
	if r := phone.do(http.MethodPost, home+"/reminders", url.Values{"reminders": {"on"}}, nil); r.Status != http.StatusForbidden || !off() {
		t.Errorf("without the CSRF token: %d, off %v", r.Status, off())
	}
	if r := phone.do(http.MethodPost, home+"/reminders", url.Values{"_csrf": {csrf}, "reminders": {"on"}}, nil); r.Status != http.StatusSeeOther || off() {
		t.Errorf("turning them on again: %d, off %v", r.Status, off())
	}
}
