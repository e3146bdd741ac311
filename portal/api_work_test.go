package portal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/portal/portaltest"
)

// apiResource is what the tests read of a created or changed resource.
type apiResource struct {
	ID          int64
	Status      string
	Phone       string
	CheckInCode string `json:"check_in_code"`
}

// want checks an answer's status and reads its body into a resource.
func want(t *testing.T, a apiAnswer, status int, what string) apiResource {
	t.Helper()
	if a.Status != status {
		t.Fatalf("%s: %d %s, want %d", what, a.Status, a.Body, status)
	}
	var r apiResource
	if status < 300 {
		a.decode(t, &r)
	}
	return r
}

// A client through its life by API: created, read, changed only with the
// current ETag, ended and continued; each step refused where it must be.
func TestAPIClientWrites(t *testing.T) {
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.ScopeClientsRead, api.ScopeClientsWrite)
	_, readOnly := f.key(t, f.admin, 0, api.ScopeClientsRead)
	newClient := map[string]any{"external_id": "K-1", "service_point_id": f.demoSP, "first_names": "Amina",
		"last_name": "Warsame", "language": "so", "phone": "040 111 2222", "birth_date": "1994-03-02"}

	if a := f.c.do("POST", "/clients", readOnly, newClient); a.Status != http.StatusForbidden || a.problemCode(t) != "insufficient_scope" {
		t.Errorf("create without clients:write: %d %s", a.Status, a.Body)
	}
	a := f.c.do("POST", "/clients", key, newClient)
	cl := want(t, a, http.StatusCreated, "create")
	path := "/clients/" + strconv.FormatInt(cl.ID, 10)
	if a.Header.Get("Location") != "/api/v1"+path || a.Header.Get("ETag") != `"v1"` {
		t.Errorf("create: Location %q ETag %q", a.Header.Get("Location"), a.Header.Get("ETag"))
	}
	if a := f.c.do("POST", "/clients", key, newClient); a.Status != http.StatusUnprocessableEntity || !hasField(t, a, "external_id") {
		t.Errorf("the same external id again: %d %s, want 422 naming external_id", a.Status, a.Body)
	}
	bad := map[string]any{"service_point_id": f.demoSP, "first_names": "", "last_name": "", "language": "xx", "birth_date": "1990-02-31"}
	if a := f.c.do("POST", "/clients", key, bad); a.Status != http.StatusUnprocessableEntity ||
		!hasField(t, a, "last_name") || !hasField(t, a, "language") || !hasField(t, a, "birth_date") {
		t.Errorf("bad fields: %d %s, want 422 naming last_name, language and birth_date", a.Status, a.Body)
	} else if !strings.Contains(string(a.Body), `{"code":"invalid_date","field":"birth_date"`) {
		t.Errorf("31 February is not called a date in the future or the past but no date: %s", a.Body)
	}

	got := f.c.do("GET", path, key, nil)
	etag := got.Header.Get("ETag")
	change := map[string]any{"phone": "+358 40 999 8888"}
	if a := f.c.do("PATCH", path, key, change); a.Status != http.StatusPreconditionRequired {
		t.Errorf("change without If-Match: %d, want 428", a.Status)
	}
	if a := f.c.do("PATCH", path, key, change, "If-Match", `"v7"`); a.Status != http.StatusPreconditionFailed {
		t.Errorf("change with a stale ETag: %d, want 412", a.Status)
	}
	a = f.c.do("PATCH", path, key, change, "If-Match", etag)
	if c := want(t, a, http.StatusOK, "change"); c.Phone != "+358 40 999 8888" || a.Header.Get("ETag") == etag {
		t.Errorf("change: phone %q, ETag %q after %q", c.Phone, a.Header.Get("ETag"), etag)
	}
	var whole map[string]any
	f.c.do("GET", path, key, nil).decode(t, &whole)
	if whole["first_names"] != "Amina" || whole["birth_date"] != "1994-03-02" {
		t.Errorf("fields not sent changed: %v", whole)
	}
	if a := f.c.do("PATCH", path, key, change, "If-Match", etag); a.Status != http.StatusPreconditionFailed {
		t.Errorf("a second system with the first ETag: %d, want 412", a.Status)
	}

	today := time.Now().Format(time.DateOnly)
	end := map[string]any{"date": today, "reason": "moved"}
	if c := want(t, f.c.do("POST", path+"/end", key, end), http.StatusOK, "end"); c.Status != "ended" {
		t.Errorf("ended: status %q", c.Status)
	}
	if a := f.c.do("POST", path+"/end", key, end); a.Status != http.StatusConflict || a.problemCode(t) != "wrong_state" {
		t.Errorf("end twice: %d %s, want 409 wrong_state", a.Status, a.Body)
	}
	if a := f.c.do("POST", path+"/end", key, map[string]any{"date": today, "reason": "bored"}); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("end for an unknown reason: %d %s, want 422", a.Status, a.Body)
	}
	if c := want(t, f.c.do("POST", path+"/continue", key, map[string]any{"date": today}), http.StatusOK, "continue"); c.Status != "active" {
		t.Errorf("continued: status %q", c.Status)
	}
	// Every step is in the access log with the key as the actor.
	var logged int
	if err := f.owner.QueryRow(context.Background(), `SELECT count(*) FROM access_log
		WHERE subject_kind = 'client' AND subject_id = $1 AND api_key_id IS NOT NULL`, cl.ID).Scan(&logged); err != nil {
		t.Fatal(err)
	}
	if logged < 6 { // create, 2 reads, change, end, continue
		t.Errorf("%d access-log rows by key for the client, want at least 6", logged)
	}
}

