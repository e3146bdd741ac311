package outreach

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/sqldb"
)

func TestEnrolmentLinkBindsOnePhoneOnce(t *testing.T) {
	f := newFixture(t)
	e, err := f.svc.CreateEnrolment(f.ctx, f.actor(f.anna), f.client)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Token) < 43 || e.Language != "so" || e.FirstNames != "Amina" || !e.ExpiresAt.Equal(f.now.Add(7*24*time.Hour)) {
		t.Errorf("enrolment %+v", e)
	}
	var stored int
	if err := f.owner.QueryRow(f.ctx, `SELECT count(*) FROM client_enrolments WHERE token_hash = sha256(convert_to($1, 'UTF8'))`,
		e.Token).Scan(&stored); err != nil || stored != 1 {
		t.Errorf("the link is not stored as its hash: %d rows, %v", stored, err)
	}
	cred, err := f.svc.Enrol(f.ctx, e.Token)
	if err != nil {
		t.Fatal(err)
	}
	home, err := f.svc.Home(f.ctx, cred)
	if err != nil || home.FirstNames != "Amina" || home.ClientID != f.client || home.Language != "so" {
		t.Fatalf("home %+v, %v", home, err)
	}
	if _, err := f.svc.Enrol(f.ctx, e.Token); !errors.Is(err, ErrLinkUsed) {
		t.Errorf("second use: %v, want ErrLinkUsed", err)
	}
	// Another last character, so the altered link is never the real one.
	last := "A"
	if strings.HasSuffix(e.Token, last) {
		last = "E"
	}
	for _, bad := range []string{"", "short", e.Token[:42] + last, cred} {
		if _, err := f.svc.Enrol(f.ctx, bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("Enrol(%q): %v, want ErrNotFound", bad, err)
		}
	}
	if _, err := f.svc.Home(f.ctx, e.Token); !errors.Is(err, ErrNotFound) {
		t.Errorf("the link opened the page as a credential: %v", err)
	}
}

func TestEnrolmentLinkExpiresAndIsRevocable(t *testing.T) {
	f := newFixture(t)
	anna := f.actor(f.anna)
	old, _ := f.svc.CreateEnrolment(f.ctx, anna, f.client)
	f.now = f.now.Add(EnrolmentLifetime)
	if _, err := f.svc.Enrol(f.ctx, old.Token); !errors.Is(err, ErrLinkExpired) {
		t.Errorf("after 7 days: %v, want ErrLinkExpired", err)
	}
	e, _ := f.svc.CreateEnrolment(f.ctx, anna, f.client)
	if err := f.svc.RevokeEnrolments(f.ctx, anna, f.client); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Enrol(f.ctx, e.Token); !errors.Is(err, ErrLinkUsed) {
		t.Errorf("revoked link: %v, want ErrLinkUsed", err)
	}
}

func TestOnlyTheClientsServicePointEnrols(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.CreateEnrolment(f.ctx, f.actor(f.cecil), f.client); !errors.Is(err, ErrForbidden) {
		t.Errorf("expert of another service point: %v, want ErrForbidden", err)
	}
	stranger, _ := f.stranger()
	if _, err := f.svc.CreateEnrolment(f.ctx, stranger, f.client); !errors.Is(err, ErrNotFound) {
		t.Errorf("another municipality: %v, want ErrNotFound", err)
	}
	var denied int
	if err := f.owner.QueryRow(f.ctx, `SELECT count(*) FROM access_log WHERE subject_id = $1 AND result = 'denied'`,
		f.client).Scan(&denied); err != nil || denied != 1 {
		t.Errorf("%d refusals logged, want 1 (%v)", denied, err)
	}
}

