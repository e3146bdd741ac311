package outreach

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

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
	m, err := fake.WaitMessage(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var msg reminderMessage
	if err := json.Unmarshal(m.Payload, &msg); err != nil {
		t.Fatal(err)
	}
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