func hasField(t *testing.T, a apiAnswer, field string) bool {
	t.Helper()
	var p struct{ Errors []struct{ Field string } }
	a.decode(t, &p)
	return slices.ContainsFunc(p.Errors, func(e struct{ Field string }) bool { return e.Field == field })
}

// Appointments and tasks by API, and a key of another municipality that
// finds none of them.
func TestAPIAppointmentsAndTasks(t *testing.T) {
	f := startAPI(t)
	_, key := f.key(t, f.admin, 0, api.Scopes...)
	_, otherKey := f.key(t, f.otherAdmin, 0, api.Scopes...)
	_, clientsOnly := f.key(t, f.admin, 0, api.ScopeClientsRead, api.ScopeClientsWrite)
	expert := staffID(t, f.owner, demo.ExpertEmail)
	cl := want(t, f.c.do("POST", "/clients", key, map[string]any{"service_point_id": f.demoSP, "first_names": "Oleksandr",
		"last_name": "Kovalenko", "language": "uk"}), http.StatusCreated, "client")

	starts := time.Now().Add(48 * time.Hour).Truncate(time.Minute).UTC()
	booking := map[string]any{"client_id": cl.ID, "service_point_id": f.demoSP, "staff_id": expert, "channel": "in_person",
		"starts_at": starts, "duration_minutes": 30, "interpreter_language": "uk"}
	if a := f.c.do("POST", "/appointments", clientsOnly, booking); a.Status != http.StatusForbidden {
		t.Errorf("book without appointments:write: %d", a.Status)
	}
	a := f.c.do("POST", "/appointments", key, booking)
	appt := want(t, a, http.StatusCreated, "book")
	if appt.Status != "booked" || len(appt.CheckInCode) != 8 {
		t.Errorf("booked: %+v", appt)
	}
	if a := f.c.do("POST", "/appointments", key, booking); a.Status != http.StatusConflict || a.problemCode(t) != "double_booking" {
		t.Errorf("the expert booked twice: %d %s, want 409 double_booking", a.Status, a.Body)
	}
	booking["allow_overlap"] = true
	want(t, f.c.do("POST", "/appointments", key, booking), http.StatusCreated, "book over")
	booking["starts_at"] = time.Now().Add(-time.Hour)
	if a := f.c.do("POST", "/appointments", key, booking); a.Status != http.StatusUnprocessableEntity || !hasField(t, a, "starts_at") {
		t.Errorf("book in the past: %d %s", a.Status, a.Body)
	}
	apath := "/appointments/" + strconv.FormatInt(appt.ID, 10)
	etag := f.c.do("GET", apath, key, nil).Header.Get("ETag")
	if a := f.c.do("PATCH", apath, key, map[string]any{"status": "checked_in"}, "If-Match", etag); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("check in by API: %d %s, want 422 (only the kiosk checks in)", a.Status, a.Body)
	}
	a = f.c.do("PATCH", apath, key, map[string]any{"status": "cancelled_by_staff"}, "If-Match", etag)
	if got := want(t, a, http.StatusOK, "cancel"); got.Status != "cancelled_by_staff" || got.CheckInCode != "" {
		t.Errorf("cancelled: %+v", got)
	}
	if a := f.c.do("PATCH", apath, key, map[string]any{"status": "confirmed"}, "If-Match", a.Header.Get("ETag")); a.Status != http.StatusConflict {
		t.Errorf("confirm a cancelled appointment: %d %s, want 409", a.Status, a.Body)
	}

	task := map[string]any{"service_point_id": f.demoSP, "title": "Call about the housing form", "client_id": cl.ID,
		"due_at": starts, "priority": "high"}
	a = f.c.do("POST", "/tasks", key, task)
	tk := want(t, a, http.StatusCreated, "task")
	tpath := "/tasks/" + strconv.FormatInt(tk.ID, 10)
	var list struct {
		Data []apiResource
		More bool
	}
	f.c.do("GET", "/tasks?service_point_id="+strconv.FormatInt(f.demoSP, 10), key, nil).decode(t, &list)
	if !slices.ContainsFunc(list.Data, func(r apiResource) bool { return r.ID == tk.ID }) {
		t.Errorf("the new task is not in the service point's list: %+v", list.Data)
	}
	var listed int
	if err := f.owner.QueryRow(context.Background(), `SELECT count(*) FROM access_log WHERE subject_kind = 'client'
		AND subject_id = $1 AND api_key_id IS NOT NULL AND purpose = 'task' AND action = 'read'`, cl.ID).Scan(&listed); err != nil {
		t.Fatal(err)
	}
	if listed != 1 {
		t.Errorf("the task list wrote %d access-log rows for the client it shows, want 1", listed)
	}
	if a := f.c.do("POST", "/tasks", key, map[string]any{"service_point_id": f.demoSP, "title": " "}); a.Status != http.StatusUnprocessableEntity {
		t.Errorf("a task without a title: %d", a.Status)
	}
	done := map[string]any{"status": "done", "comment": "Called."}
	if a := f.c.do("PATCH", tpath, key, done); a.Status != http.StatusPreconditionRequired {
		t.Errorf("close without If-Match: %d", a.Status)
	}
	a = f.c.do("PATCH", tpath, key, done, "If-Match", f.c.do("GET", tpath, key, nil).Header.Get("ETag"))
	if got := want(t, a, http.StatusOK, "done"); got.Status != "done" {
		t.Errorf("closed: %+v", got)
	}
	if a := f.c.do("PATCH", tpath, key, done, "If-Match", a.Header.Get("ETag")); a.Status != http.StatusConflict || a.problemCode(t) != "wrong_state" {
		t.Errorf("close twice: %d %s, want 409 wrong_state", a.Status, a.Body)
	}

	// Another municipality's key: none of these exist for it.
	cpath := "/clients/" + strconv.FormatInt(cl.ID, 10)
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"GET", cpath, nil}, {"PATCH", cpath, map[string]any{"phone": "1"}}, {"POST", cpath + "/end", map[string]any{"date": "2026-01-01", "reason": "moved"}},
		{"GET", apath, nil}, {"PATCH", apath, map[string]any{"status": "attended"}}, {"GET", tpath, nil}, {"PATCH", tpath, done},
	} {
		if a := f.c.do(r.method, r.path, otherKey, r.body, "If-Match", `"v1"`); a.Status != http.StatusNotFound {
			t.Errorf("%s %s with another municipality's key: %d %s, want 404", r.method, r.path, a.Status, a.Body)
		}
	}
	f.c.do("GET", "/tasks?service_point_id="+strconv.FormatInt(f.demoSP, 10), otherKey, nil).decode(t, &list)
	if len(list.Data) != 0 {
		t.Errorf("another municipality's key lists %d of demo's tasks", len(list.Data))
	}
	booking["starts_at"], booking["allow_overlap"] = starts.Add(time.Hour), false
	if a := f.c.do("POST", "/appointments", otherKey, booking); a.Status != http.StatusNotFound {
		t.Errorf("book demo's client with another municipality's key: %d %s, want 404", a.Status, a.Body)
	}
}