func TestRevokedOrForgottenPhoneIsRefused(t *testing.T) {
	f := newFixture(t)
	byStaff, byClient := f.phone(), f.phone()
	devices, err := f.svc.Devices(f.ctx, f.actor(f.ben), f.client)
	if err != nil || len(devices) != 2 {
		t.Fatalf("devices %+v, %v", devices, err)
	}
	if err := f.svc.RevokeDevice(f.ctx, f.actor(f.ben), f.client, devices[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Home(f.ctx, byStaff); !errors.Is(err, ErrNotFound) {
		t.Errorf("phone removed by staff: %v", err)
	}
	if err := f.svc.Forget(f.ctx, byClient); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Home(f.ctx, byClient); !errors.Is(err, ErrNotFound) {
		t.Errorf("phone removed by the client: %v", err)
	}
	devices, _ = f.svc.Devices(f.ctx, f.actor(f.ben), f.client)
	if devices[0].RevokedBy != "client" || devices[1].RevokedBy != "staff" {
		t.Errorf("revoked by %q and %q", devices[0].RevokedBy, devices[1].RevokedBy)
	}
}

func TestDeviceCapLetsTheOldestGo(t *testing.T) {
	f := newFixture(t)
	var creds []string
	for range MaxDevices + 1 {
		creds = append(creds, f.phone())
		f.now = f.now.Add(time.Minute)
	}
	if _, err := f.svc.Home(f.ctx, creds[0]); !errors.Is(err, ErrNotFound) {
		t.Errorf("oldest phone beyond the cap still works: %v", err)
	}
	for _, c := range creds[1:] {
		if _, err := f.svc.Home(f.ctx, c); err != nil {
			t.Errorf("newer phone refused: %v", err)
		}
	}
}

func TestAnswersBecomeTasks(t *testing.T) {
	f := newFixture(t)
	cred := f.phone()
	soon := f.appointment(f.ben, 26*time.Hour, "12345678")
	later := f.appointment(f.anna, 50*time.Hour, "23456789")

	home, err := f.svc.Home(f.ctx, cred)
	if err != nil || len(home.Appointments) != 2 || home.Appointments[0].ID != soon || home.Appointments[0].Code != "12345678" {
		t.Fatalf("home appointments %+v, %v", home.Appointments, err)
	}

	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: CannotCome, AppointmentID: soon, Reason: " I am ill "}); err != nil {
		t.Fatal(err)
	}
	var status, kind, details string
	var code *string
	var assignee int64
	if err := f.owner.QueryRow(f.ctx, `SELECT a.status, a.code, t.kind, t.details, t.assignee_id
		FROM client_answers x JOIN appointments a ON a.id = x.appointment_id JOIN tasks t ON t.id = x.task_id
		WHERE x.appointment_id = $1`, soon).Scan(&status, &code, &kind, &details, &assignee); err != nil {
		t.Fatal(err)
	}
	if status != "cancelled_by_client" || code != nil || kind != "cannot_come" || details != "I am ill" || assignee != f.ben {
		t.Errorf("after cannot come: %s code %v, task %s %q for %d (want Ben %d)", status, code, kind, details, assignee, f.ben)
	}
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: Coming, AppointmentID: soon}); !errors.Is(err, ErrAlreadyAnswered) {
		t.Errorf("coming to a cancelled appointment: %v", err)
	}

	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: Coming, AppointmentID: later}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: CallMe}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: Interpreter, AppointmentID: later}); err != nil {
		t.Fatal(err)
	}
	rows, err := f.owner.Query(f.ctx, `SELECT x.kind, coalesce(t.kind, ''), coalesce(t.assignee_id, 0), coalesce(t.facts->>'language', '')
		FROM client_answers x LEFT JOIN tasks t ON t.id = x.task_id WHERE x.client_id = $1 ORDER BY x.id`, f.client)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := [][4]any{{"cannot_come", "cannot_come", f.ben, ""}, {"coming", "", int64(0), ""},
		{"call_me", "call_me", f.anna, ""}, {"interpreter", "interpreter", f.anna, "so"}}
	i := 0
	for rows.Next() {
		var got [4]any
		var a, b, d string
		var c int64
		if err := rows.Scan(&a, &b, &c, &d); err != nil {
			t.Fatal(err)
		}
		got = [4]any{a, b, c, d}
		if i >= len(want) || got != want[i] {
			t.Errorf("answer %d: %v", i, got)
		}
		i++
	}
	if i != len(want) {
		t.Errorf("%d answers, want %d", i, len(want))
	}
	var confirmed string
	_ = f.owner.QueryRow(f.ctx, `SELECT status FROM appointments WHERE id = $1`, later).Scan(&confirmed)
	if confirmed != "confirmed" {
		t.Errorf("after I'll come: %s", confirmed)
	}
	home, _ = f.svc.Home(f.ctx, cred)
	if len(home.Appointments) != 1 || len(home.Answers) != 4 || home.Answers[0].Kind != Interpreter {
		t.Errorf("home after answers: %d appointments, answers %+v", len(home.Appointments), home.Answers)
	}
}

