package outreach

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/internal/testdb"
)

// sendingInstanceEnv makes this test binary the instance that
// TestReminderSentAgainAfterSIGKILLBetweenSendAndRecord kills: the app's
// database URL, the VAPID key pair and the push service's host.
const sendingInstanceEnv = "KOTO_TEST_KILLED_REMINDER_INSTANCE"

// A real process sends a reminder and is killed with SIGKILL before it
// learns that the push service took it, so it never records it sent. The
// next instance rescues the job and sends the reminder again, at least
// once in all: the same notification (its Topic and its tag), which the
// phone shows once, as a newer one with a tag replaces the older.
func TestReminderSentAgainAfterSIGKILLBetweenSendAndRecord(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	_, phone := f.subscribe(fake)
	phone.QueueReplies(pushtest.Reply{Status: 201, Delay: time.Minute})
	f.appointment(f.ben, 90*time.Minute, "")
	// This process only hands the reminder over; the instance sends it.
	jobstest.Start(t, f.db, jobs.Options{InsertOnly: true}, f.svc)
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}

	cfg := fake.Config()
	inst := jobstest.StartInstance(t, "TestKilledReminderInstance", sendingInstanceEnv,
		f.db.Pool.Config().ConnString(), cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, fake.Host())
	for deadline := time.Now().Add(30 * time.Second); fake.Requests() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			var states string
			_ = f.owner.QueryRow(f.ctx, `SELECT string_agg(kind || ':' || state::text || ':' || coalesce(errors::text, ''), ' ') FROM river_job`).Scan(&states)
			t.Fatalf("the instance did not send the reminder (jobs %s, deliveries %v):\n%s", states, f.deliveries(), inst.Log())
		}
	}
	if err := inst.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = inst.Cmd.Wait()
	if got := f.deliveries(); len(got) != 1 || got[0] != "reminder_2h/queued/" {
		t.Fatalf("after the kill the delivery is %v, want it queued (sent, but not known to be)", got)
	}

	// As in the webhook's kill test: the running job is made a minute
	// old, River's least rescue threshold, instead of waiting that minute.
	f.owner.Run(`UPDATE river_job SET attempted_at = attempted_at - interval '1 minute'
		WHERE kind = 'client_reminder_push' AND state = 'running'`)
	jobstest.Start(t, f.db, jobs.Options{Sender: fake.Sender(), RescueAfter: time.Minute}, f.svc)
	// The killed instance leads River's maintenance (the rescuer among it)
	// until its term runs out, some 15 s.
	deadline := time.Now().Add(90 * time.Second)
	for strings.Join(f.deliveries(), " ") != "reminder_2h/sent/" {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %v, want the reminder sent by the next instance", f.deliveries())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a wrong third send

	got := fake.Messages()
	if len(got) != 2 {
		t.Fatalf("the push service took %d messages, want the killed instance's and the next one's", len(got))
	}
	var first, again reminderMessage
	if err := json.Unmarshal(got[0].Payload, &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got[1].Payload, &again); err != nil {
		t.Fatal(err)
	}
	if got[0].Topic == "" || got[1].Topic != got[0].Topic || again.Tag == "" || again != first {
		t.Errorf("sent again as another notification: topics %q, %q; %+v, then %+v", got[0].Topic, got[1].Topic, first, again)
	}
	fake.CheckNoFailures(t)
}

// TestKilledReminderInstance is the instance that
// TestReminderSentAgainAfterSIGKILLBetweenSendAndRecord kills: it works the
// job queue until then. Run by itself it does nothing.
func TestKilledReminderInstance(t *testing.T) {
	env := os.Getenv(sendingInstanceEnv)
	if env == "" {
		return
	}
	a := strings.Fields(env)
	ctx := context.Background()
	db, err := store.Open(ctx, a[0], 4)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := push.NewSender(push.Config{VAPIDPublicKey: a[1], VAPIDPrivateKey: a[2], Subject: "mailto:pushtest@example.org",
		AllowedHosts: []string{a[3]}, AllowInsecure: true})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(db, tasks.NewService(db, time.Now), time.Now)
	jobstest.Start(t, db, jobs.Options{Sender: sender}, svc)
	select {} // until killed
}

// PostgreSQL restarts while a reminder waits for the push service to take
// it (its first answer was "later"): the reminder, its job and its
// delivery are on disk, and once the database is back the instance sends
// it, once, and records it sent.
func TestReminderOutlivesARestartOfPostgreSQL(t *testing.T) {
	ownerURL, restart := testdb.Restartable(t)
	db, err := store.Open(context.Background(), testdb.AppURL(ownerURL), 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	f := fixtureOn(t, db, ownerURL)
	fake := pushtest.NewServer(t)
	_, phone := f.subscribe(fake)
	phone.QueueReplies(pushtest.Reply{Status: 429, RetryAfter: "4"})
	f.appointment(f.ben, 90*time.Minute, "")
	jobstest.Start(t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); fake.Requests() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reminder was not tried")
		}
	}
	time.Sleep(200 * time.Millisecond) // the snooze recorded
	started := func() (at time.Time) {
		t.Helper()
		if err := f.owner.QueryRow(f.ctx, `SELECT pg_postmaster_start_time()`).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	before := started()
	restart()
	f.owner.Reset() // the owner's connections died with the server
	if !started().After(before) {
		t.Fatal("PostgreSQL did not restart")
	}
	f.waitDeliveries("reminder_2h/sent/")
	time.Sleep(500 * time.Millisecond) // room for a wrong third send
	if got := fake.Messages(); len(got) != 2 || got[0].Status != 429 || got[1].Status != 201 {
		t.Fatalf("the push service saw %d requests, want the one answered 429 and one sent after the restart", len(got))
	}
	fake.CheckNoFailures(t)
}
