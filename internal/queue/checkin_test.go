package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/tasks"
)

// addAppointment books an appointment at the fixture's service point for
// an expert, through the owner (the booking itself is appointments' to
// test), and returns its id.
func (f *fixture) addAppointment(staff int64, at time.Time, code string, topic *int64) int64 {
	f.t.Helper()
	client := f.id(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name) VALUES ($1, $2, 'Amina', 'Hassan')
		RETURNING id`, f.tenant, f.sp)
	return f.id(`INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, topic_id, starts_at,
		duration_minutes, code, interpreter_language) VALUES ($1, $2, $3, $4, 'in_person', $5, $6, 30, $7, 'ar') RETURNING id`,
		f.tenant, client, f.sp, staff, topic, at, code)
}

func (f *fixture) checkIn(code, lang string) (CheckedIn, error) {
	_, out, err := f.svc.CheckInAtKiosk(f.ctx, f.kioskOf(f.kiosk), CheckInRequest{Code: code, Language: lang})
	return out, err
}

func TestCheckInMakesATicketForTheExpert(t *testing.T) {
	start := futureWednesday(10, 0)
	f := newFixture(t, `{}`, start.Add(-10*time.Minute))
	appt := f.addAppointment(f.staff1, start, "20481735", &f.topicB)
	f.exec(`INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, 'expert')`,
		f.tenant, f.staff1, f.sp)
	f.svc.UseTasks(tasks.NewService(f.db, f.clock.Now))
	seq := f.seq(SPChannel(f.sp))

	// Arabic-Indic digits, as an Arabic keyboard types them.
	out, err := f.checkIn("٢٠٤٨ ١٧٣٥", "ar")
	if err != nil {
		t.Fatalf("check in: %v", err)
	}
	tk := out.Ticket
	if tk.Prefix != appointments.DefaultPrefix || tk.Number != 1 || tk.Language != "ar" || !tk.Interpreter {
		t.Errorf("ticket %s language %s interpreter %v, want V 1 in ar with an interpreter", tk.Label(), tk.Language, tk.Interpreter)
	}
	if tk.ForStaffID == nil || *tk.ForStaffID != f.staff1 || tk.BookedFor == nil || !tk.BookedFor.Equal(start) {
		t.Errorf("ticket is for staff %v at %v, want %d at %v", tk.ForStaffID, tk.BookedFor, f.staff1, start)
	}
	if tk.TopicID != f.topicB || out.Token == "" || out.Repeat {
		t.Errorf("topic %d token %q repeat %v, want the appointment's topic, a follow token, no repeat", tk.TopicID, out.Token, out.Repeat)
	}
	var status string
	var ticket int64
	if err := f.owner.QueryRow(f.ctx, `SELECT status, ticket_id FROM appointments WHERE id = $1`, appt).Scan(&status, &ticket); err != nil {
		t.Fatal(err)
	}
	if status != "checked_in" || ticket != tk.ID {
		t.Errorf("appointment is %s with ticket %d, want checked_in with %d", status, ticket, tk.ID)
	}
	if got := f.seq(SPChannel(f.sp)); got != seq+1 {
		t.Errorf("the queue's channel moved from %d to %d, want one event", seq, got)
	}

	// The expert's task came with the check-in, once.
	if n := f.count(`SELECT count(*) FROM tasks WHERE kind = 'checked_in' AND assignee_id = $1 AND ticket_id = $2`,
		f.staff1, tk.ID); n != 1 {
		t.Errorf("%d checked-in tasks for the expert, want 1", n)
	}

	// The same code again shows the same ticket, and takes no number.
	again, err := f.checkIn("20481735", "ar")
	if err != nil || again.Ticket.ID != tk.ID || !again.Repeat || again.Token != "" {
		t.Errorf("second check-in: ticket %d repeat %v token %q err %v, want the first ticket again without its link",
			again.Ticket.ID, again.Repeat, again.Token, err)
	}
	if n := f.count(`SELECT count(*) FROM tickets WHERE service_point_id = $1`, f.sp); n != 1 {
		t.Errorf("%d tickets after two check-ins, want 1", n)
	}
	if n := f.count(`SELECT count(*) FROM tasks`); n != 1 {
		t.Errorf("%d tasks after two check-ins, want 1", n)
	}
}

// The appointment's ticket goes to its expert first, and to no other
// expert's call-next, whatever the topics they take.
func TestCallNextGivesAnAppointmentToItsExpert(t *testing.T) {
	start := futureWednesday(10, 0)
	f := newFixture(t, `{}`, start.Add(-20*time.Minute))
	f.addAppointment(f.staff1, start, "11112222", nil)
	walkIn := f.takeAfter(time.Minute, f.topicA, "fi")
	f.clock.Advance(time.Minute)
	checked := must[CheckedIn](t)(f.checkIn("11112222", "fi"))

	other := f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil)
	got, err := f.svc.CallNext(f.ctx, other, nil)
	if err != nil || got.ID != walkIn.ID {
		t.Fatalf("another expert called %d (%v), want the walk-in %d", got.ID, err, walkIn.ID)
	}
	_, err = f.svc.CallNext(f.ctx, other, nil)
	wantErr(t, "another expert's second call", err, ErrQueueEmpty)

	// The expert takes only topic A, yet gets their own appointment first.
	f.exec(`UPDATE tickets SET state = 'waiting', desk_id = NULL, staff_id = NULL WHERE id = $1`, walkIn.ID)
	own := f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil)
	got, err = f.svc.CallNext(f.ctx, own, []int64{f.topicA})
	if err != nil || got.ID != checked.Ticket.ID {
		t.Fatalf("the expert called %d (%v), want their appointment's ticket %d", got.ID, err, checked.Ticket.ID)
	}

	// Served and finished: the appointment was attended.
	must[Ticket](t)(f.svc.Start(f.ctx, own, got.ID))
	must[Finished](t)(f.svc.Finish(f.ctx, own, got.ID))
	if n := f.count(`SELECT count(*) FROM appointments WHERE ticket_id = $1 AND status = 'attended' AND code IS NULL`, got.ID); n != 1 {
		t.Error("finishing the ticket did not mark its appointment attended")
	}
}

func TestCheckInWindows(t *testing.T) {
	start := futureWednesday(10, 0)
	f := newFixture(t, `{}`, start.Add(-45*time.Minute))
	f.addAppointment(f.staff1, start, "31415926", nil)

	_, err := f.checkIn("31415926", "fi")
	var early *EarlyError
	if !errors.As(err, &early) || !early.From.Equal(start.Add(-appointments.DefaultEarly)) {
		t.Fatalf("45 minutes early: %v, want check-in from %v", err, start.Add(-appointments.DefaultEarly))
	}
	f.clock.Set(start.Add(appointments.DefaultLate + time.Minute))
	_, err = f.checkIn("31415926", "fi")
	wantErr(t, "16 minutes late", err, ErrTooLate)

	// The service point's own window lets the same arrival in.
	f.exec(`INSERT INTO appointment_settings (service_point_id, municipality_id, prefix, late_minutes) VALUES ($1, $2, 'W', 30)`,
		f.sp, f.tenant)
	out, err := f.checkIn("31415926", "fi")
	if err != nil || out.Ticket.Prefix != "W" {
		t.Fatalf("with a 30-minute late window: %v, ticket %s, want a W ticket", err, out.Ticket.Label())
	}
	// Neither too early nor too late is a wrong code.
	if n := f.count(`SELECT count(*) FROM checkin_failures`); n != 0 {
		t.Errorf("%d failures counted for a right code, want 0", n)
	}
}

// Wrong, cancelled and other service points' codes get one answer, are
// counted, and stop the kiosk after the limit, even for a right code.
func TestWrongCodesAreOneAnswerAndLimited(t *testing.T) {
	start := futureWednesday(10, 0)
	f := newFixture(t, `{}`, start.Add(-5*time.Minute))
	f.addAppointment(f.staff1, start, "55556666", nil)
	cancelled := f.addAppointment(f.staff1, start, "77778888", nil)
	f.exec(`UPDATE appointments SET status = 'cancelled_by_client' WHERE id = $1`, cancelled)
	otherSP := f.addServicePoint(f.tenant, `{}`)
	f.id(`INSERT INTO appointments (municipality_id, service_point_id, staff_id, channel, starts_at, duration_minutes, code)
		VALUES ($1, $2, $3, 'in_person', $4, 30, '99990000') RETURNING id`, f.tenant, otherSP, f.staff1, start)

	for _, code := range []string{"12345678", "77778888", "99990000", "5555666", "abcdefgh"} {
		_, err := f.checkIn(code, "fi")
		wantErr(t, "code "+code, err, ErrUnknownCode)
	}
	if n := f.count(`SELECT count(*) FROM checkin_failures WHERE device_id = $1`, f.kiosk); n != DefaultCheckInFailLimit {
		t.Fatalf("%d failures counted, want %d", n, DefaultCheckInFailLimit)
	}
	_, err := f.checkIn("55556666", "fi")
	wantErr(t, "a right code after the limit", err, ErrRateLimited)

	f.clock.Advance(DefaultCheckInFailWindow)
	if _, err := f.checkIn("55556666", "fi"); err != nil {
		t.Fatalf("a right code once the window passed: %v", err)
	}
}
