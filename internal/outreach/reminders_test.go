package outreach

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// deliveries lists kind/status/reason of the client's deliveries, oldest first.
func (f *fixture) deliveries() []string {
	f.t.Helper()
	rows, err := f.owner.Query(f.ctx, `SELECT kind || '/' || status || '/' || reason FROM client_deliveries
		WHERE client_id = $1 ORDER BY id`, f.client)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		out = append(out, s)
	}
	return out
}

func (f *fixture) waitDeliveries(want ...string) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Join(f.deliveries(), " ") != strings.Join(want, " ") {
		if time.Now().After(deadline) {
			f.t.Fatalf("deliveries %v, want %v", f.deliveries(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRemindersReachThePhoneOnceEachAndInItsLanguage(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	cred := f.phone()
	sub, _ := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	if err := f.svc.SetPush(f.ctx, cred, raw); err != nil {
		t.Fatal(err)
	}
	f.appointment(f.ben, 23*time.Hour, "")

	for range 2 { // a second look, or another instance's, queues nothing more
		if _, err := f.svc.QueueReminders(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.waitDeliveries("reminder_24h/sent/")
	m, msg := f.notification(fake)
	if msg.Lang != "so" || msg.Title != "Xasuusin" || msg.Urgent || m.Urgency != "normal" || m.Topic == "" ||
		m.TTL > int((23*time.Hour).Seconds()) || m.TTL < int((22*time.Hour).Seconds()) {
		t.Errorf("reminder %+v, TTL %d urgency %q topic %q", msg, m.TTL, m.Urgency, m.Topic)
	}
	if strings.Contains(string(m.Payload), "Amina") || strings.Contains(string(m.Payload), "Hassan") || len(m.Payload) > 3<<10 {
		t.Errorf("payload carries the name or is too long: %s", m.Payload)
	}

	// Two hours before: the urgent one, under the same Topic.
	f.now = f.now.Add(21*time.Hour + 30*time.Minute)
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.waitDeliveries("reminder_24h/sent/", "reminder_2h/sent/")
	m2, err := fake.WaitMessage(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The test's clock moved, the push service's did not: the TTL still
	// ends at the appointment.
	if m2.Urgency != "high" || m2.Topic != m.Topic || m2.TTL > int((23*time.Hour).Seconds()) {
		t.Errorf("2 h reminder: urgency %q topic %q (first %q) TTL %d", m2.Urgency, m2.Topic, m.Topic, m2.TTL)
	}
	fake.CheckNoFailures(t)
}

func TestGoneSubscriptionIsDroppedAndTheExpertTold(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	cred := f.phone()
	sub, phone := fake.NewSubscription()
	phone.SetReply(pushtest.Reply{Status: 410})
	raw, _ := json.Marshal(sub)
	if err := f.svc.SetPush(f.ctx, cred, raw); err != nil {
		t.Fatal(err)
	}
	appt := f.appointment(f.ben, 90*time.Minute, "")
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.waitDeliveries("reminder_2h/failed/subscription gone")
	home, _ := f.svc.Home(f.ctx, cred)
	if home.Push {
		t.Error("the gone subscription was kept")
	}
	// The next look finds no phone to reach: a task for the appointment's expert, once.
	for range 2 {
		if _, err := f.svc.QueueReminders(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var assignee int64
	if err := f.owner.QueryRow(f.ctx, `SELECT count(*), max(assignee_id) FROM tasks WHERE kind = 'unreachable' AND client_id = $1
		AND source_key = $2`, f.client, fmt.Sprintf("appointment:%d:unreachable", appt)).Scan(&n, &assignee); err != nil || n != 1 || assignee != f.ben {
		t.Errorf("%d unreachable tasks for %d, %v", n, assignee, err)
	}
}

// TestServicePointSetsItsReminderTimes: the reminder check follows the
// hours a service point's lead chose for its two reminders and leaves out a
// reminder turned off; a service point without settings keeps a day and two
// hours before.
func TestServicePointSetsItsReminderTimes(t *testing.T) {
	f := newFixture(t)
	cred := f.phone()
	fake := pushtest.NewServer(t)
	sub, _ := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	if err := f.svc.SetPush(f.ctx, cred, raw); err != nil {
		t.Fatal(err)
	}
	queue := func() int {
		t.Helper()
		n, err := f.svc.QueueReminders(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var slug string
	if err := f.owner.QueryRow(f.ctx, `SELECT slug FROM service_points WHERE id = $1`, f.sp).Scan(&slug); err != nil {
		t.Fatal(err)
	}
	lead := auth.Principal{StaffID: f.anna, Tenant: f.tenant, Grants: []auth.Grant{{Role: auth.RoleLead, ServicePointID: f.sp}}}
	appts := appointments.New(f.db, func() time.Time { return f.now })
	save := func(first, second appointments.Reminder) {
		t.Helper()
		st := appointments.DefaultSettings()
		st.First, st.Second = first, second
		if err := appts.SaveSettings(f.ctx, lead, slug, st); err != nil {
			t.Fatal(err)
		}
	}

	// The defaults: 47 hours ahead is too early for the day-before reminder.
	f.appointment(f.ben, 47*time.Hour, "")
	if n := queue(); n != 0 {
		t.Fatalf("%d reminders queued 47 h ahead under the defaults", n)
	}
	// Two days and three hours before: the first goes now, the second at
	// three hours, not at two.
	save(appointments.Reminder{On: true, Before: 48 * time.Hour}, appointments.Reminder{On: true, Before: 3 * time.Hour})
	if n := queue(); n != 1 {
		t.Fatalf("%d reminders queued 47 h ahead with the first at 48 h", n)
	}
	f.now = f.now.Add(43*time.Hour + 30*time.Minute) // 3 h 30 min before
	if n := queue(); n != 0 {
		t.Fatalf("%d reminders queued at 3 h 30 min with the second at 3 h", n)
	}
	f.now = f.now.Add(time.Hour) // 2 h 30 min before
	queue()
	if got := strings.Join(f.deliveries(), " "); got != "reminder_24h/queued/ reminder_2h/queued/" {
		t.Fatalf("deliveries %s", got)
	}

	// Only the first, at 24 hours: an appointment 90 minutes away gets no
	// urgent reminder; another 20 hours away gets the first.
	save(appointments.Reminder{On: true, Before: 24 * time.Hour}, appointments.Reminder{On: false, Before: 2 * time.Hour})
	f.appointment(f.ben, 90*time.Minute, "")
	f.appointment(f.ben, 20*time.Hour, "")
	queue()
	if got := strings.Join(f.deliveries(), " "); got != "reminder_24h/queued/ reminder_2h/queued/ reminder_24h/queued/ reminder_24h/queued/" {
		t.Fatalf("with the second off: deliveries %s", got)
	}
	// Both off: nothing more, however close.
	save(appointments.Reminder{On: false, Before: 24 * time.Hour}, appointments.Reminder{On: false, Before: 2 * time.Hour})
	f.appointment(f.ben, time.Hour, "")
	f.appointment(f.ben, 10*time.Hour, "")
	if n := queue(); n != 0 {
		t.Fatalf("%d reminders queued with both off", n)
	}
	// The first at or after the second while both are on is refused.
	st := appointments.DefaultSettings()
	st.First.Before = 2 * time.Hour
	if err := appts.SaveSettings(f.ctx, lead, slug, st); !errors.Is(err, appointments.ErrRemindersOrder) {
		t.Errorf("first at the second's hours: %v", err)
	}
	st.First.Before = 200 * time.Hour
	if err := appts.SaveSettings(f.ctx, lead, slug, st); !errors.Is(err, appointments.ErrBadBooking) {
		t.Errorf("first 200 h before: %v", err)
	}
}
