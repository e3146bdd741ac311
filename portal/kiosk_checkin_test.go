package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/portal/portaltest"
)

// checkInHTTP sends a code from the demo kiosk's check-in screen, in lang,
// and returns the answer's status and its <main>.
func checkInHTTP(t *testing.T, c *http.Client, base, lang, code string) (int, string) {
	t.Helper()
	resp, err := c.Get(base + "/kiosk/demo/checkin?lang=" + lang)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if got := resp.Header.Get("Permissions-Policy"); !strings.Contains(got, "camera=(self)") {
		t.Errorf("the check-in screen's Permissions-Policy %q keeps the camera off", got)
	}
	csrf := csrfField.FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("check-in screen (status %d) without a CSRF field", resp.StatusCode)
	}
	resp, err = c.PostForm(base+"/kiosk/demo/checkin", url.Values{"_csrf": {csrf[1]}, "lang": {lang}, "code": {code}})
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, resp)
	m := mainPart.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("answer %d has no <main>", resp.StatusCode)
	}
	return resp.StatusCode, m[1]
}

var mainPart = regexp.MustCompile(`(?s)<main[^>]*>(.*)</main>`)

// A code that was never given, one cancelled, one of another service
// point and one whose appointment is over all get the same page, word for
// word: the kiosk tells nobody which codes exist. After five, the kiosk
// stops taking codes for a while.
func TestWrongCheckInCodesAllLookTheSame(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	ctx := context.Background()
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `
			WITH sp AS (SELECT id, municipality_id FROM service_points WHERE slug = 'demo'),
			st AS (SELECT id FROM staff WHERE email = 'expert@example.org'),
			cl AS (INSERT INTO clients (municipality_id, service_point_id, first_names, last_name)
				SELECT municipality_id, id, 'Secret', 'Person' FROM sp RETURNING id, municipality_id, service_point_id),
			other AS (INSERT INTO service_points (municipality_id, slug) SELECT municipality_id, 'other-point' FROM sp RETURNING id)
			INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, starts_at,
				duration_minutes, code, status)
			SELECT cl.municipality_id, cl.id, cl.service_point_id, st.id, 'in_person', now() + interval '5 minutes', 30, '11111111', 'cancelled_by_client' FROM cl, st
			UNION ALL SELECT cl.municipality_id, cl.id, other.id, st.id, 'in_person', now() + interval '5 minutes', 30, '22222222', 'booked' FROM cl, st, other
			UNION ALL SELECT cl.municipality_id, cl.id, cl.service_point_id, st.id, 'in_person', now() - interval '2 hours', 30, '33333333', 'attended' FROM cl, st`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c := kioskClient(t)
	var first string
	for i, code := range []string{"98765432", "1111 1111", "22222222", "33333333", "not a code"} {
		status, page := checkInHTTP(t, c, in.URL, "ar", code)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("code %q: status %d, want 422", code, status)
		}
		if strings.Contains(page, "Secret") || strings.Contains(page, "Person") || !strings.Contains(page, "هذا الرمز لا يعمل هنا الآن") {
			t.Errorf("code %q: the page names the client or lacks the Arabic message:\n%s", code, page)
		}
		page = csrfField.ReplaceAllString(page, "")
		if i == 0 {
			first = page
		} else if page != first {
			t.Errorf("code %q gets a page that differs from an unknown code's", code)
		}
	}
	status, page := checkInHTTP(t, c, in.URL, "fi", "98765432")
	if status != http.StatusTooManyRequests || !strings.Contains(page, "liian monta väärää koodia") {
		t.Errorf("a sixth wrong code: status %d, want 429 with the Finnish message", status)
	}
}