// hookReceiver is an add-on's endpoint that checks each delivery's
// signature and keeps the events it got.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret string
	got    []api.Payload
	bad    int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		var p api.Payload
		if api.Verify(r.secret, req.Header, body, time.Now(), 5*time.Minute) != nil || json.Unmarshal(body, &p) != nil {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.got = append(r.got, p)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// events returns the events received of a type.
func (r *hookReceiver) events(typ string) []api.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []api.Payload
	for _, p := range r.got {
		if p.Type == typ {
			out = append(out, p)
		}
	}
	return out
}

// The domain's changes reach an add-on as signed webhook events with ids
// only: a client created and changed, a task created and done, an
// appointment checked in at the kiosk (with its task).
func TestAPIWebhooksTellOfDomainEvents(t *testing.T) {
	r := newHookReceiver(t)
	f := startAPI(t, portaltest.WithWebhooks(api.HookOptions{Client: r.srv.Client(), Schedule: []time.Duration{100 * time.Millisecond}}))
	_, key := f.key(t, f.admin, 0, api.Scopes...)
	var hook struct{ Secret string }
	a := f.c.do("POST", "/webhooks", key, map[string]any{"url": r.srv.URL + "/koto", "events": events.All})
	if a.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", a.Status, a.Body)
	}
	a.decode(t, &hook)
	r.mu.Lock()
	r.secret = hook.Secret
	r.mu.Unlock()

	expert := staffID(t, f.owner, demo.ExpertEmail)
	cl := want(t, f.c.do("POST", "/clients", key, map[string]any{"service_point_id": f.demoSP, "first_names": "Nguyễn",
		"last_name": "Văn An", "language": "vi"}), http.StatusCreated, "client")
	cpath := "/clients/" + strconv.FormatInt(cl.ID, 10)
	want(t, f.c.do("PATCH", cpath, key, map[string]any{"phone": "040 123 4567"}, "If-Match", `"v1"`), http.StatusOK, "change")
	tk := want(t, f.c.do("POST", "/tasks", key, map[string]any{"service_point_id": f.demoSP, "title": "Send the form",
		"client_id": cl.ID}), http.StatusCreated, "task")
	want(t, f.c.do("PATCH", "/tasks/"+strconv.FormatInt(tk.ID, 10), key, map[string]any{"status": "done"}, "If-Match", `"v1"`),
		http.StatusOK, "task done")
	// A change that fails sends nothing: a stale ETag.
	if a := f.c.do("PATCH", cpath, key, map[string]any{"phone": "050 1"}, "If-Match", `"v1"`); a.Status != http.StatusPreconditionFailed {
		t.Fatalf("stale change: %d", a.Status)
	}
	// Checked in at the kiosk with the appointment's code.
	appt := want(t, f.c.do("POST", "/appointments", key, map[string]any{"client_id": cl.ID, "service_point_id": f.demoSP,
		"staff_id": expert, "channel": "in_person", "starts_at": time.Now().Add(5 * time.Minute), "duration_minutes": 30}),
		http.StatusCreated, "book")
	if status, page := checkInHTTP(t, kioskClient(t), f.in.URL, "vi", appt.CheckInCode); status != http.StatusOK {
		t.Fatalf("check-in: %d\n%s", status, page)
	}

	id := func(p api.Payload, name string) int64 { return p.Data[name] }
	deadline := time.Now().Add(30 * time.Second)
	for _, w := range []struct {
		typ   string
		count int
		check func(api.Payload) bool
	}{
		{events.ClientCreated, 1, func(p api.Payload) bool { return id(p, "client_id") == cl.ID }},
		{events.ClientUpdated, 1, func(p api.Payload) bool { return id(p, "client_id") == cl.ID }},
		{events.TaskCreated, 2, func(p api.Payload) bool { return id(p, "task_id") != 0 && id(p, "client_id") == cl.ID }},
		{events.TaskDone, 1, func(p api.Payload) bool { return id(p, "task_id") == tk.ID }},
		{events.AppointmentCheckedIn, 1, func(p api.Payload) bool {
			return id(p, "appointment_id") == appt.ID && id(p, "client_id") == cl.ID && id(p, "ticket_id") != 0
		}},
	} {
		for len(r.events(w.typ)) < w.count && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		got := r.events(w.typ)
		if len(got) != w.count {
			t.Errorf("%s: %d deliveries, want %d", w.typ, len(got), w.count)
		}
		for _, p := range got {
			if !w.check(p) {
				t.Errorf("%s carries %v", w.typ, p.Data)
			}
			if len(p.Data) > 3 {
				t.Errorf("%s carries more than ids: %v", w.typ, p.Data)
			}
		}
	}
	time.Sleep(300 * time.Millisecond) // a stray extra delivery would land by now
	if n := len(r.events(events.ClientUpdated)); n != 1 {
		t.Errorf("%d client.updated deliveries after the stale change was refused, want 1", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad != 0 {
		t.Errorf("%d deliveries failed the signature check", r.bad)
	}
}
