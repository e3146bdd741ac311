package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/demo"
)

func staffID(t testing.TB, owner *pgx.Conn, email string) int64 {
	t.Helper()
	return setupID(t, owner, `SELECT id FROM staff WHERE email = $1`, email)
}

func rolesOf(t *testing.T, owner *pgx.Conn, staff int64) string {
	t.Helper()
	var s string
	if err := owner.QueryRow(context.Background(), `SELECT coalesce(string_agg(role || ':' || coalesce(service_point_id, 0), ',' ORDER BY role, service_point_id), '')
		FROM staff_roles WHERE staff_id = $1`, staff).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLeadManagesOnlyExpertsOfTheirServicePoint(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	sp := setupID(t, owner, `SELECT id FROM service_points WHERE slug = 'demo'`)
	other := setupID(t, owner, `INSERT INTO service_points (municipality_id, slug) SELECT municipality_id, 'toinen' FROM service_points WHERE id = $1 RETURNING id`, sp)
	staffCount := func() int { return setupCount(t, owner, `SELECT count(*) FROM staff`) }
	before := staffCount()

	resp, body := lead.get("/staff/people")
	wantStatus(t, "people", resp, body, http.StatusOK)
	if !strings.Contains(body, "Demo Expert") || strings.Contains(body, "Demo Admin") {
		t.Error("a lead should see the staff of their service point and not the municipality's admin")
	}
	resp, body = lead.get("/staff/people/new")
	wantStatus(t, "new person form", resp, body, http.StatusOK)
	if strings.Contains(body, `value="admin:0"`) || strings.Contains(body, `value="lead:`) || !strings.Contains(body, `value="expert:`+strconv.FormatInt(sp, 10)+`"`) {
		t.Error("a lead's new-person form should offer the expert role of their service point only")
	}

	person := func(roles ...string) url.Values {
		return url.Values{"name": {"Uusi Asiantuntija"}, "email": {"uusi@example.org"}, "password": {"hyvin pitkä salasana"},
			"languages": {"fi", "so"}, "locale": {"fi"}, "active": {"1"}, "role": roles}
	}
	// A lead may not make an admin, nor a lead, nor an expert without a service point.
	for _, roles := range [][]string{{"admin:0"}, {"lead:" + strconv.FormatInt(sp, 10)}, {"expert:0"}, {}} {
		resp, body = lead.post("/staff/people/new", person(roles...))
		wantStatus(t, "lead creates "+strings.Join(roles, ","), resp, body, http.StatusForbidden)
	}
	// A service point the lead does not manage is no choice at all.
	resp, body = lead.post("/staff/people/new", person("expert:"+strconv.FormatInt(other, 10)))
	wantStatus(t, "expert elsewhere", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `id="role-error"`) || !strings.Contains(body, `value="Uusi Asiantuntija"`) {
		t.Error("the refused role lacks its error, or the form lost the name")
	}
	if staffCount() != before {
		t.Fatal("a refused person was saved")
	}
	if n := setupCount(t, owner, `SELECT count(*) FROM access_log WHERE subject_kind = 'staff' AND action = 'create' AND result = 'denied' AND staff_id = $1`,
		staffID(t, owner, demo.LeadEmail)); n != 4 {
		t.Errorf("%d denied creations logged, want 4", n)
	}

	// Bad input: kept (but never the password), nothing saved.
	bad := person("expert:" + strconv.FormatInt(sp, 10))
	bad.Set("password", "lyhyt")
	bad.Set("email", demo.ExpertEmail)
	resp, body = lead.post("/staff/people/new", bad)
	wantStatus(t, "short password", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Salasanassa on oltava vähintään 10 merkkiä.") || strings.Contains(body, "lyhyt") {
		t.Error("the short password was not refused clearly, or was sent back")
	}
	bad.Set("password", "hyvin pitkä salasana")
	resp, body = lead.post("/staff/people/new", bad)
	wantStatus(t, "address in use", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Tällä sähköpostiosoitteella on jo käyttäjätili.") || !strings.Contains(body, `value="`+demo.ExpertEmail+`"`) {
		t.Error("the taken address was not refused clearly")
	}
	if staffCount() != before {
		t.Fatal("a refused person was saved")
	}

	// What a lead may do.
	resp, body = lead.post("/staff/people/new", person("expert:"+strconv.FormatInt(sp, 10)))
	wantStatus(t, "lead creates an expert", resp, body, http.StatusSeeOther)
	created := staffID(t, owner, "uusi@example.org")
	if got := rolesOf(t, owner, created); got != "expert:"+strconv.FormatInt(sp, 10) {
		t.Errorf("new expert's roles %q", got)
	}
	// The account works with the password the lead gave.
	newSetupAgent(t, in).loginWith("uusi@example.org", "hyvin pitkä salasana")

	// A lead cannot open or change the admin.
	admin := staffID(t, owner, demo.AdminEmail)
	resp, body = lead.get("/staff/people/" + strconv.FormatInt(admin, 10))
	wantStatus(t, "lead reads the admin", resp, body, http.StatusForbidden)
	resp, body = lead.post("/staff/people/"+strconv.FormatInt(admin, 10), url.Values{"name": {"Hacked"}, "locale": {"fi"}})
	wantStatus(t, "lead changes the admin", resp, body, http.StatusForbidden)
	if n := setupCount(t, owner, `SELECT count(*) FROM staff WHERE id = $1 AND name = 'Demo Admin' AND active`, admin); n != 1 {
		t.Error("the admin was changed")
	}
	// Promoting the expert to lead of the lead's own service point is fine.
	path := "/staff/people/" + strconv.FormatInt(created, 10)
	resp, body = lead.post(path, url.Values{"name": {"Uusi Vastaava"}, "locale": {"sv"}, "active": {"1"},
		"languages": {"fi"}, "role": {"expert:" + strconv.FormatInt(sp, 10), "lead:" + strconv.FormatInt(sp, 10)}})
	wantStatus(t, "promote", resp, body, http.StatusSeeOther)
	if got := rolesOf(t, owner, created); got != "expert:"+strconv.FormatInt(sp, 10)+",lead:"+strconv.FormatInt(sp, 10) {
		t.Errorf("roles after promotion %q", got)
	}
}

func TestAdminCannotLockThemselvesOut(t *testing.T) {
	in, owner := setupStart(t)
	admin := setupLogin(t, in, demo.AdminEmail)
	me := staffID(t, owner, demo.AdminEmail)
	path := "/staff/people/" + strconv.FormatInt(me, 10)
	resp, body := admin.get(path)
	wantStatus(t, "own record", resp, body, http.StatusOK)
	if !strings.Contains(body, `value="admin:0" checked`) {
		t.Error("the admin's own role is not shown ticked")
	}
	resp, body = admin.post(path, url.Values{"name": {"Demo Admin"}, "locale": {"fi"}, "active": {"1"}, "role": {"expert:0"}})
	wantStatus(t, "drop own admin", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Et voi poistaa omaa pääkäyttäjän rooliasi.") {
		t.Error("no lock-out message")
	}
	resp, body = admin.post(path, url.Values{"name": {"Demo Admin"}, "locale": {"fi"}, "role": {"admin:0"}})
	wantStatus(t, "switch off own account", resp, body, http.StatusUnprocessableEntity)
	if got := rolesOf(t, owner, me); got != "admin:0" {
		t.Errorf("own roles now %q", got)
	}
	if n := setupCount(t, owner, `SELECT count(*) FROM staff WHERE id = $1 AND active`, me); n != 1 {
		t.Error("the admin switched their own account off")
	}
	// Another admin's admin role is theirs to take.
	expert := staffID(t, owner, demo.ExpertEmail)
	resp, body = admin.post("/staff/people/"+strconv.FormatInt(expert, 10), url.Values{"name": {"Demo Expert"}, "locale": {"fi"},
		"active": {"1"}, "role": {"admin:0"}})
	wantStatus(t, "make an admin", resp, body, http.StatusSeeOther)
	if got := rolesOf(t, owner, expert); got != "admin:0" {
		t.Errorf("roles %q", got)
	}
}

func TestAccessLogRecordsStaffRecordReadsAndChanges(t *testing.T) {
	in, owner := setupStart(t)
	admin := setupLogin(t, in, demo.AdminEmail)
	adminID := staffID(t, owner, demo.AdminEmail)
	expert := staffID(t, owner, demo.ExpertEmail)
	sp := setupID(t, owner, `SELECT id FROM service_points WHERE slug = 'demo'`)
	logged := func(action, result string, who int64) int {
		return setupCount(t, owner, `SELECT count(*) FROM access_log WHERE subject_kind = 'staff' AND subject_id = $1 AND action = $2
			AND result = $3 AND staff_id = $4 AND purpose = 'administration'`, expert, action, result, who)
	}

	path := "/staff/people/" + strconv.FormatInt(expert, 10)
	resp, body := admin.get(path)
	wantStatus(t, "read", resp, body, http.StatusOK)
	if !strings.Contains(body, demo.ExpertEmail) {
		t.Error("the record does not show the address")
	}
	if logged("read", "ok", adminID) != 1 {
		t.Error("reading a staff record was not logged")
	}
	resp, body = admin.post(path, url.Values{"name": {"Demo Expert"}, "locale": {"en"}, "active": {"1"}, "languages": {"fi", "en", "ar"},
		"role": {"expert:" + strconv.FormatInt(sp, 10)}})
	wantStatus(t, "update", resp, body, http.StatusSeeOther)
	if logged("update", "ok", adminID) != 1 {
		t.Error("changing a staff record was not logged")
	}
	// A refused read is logged as refused.
	outsider := setupLogin(t, in, demo.ExpertEmail)
	resp, body = outsider.get("/staff/people/" + strconv.FormatInt(expert, 10))
	wantStatus(t, "expert reads a record", resp, body, http.StatusForbidden)
	if logged("read", "denied", expert) != 1 {
		t.Error("a refused read was not logged")
	}
	resp, body = outsider.get("/staff/access-log")
	wantStatus(t, "expert opens the log", resp, body, http.StatusForbidden)
	lead := setupLogin(t, in, demo.LeadEmail)
	if resp, _ = lead.get("/staff/access-log"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a lead opened the access log: %d", resp.StatusCode)
	}

	resp, body = admin.get("/staff/access-log?lang=en")
	wantStatus(t, "access log", resp, body, http.StatusOK)
	table := logTable(t, body)
	for _, want := range []string{`<th scope="col">Time</th>`, "Demo Admin", "Demo Expert", `href="/staff/people/` + strconv.FormatInt(expert, 10) + `"`,
		">Changed<", ">Read<", ">Refused<", "administration"} {
		if !strings.Contains(table, want) {
			t.Errorf("the access log lacks %q", want)
		}
	}
	if strings.Index(table, ">Refused<") > strings.Index(table, ">Changed<") {
		t.Error("the log is not newest first")
	}
	resp, body = admin.get("/staff/access-log?lang=en&action=update&staff=" + strconv.FormatInt(adminID, 10))
	wantStatus(t, "filtered", resp, body, http.StatusOK)
	if table = logTable(t, body); !strings.Contains(table, ">Changed<") || strings.Contains(table, ">Refused<") || strings.Contains(table, ">Read<") {
		t.Error("the filter did not narrow the log")
	}
	resp, body = admin.get("/staff/access-log?lang=en&from=2025-02-31&kind=%3Cscript%3E&staff=me")
	wantStatus(t, "bad filter", resp, body, http.StatusUnprocessableEntity)
	wantShown(t, "bad filter", body, "2025-02-31")
	if strings.Contains(body, "<script>") {
		t.Error("the bad filter was not escaped")
	}
}

// logTable is the access log's table, without the filter form above it.
func logTable(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `<table class="access-log">`)
	if i < 0 {
		t.Fatalf("no access-log table:\n%.3000s", body)
	}
	return body[i:]
}
