package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/portal/portaltest"
)

// dialTasks opens a staff page's task socket with the browser's session.
func dialTasks(t testing.TB, b *secBrowser, base, query string) *websocket.Conn {
	t.Helper()
	var cookies []string
	for k, v := range b.cookies {
		cookies = append(cookies, k+"="+v)
	}
	h := http.Header{"Origin": {base}, "Cookie": {strings.Join(cookies, "; ")}}
	ws, resp, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http://", "ws://", 1)+"/ws?"+query, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial /ws?%s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// Two portal instances on one database: a task created through instance 1
// (as the appointments' check-in creates one, inside its own transaction)
// reaches its assignee's socket on instance 2, and the pool's screen there
// hears of a pool task.
func TestTaskReachesAssigneeOnAnotherInstance(t *testing.T) {
	one := secStart(t)
	two := portaltest.Start(t, portaltest.WithDatabase(one.OwnerURL), portaltest.WithConfig(func(c *config.Config) { c.Demo = true }))
	owner := secOwner(t, one)
	expert := staffID(t, owner, demo.ExpertEmail)
	b := newSecBrowser(t, two)
	b.login(demo.ExpertEmail)
	ws := dialTasks(t, b, two.URL, "tasks=mine&point="+demo.ServicePoint)
	readUntil(t, ws, "resync", 5*time.Second)

	var sp, tenant int64
	if err := owner.QueryRow(context.Background(), `SELECT id, municipality_id FROM service_points WHERE slug = $1`, demo.ServicePoint).
		Scan(&sp, &tenant); err != nil {
		t.Fatal(err)
	}
	create := func(n tasks.New) tasks.Task {
		var task tasks.Task
		err := one.DB.InTenant(context.Background(), tenant, func(tx sqldb.Tx) error {
			var err error
			task, _, err = one.Tasks.Create(context.Background(), tx, n)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
	mine := create(tasks.New{Kind: tasks.KindCheckedIn, ServicePointID: sp, AssigneeID: expert, SourceKey: "appointment:1:checked_in"})
	for range 2 { // on the expert's own channel and the service point's
		m := readUntil(t, ws, tasks.EventCreated, 5*time.Second)
		var n tasks.Notice
		if err := json.Unmarshal(m.Data, &n); err != nil || n.ID != mine.ID || n.AssigneeID != expert {
			t.Fatalf("instance 2 got %+v (%v)", m, err)
		}
	}
	pool := create(tasks.New{Kind: tasks.KindWalkIn, ServicePointID: sp})
	m := readUntil(t, ws, tasks.EventCreated, 5*time.Second)
	var n tasks.Notice
	if err := json.Unmarshal(m.Data, &n); err != nil || n.ID != pool.ID || n.AssigneeID != 0 || m.Channel != tasks.PointChannel(sp) {
		t.Fatalf("the pool's task: %+v (%v)", m, err)
	}
}

// A socket follows only what its session may see: another service point's
// channel is refused, and without a session there is nothing.
func TestTaskSocketRefusesWhatIsNotYours(t *testing.T) {
	in := secStart(t)
	b := newSecBrowser(t, in)
	b.login(demo.ExpertEmail)
	try := func(b *secBrowser, query string) int {
		h := http.Header{"Origin": {in.URL}}
		if b != nil {
			var cookies []string
			for k, v := range b.cookies {
				cookies = append(cookies, k+"="+v)
			}
			h.Set("Cookie", strings.Join(cookies, "; "))
		}
		ws, resp, err := websocket.DefaultDialer.Dial(strings.Replace(in.URL, "http://", "ws://", 1)+"/ws?"+query, h)
		if err == nil {
			ws.Close()
			return http.StatusSwitchingProtocols
		}
		return resp.StatusCode
	}
	if got := try(b, "tasks=mine"); got != http.StatusSwitchingProtocols {
		t.Fatalf("own tasks: %d", got)
	}
	if got := try(nil, "tasks=mine"); got != http.StatusForbidden {
		t.Fatalf("no session: %d", got)
	}
	if got := try(b, "tasks=mine&point=nowhere"); got != http.StatusNotFound {
		t.Fatalf("an unknown service point: %d", got)
	}
	if got := try(b, "tasks=mine&point=../x"); got != http.StatusNotFound {
		t.Fatalf("a bad address: %d", got)
	}
}

// "Needs follow-up" on the visit form: the visit is recorded and a task
// lands in the pool (or with the expert), with the note; without a note
// the form comes back and nothing is saved.
func TestVisitFollowUpLandsInThePool(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	b := newSecBrowser(t, in)
	b.login(demo.ExpertEmail)
	topic := firstTopic(t, in.OwnerURL)
	form := func(extra url.Values) url.Values {
		v := url.Values{"_csrf": {b.csrf}, "sp": {demo.ServicePoint}, "channel": {"phone"}, "topics": {itoa(topic)},
			"language": {"fi"}, "interpreter": {"none"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	hdr := map[string]string{"Origin": in.URL}
	count := func(sql string, args ...any) int {
		var n int
		if err := owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	r := b.do(http.MethodPost, "/staff/visits", form(url.Values{"follow_up": {"1"}}), hdr)
	if r.Status != http.StatusUnprocessableEntity || count(`SELECT count(*) FROM visits`) != 0 || count(`SELECT count(*) FROM tasks`) != 0 {
		t.Fatalf("a follow-up without a note: %d", r.Status)
	}
	r = b.do(http.MethodPost, "/staff/visits", form(url.Values{"follow_up": {"1"}, "follow_note": {"Send the Kela form\nin Arabic"}}), hdr)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("record with a follow-up: %d %s", r.Status, r.Body)
	}
	r = b.do(http.MethodPost, "/staff/visits", form(url.Values{"follow_up": {"1"}, "follow_note": {"Call back"}, "follow_to": {"me"}}), hdr)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("record with a follow-up to me: %d", r.Status)
	}
	expert := staffID(t, owner, demo.ExpertEmail)
	if n := count(`SELECT count(*) FROM tasks WHERE kind = 'walk_in' AND assignee_id IS NULL AND details = $1`, "Send the Kela form\nin Arabic"); n != 1 {
		t.Fatalf("%d pool tasks with the note", n)
	}
	if n := count(`SELECT count(*) FROM tasks WHERE kind = 'walk_in' AND assignee_id = $1`, expert); n != 1 {
		t.Fatalf("%d tasks for the expert", n)
	}
	if n := count(`SELECT count(*) FROM visits`); n != 2 {
		t.Fatalf("%d visits", n)
	}
	// The pool's page lists it, without any name.
	if r := b.get("/staff/tasks/pool/" + demo.ServicePoint); r.Status != http.StatusOK || !strings.Contains(r.Body, "data-task=") {
		t.Fatalf("pool page: %d", r.Status)
	}
}

// The claim race over HTTP: two experts press "take" on one pool task;
// one gets it, the other is sent to the task's page, which says someone
// else took it and who.
func TestClaimRaceOverHTTP(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	var task int64
	if err := owner.QueryRow(context.Background(), `INSERT INTO tasks (municipality_id, service_point_id, kind)
		SELECT municipality_id, id, 'walk_in' FROM service_points WHERE slug = $1 RETURNING id`, demo.ServicePoint).Scan(&task); err != nil {
		t.Fatal(err)
	}
	expert, lead := newSecBrowser(t, in), newSecBrowser(t, in)
	expert.login(demo.ExpertEmail)
	lead.login(demo.LeadEmail)
	path := "/staff/tasks/" + itoa(task) + "/claim"
	results := make(chan *secResponse, 2)
	for _, b := range []*secBrowser{expert, lead} {
		go func() {
			results <- b.do(http.MethodPost, path, url.Values{"_csrf": {b.csrf}, "back": {"/staff/tasks"}}, map[string]string{"Origin": in.URL})
		}()
	}
	var won, lost *secResponse
	for range 2 {
		r := <-results
		if strings.Contains(r.Location, "tasks.taken") {
			lost = r
		} else {
			won = r
		}
	}
	if won == nil || lost == nil || won.Location != "/staff/tasks?msg=tasks.msg.claimed" {
		t.Fatalf("won %+v, lost %+v", won, lost)
	}
	loser := expert
	var winnerName string
	if err := owner.QueryRow(context.Background(), `SELECT s.name FROM tasks t JOIN staff s ON s.id = t.assignee_id WHERE t.id = $1`, task).
		Scan(&winnerName); err != nil {
		t.Fatal(err)
	}
	if winnerName == "" {
		t.Fatal("nobody has the task")
	}
	var loserEmail string
	if err := owner.QueryRow(context.Background(), `SELECT email FROM staff WHERE name <> $1 AND email IN ($2, $3)`, winnerName,
		demo.ExpertEmail, demo.LeadEmail).Scan(&loserEmail); err != nil {
		t.Fatal(err)
	}
	if loserEmail == demo.LeadEmail {
		loser = lead
	}
	page := loser.get(lost.Location)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `role="alert"`) || !strings.Contains(page.Body, winnerName) {
		t.Fatalf("the loser's page (%d) does not say who has the task:\n%s", page.Status, page.Body)
	}
}

// The summary of a client's situation: basic information, responsible
// expert, clientship, upcoming appointments, open tasks and the latest
// contacts on one page in the reader's language; each view is logged.
func TestClientSummary(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	expert := staffID(t, owner, demo.ExpertEmail)
	var client, tenant, sp int64
	if err := owner.QueryRow(ctx, `SELECT municipality_id, id FROM service_points WHERE slug = $1`, demo.ServicePoint).Scan(&tenant, &sp); err != nil {
		t.Fatal(err)
	}
	if err := owner.QueryRow(ctx, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, native_name, language,
			interpreter_language, responsible_staff_id) VALUES ($1, $2, 'Amina', 'Hassan', 'أمينة حسن', 'ar', 'ar', $3) RETURNING id`,
		tenant, sp, expert).Scan(&client); err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO clientship_events (municipality_id, client_id, kind, on_date) VALUES ($1, $2, 'started', '2026-01-15')`, []any{tenant, client}},
		{`INSERT INTO tasks (municipality_id, service_point_id, kind, client_id, assignee_id) VALUES ($1, $2, 'call_me', $3, $4)`,
			[]any{tenant, sp, client, expert}},
		{`INSERT INTO tasks (municipality_id, service_point_id, kind, client_id, status, closed_at) VALUES ($1, $2, 'interpreter', $3, 'done', now())`,
			[]any{tenant, sp, client}},
		{`INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, starts_at, duration_minutes, code)
			VALUES ($1, $2, $3, $4, 'phone', now() + interval '3 days', 30, NULL)`, []any{tenant, client, sp, expert}},
		{`INSERT INTO client_answers (municipality_id, client_id, kind, reason) VALUES ($1, $2, 'cannot_come', 'My son is ill')`,
			[]any{tenant, client}},
		{`INSERT INTO client_contacts (municipality_id, client_id, entry_id, occurred_at, channel, summary, staff_id)
			VALUES ($1, $2, 1, now() - interval '2 days', 'phone', 'Talked about the language course', $3)`, []any{tenant, client, expert}},
	} {
		if _, err := owner.Exec(ctx, st.sql, st.args...); err != nil {
			t.Fatalf("%s: %v", st.sql, err)
		}
	}
	b := newSecBrowser(t, in)
	b.login(demo.ExpertEmail)
	for lang, want := range map[string][]string{
		"fi": {`lang="fi"`, "Kooste: Amina Hassan", "أمينة حسن", "Vastuuasiantuntija", "Asiakas pyysi soittamaan", "Tulevat tapaamiset",
			"Talked about the language course", "Alkoi", "En pääse", "My son is ill"},
		"en": {`lang="en"`, "Summary: Amina Hassan", "Responsible expert", "The client asked to be called", "Upcoming appointments",
			"Latest contacts", "Started", "I can&#39;t come"},
	} {
		r := b.get("/staff/clients/" + itoa(client) + "/summary?lang=" + lang)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d", lang, r.Status)
		}
		for _, w := range want {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s: the summary lacks %q", lang, w)
			}
		}
		if strings.Contains(r.Body, "The client needs an interpreter") || strings.Contains(r.Body, "Asiakas tarvitsee tulkin") {
			t.Errorf("%s: a done task is listed as open", lang)
		}
	}
	var logged int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM access_log WHERE subject_kind = 'client' AND subject_id = $1 AND purpose = 'summary'`,
		client).Scan(&logged); err != nil || logged != 2 {
		t.Fatalf("%d summary views logged, want 2 (%v)", logged, err)
	}
}
