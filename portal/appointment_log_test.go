package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/demo"
)

// Every appointment route that shows or changes a client's data writes an
// access-log row about that client. The routes come from the app itself,
// so a new appointment route without an entry here fails the test.
func TestEveryAppointmentRouteWritesTheAccessLog(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	var client, expert int64
	if err := owner.QueryRow(ctx, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name)
		SELECT municipality_id, id, 'Logged', 'Client' FROM service_points WHERE slug = $1 RETURNING id`, demo.ServicePoint).Scan(&client); err != nil {
		t.Fatal(err)
	}
	if err := owner.QueryRow(ctx, `SELECT id FROM staff WHERE email = $1`, demo.ExpertEmail).Scan(&expert); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(48 * time.Hour)
	n := 0
	appointment := func() string {
		n++
		var id int64
		if err := owner.QueryRow(ctx, `INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel,
			starts_at, duration_minutes, code) SELECT municipality_id, $1, id, $2, 'in_person', $3, 30, $4
			FROM service_points WHERE slug = $5 RETURNING id`, client, expert, start, fmt.Sprintf("%08d", 40000000+n), demo.ServicePoint).
			Scan(&id); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(id)
	}
	day := start.In(mustLocation(t, "Europe/Helsinki")).Format(time.DateOnly)
	read := appointment()
	requests := map[string]func() (string, string, url.Values){
		"GET /staff/clients/:id/appointments/new": func() (string, string, url.Values) {
			return http.MethodGet, fmt.Sprintf("/staff/clients/%d/appointments/new", client), nil
		},
		"POST /staff/clients/:id/appointments": func() (string, string, url.Values) {
			return http.MethodPost, fmt.Sprintf("/staff/clients/%d/appointments", client), url.Values{
				"sp":    {queryString(t, in.OwnerURL, `SELECT id::text FROM service_points WHERE slug = $1`, demo.ServicePoint)},
				"staff": {fmt.Sprint(expert)}, "channel": {"phone"}, "date": {day}, "time": {"07:00"}, "minutes": {"15"}}
		},
		"GET /staff/appointments": func() (string, string, url.Values) { return http.MethodGet, "/staff/appointments?day=" + day, nil },
		"GET /staff/appointments/at/:sp": func() (string, string, url.Values) {
			return http.MethodGet, "/staff/appointments/at/demo?day=" + day, nil
		},
		"GET /staff/appointments/:id": func() (string, string, url.Values) { return http.MethodGet, "/staff/appointments/" + read, nil },
		"GET /staff/appointments/:id/letter": func() (string, string, url.Values) {
			return http.MethodGet, "/staff/appointments/" + read + "/letter", nil
		},
	}
	for _, action := range []string{"confirm", "attended", "no-show", "cancel-by-client", "cancel-by-staff"} {
		requests["POST /staff/appointments/:id/"+action] = func() (string, string, url.Values) {
			return http.MethodPost, "/staff/appointments/" + appointment() + "/" + action, url.Values{}
		}
	}

	b := newSecBrowser(t, in)
	b.login(demo.ExpertEmail)
	for _, r := range in.Server.App().GetRoutes(true) {
		key := r.Method + " " + r.Path
		if r.Method == http.MethodHead || !strings.HasPrefix(r.Path, "/staff/") || !strings.Contains(r.Path, "appointments") ||
			strings.HasPrefix(r.Path, "/staff/setup/") { // a service point's check-in rules name no client
			continue
		}
		req, ok := requests[key]
		if !ok {
			t.Errorf("%s has no entry here: say how it writes the access log", key)
			continue
		}
		delete(requests, key)
		method, path, form := req()
		var before int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE subject_kind = 'client' AND subject_id = $1
			AND result = 'ok' AND staff_id = $2`, client, expert).Scan(&before); err != nil {
			t.Fatal(err)
		}
		if form != nil {
			form.Set("_csrf", b.csrf)
		}
		resp := b.do(method, path, form, nil)
		if resp.Status != http.StatusOK && resp.Status != http.StatusSeeOther {
			t.Errorf("%s %s: %d", method, path, resp.Status)
			continue
		}
		var after int
		if err := owner.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE subject_kind = 'client' AND subject_id = $1
			AND result = 'ok' AND staff_id = $2`, client, expert).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if after <= before {
			t.Errorf("%s wrote no access-log row about the client", key)
		}
	}
	for key := range requests {
		t.Errorf("%s is listed here but the app has no such route", key)
	}
}

func mustLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