func TestAnswerRefusesWhatThePageCannotSend(t *testing.T) {
	f := newFixture(t)
	cred := f.phone()
	_, theirs := f.stranger()
	long := make([]rune, MaxReason+1)
	for i := range long {
		long[i] = 'ä'
	}
	for _, a := range []Answer{
		{Kind: "maybe"}, {Kind: Coming}, {Kind: CannotCome, AppointmentID: -1},
		{Kind: CallMe, Reason: string(long)}, {Kind: CallMe, Reason: "\xff"},
	} {
		if err := f.svc.Answer(f.ctx, cred, a); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", a, err)
		}
	}
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: CannotCome, AppointmentID: theirs}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another municipality's appointment: %v", err)
	}
	if err := f.svc.Answer(f.ctx, "nonsense", Answer{Kind: CallMe}); !errors.Is(err, ErrNotFound) {
		t.Errorf("bad credential: %v", err)
	}
	var n int
	_ = f.owner.QueryRow(f.ctx, `SELECT count(*) FROM client_answers WHERE municipality_id = $1`, f.tenant).Scan(&n)
	if n != 0 {
		t.Errorf("%d answers recorded from refused taps", n)
	}
}

func TestErasingTheClientTakesTheirPhonesAndAnswers(t *testing.T) {
	f := newFixture(t)
	cred := f.phone()
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: CallMe, Reason: "my own words"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SendMessage(f.ctx, f.actor(f.anna), f.client, NewMessage{Text: "Tule käymään"}); err != nil {
		t.Fatal(err)
	}
	lead := f.lead()
	tpl, err := f.svc.SaveTemplate(f.ctx, lead, 0, TemplateInput{Name: "T", Texts: map[string]string{"fi": "Hei"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.StartCampaign(f.ctx, lead, CampaignFilter{ServicePointID: f.sp}, tpl.ID); err != nil {
		t.Fatal(err)
	}
	part := ClientPart()
	err = f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
		got, err := part.Export(f.ctx, tx, f.client)
		if e, ok := got.(Exported); err != nil || !ok || len(e.Phones) != 1 || len(e.Answers) != 1 || e.Answers[0].Reason != "my own words" ||
			len(e.Messages) != 1 || e.Messages[0].Text != "Tule käymään" {
			t.Errorf("export %+v, %v", got, err)
		}
		return part.Erase(f.ctx, tx, f.client)
	})
	if err != nil {
		t.Fatal(err)
	}
	var left int
	if err := f.owner.QueryRow(f.ctx, `SELECT (SELECT count(*) FROM client_devices WHERE client_id = $1)
		+ (SELECT count(*) FROM client_answers WHERE client_id = $1) + (SELECT count(*) FROM client_enrolments WHERE client_id = $1)
		+ (SELECT count(*) FROM client_messages WHERE client_id = $1) + (SELECT count(*) FROM campaign_recipients WHERE client_id = $1)`,
		f.client).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d rows left, %v", left, err)
	}
	if _, err := f.svc.Home(f.ctx, cred); !errors.Is(err, ErrNotFound) {
		t.Errorf("the erased client's phone still opens the page: %v", err)
	}
}

// sinkRecorder keeps the events a service tells of.
type sinkRecorder struct{ got []events.Data }

func (r *sinkRecorder) Emit(_ context.Context, _ sqldb.Tx, event string, data ...events.Data) error {
	if event == events.ClientAnswered {
		r.got = append(r.got, data...)
	}
	return nil
}

// Each answer tells other systems of itself, with ids only: the answer,
// the client, the appointment it is about, and the task it became.
func TestAnswersAreEvents(t *testing.T) {
	f := newFixture(t)
	rec := &sinkRecorder{}
	f.svc.UseEvents(rec)
	cred := f.phone()
	appt := f.appointment(f.ben, 26*time.Hour, "12345678")
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: Coming, AppointmentID: appt}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Answer(f.ctx, cred, Answer{Kind: CallMe}); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 2 {
		t.Fatalf("%d answer events, want 2: %v", len(rec.got), rec.got)
	}
	coming, callMe := rec.got[0], rec.got[1]
	if coming["client_id"] != f.client || coming["appointment_id"] != appt || coming["answer_id"] == 0 || coming["task_id"] != 0 {
		t.Errorf("I'll come: %v", coming)
	}
	var task int64
	if err := f.owner.QueryRow(f.ctx, `SELECT task_id FROM client_answers WHERE id = $1`, callMe["answer_id"]).Scan(&task); err != nil {
		t.Fatal(err)
	}
	if callMe["client_id"] != f.client || callMe["task_id"] != task || callMe["appointment_id"] != 0 {
		t.Errorf("call me: %v (its task %d)", callMe, task)
	}
}
