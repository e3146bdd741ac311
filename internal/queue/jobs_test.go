package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
)

// instance is one portal instance's queue service with its job queue, on
// the fixture's database.
func (f *fixture) instance(fake *pushtest.Server, opts jobs.Options) (*Service, *jobs.Service) {
	f.t.Helper()
	if fake != nil {
		opts.Sender = fake.Sender()
	}
	svc := New(f.db, f.clock.Now)
	return svc, jobstest.Start(f.t, f.db, opts, svc)
}

// subscribe gives a ticket a subscription at the fake push service.
func (f *fixture) subscribe(fake *pushtest.Server, svc *Service, token string) *pushtest.Client {
	f.t.Helper()
	sub, client := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	if err := svc.SetPush(f.ctx, token, raw); err != nil {
		f.t.Fatal(err)
	}
	return client
}

// jobs counts the jobs of a kind in a state ("" for any), as the owner sees them.
func (f *fixture) jobs(kind, state string) int {
	f.t.Helper()
	return f.count(`SELECT count(*) FROM river_job WHERE kind = $1 AND ($2 = '' OR state::text = $2)`, kind, state)
}

// waitJobs waits until n jobs of kind are in state.
func (f *fixture) waitJobs(kind, state string, n int) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for f.jobs(kind, state) != n {
		if time.Now().After(deadline) {
			f.t.Fatalf("%d %s jobs %s, want %d", f.jobs(kind, state), kind, state, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callOnDyingInstance takes a ticket in lang, subscribes its phone and
// calls it on an instance that enqueues but never gets to work a job, as
// if it died right after the call committed.
func (f *fixture) callOnDyingInstance(fake *pushtest.Server, lang string) Ticket {
	f.t.Helper()
	dying, _ := f.instance(fake, jobs.Options{InsertOnly: true})
	_, tok := f.take(f.topicA, lang)
	f.subscribe(fake, dying, tok)
	called, err := dying.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return called
}

// The portal dies between the call's commit and the send: the push was
// enqueued with the call, so the next instance to work the queue sends it,
// once, in the visitor's language.
func TestTicketPushSurvivesDeathBetweenCommitAndSend(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fake := pushtest.NewServer(t)
	called := f.callOnDyingInstance(fake, "sv")
	if f.jobs("ticket_push", "available") != 1 || fake.Requests() != 0 {
		t.Fatalf("after the commit: %d push jobs waiting, %d sent; want 1 and 0", f.jobs("ticket_push", "available"), fake.Requests())
	}

	f.instance(fake, jobs.Options{})
	ctx, cancel := context.WithTimeout(f.ctx, 20*time.Second)
	defer cancel()
	msg, err := fake.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("no push after the restart: %v", err)
	}
	var shown struct{ Title, Lang string }
	if err := json.Unmarshal(msg.Payload, &shown); err != nil || shown.Lang != "sv" || !strings.Contains(shown.Title, called.Label()) {
		t.Errorf("push said %+v (%v), want Swedish with %s", shown, err, called.Label())
	}
	if msg.Urgency != "high" || len(msg.Topic) != 32 || strings.Contains(msg.Topic, "ticket") {
		t.Errorf("urgency %q, topic %q: want high and an opaque topic", msg.Urgency, msg.Topic)
	}
	f.waitJobs("ticket_push", "completed", 1)
	time.Sleep(time.Second)
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("%d pushes arrived, want exactly 1", n)
	}
	fake.CheckNoFailures(t)
}

// Killed while sending, an instance leaves its job running; another
// instance takes it back once it has been running too long, and sends.
func TestTicketPushAbandonedMidSendIsRescued(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fake := pushtest.NewServer(t)
	f.callOnDyingInstance(fake, "fi")
	// What a SIGKILL during the send leaves behind: the job running, by an
	// instance that is no more, since longer than a job may take.
	f.exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - interval '10 minutes',
		attempted_by = '{killed-instance}', created_at = now() - interval '3 minutes' WHERE kind = 'ticket_push'`)

	f.instance(fake, jobs.Options{})
	ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	if _, err := fake.WaitMessage(ctx); err != nil {
		t.Fatalf("the abandoned push was not sent: %v", err)
	}
	f.waitJobs("ticket_push", "completed", 1)
	if n := len(fake.Messages()); n != 1 {
		t.Errorf("%d pushes arrived, want 1", n)
	}
}

// A call that rolls back leaves no push behind: the job is part of the
// call's transaction.
func TestRolledBackCallEnqueuesNoPush(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fake := pushtest.NewServer(t)
	svc, _ := f.instance(fake, jobs.Options{InsertOnly: true})
	tk, tok := f.take(f.topicA, "fi")
	f.subscribe(fake, svc, tok)
	// The call's last step, announcing it on the live channels, fails.
	f.exec(`CREATE FUNCTION refuse_call() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'refused for the test'; END $$`)
	f.exec(`CREATE TRIGGER refuse_call BEFORE INSERT OR UPDATE ON live_channels FOR EACH ROW EXECUTE FUNCTION refuse_call()`)
	if _, err := svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), tk.ID); err == nil {
		t.Fatal("the call went through")
	}
	if n := f.jobs("ticket_push", ""); n != 0 || f.state(tk.ID) != Waiting {
		t.Fatalf("after the rolled-back call: %d push jobs, ticket %s; want none and waiting", n, f.state(tk.ID))
	}
	f.exec(`DROP TRIGGER refuse_call ON live_channels`)
	if _, err := svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), tk.ID); err != nil {
		t.Fatal(err)
	}
	if n := f.jobs("ticket_push", ""); n != 1 {
		t.Fatalf("after the call: %d push jobs, want 1", n)
	}
}

// A call enqueues "called" for its ticket and "near" for the subscribed
// phones now at the front, each near notice once; a recall repeats only
// "called"; a ticket without a subscription gets nothing.
func TestCallEnqueuesCalledAndNearOnce(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fake := pushtest.NewServer(t)
	svc, _ := f.instance(fake, jobs.Options{InsertOnly: true})
	var ids []int64
	for i := range 6 {
		f.clock.Advance(time.Second)
		tk, tok := f.take(f.topicA, "fi")
		ids = append(ids, tk.ID)
		if i != 2 { // the third has no subscription
			f.subscribe(fake, svc, tok)
		}
	}
	enqueued := func() []string {
		rows, err := f.owner.Query(f.ctx, `SELECT args->>'notice' || ' ' || (args->>'ticket_id') FROM river_job
			WHERE kind = 'ticket_push' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	want := func(notice string, i int) string { return fmt.Sprintf("%s %d", notice, ids[i]) }
	check := func(step string, w ...string) {
		t.Helper()
		got := enqueued()
		w = slices.Clone(w)
		slices.Sort(got)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("%s: enqueued %q, want %q", step, got, w)
		}
	}

	if _, err := svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), nil); err != nil {
		t.Fatal(err)
	}
	first := []string{want("called", 0), want("near", 1), want("near", 3)}
	check("first call", first...)
	if _, err := svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), nil); err != nil {
		t.Fatal(err)
	}
	second := append(slices.Clone(first), want("called", 1), want("near", 4))
	check("second call", second...)
	if _, err := svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), ids[1]); err != nil {
		t.Fatal(err)
	}
	recalled := append(slices.Clone(second), want("called", 1))
	check("recall", recalled...)
	if _, err := svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), nil); err != nil {
		t.Fatal(err)
	}
	check("call of the unsubscribed ticket", append(recalled, want("near", 5))...)
}

// Two instances share the database: the day closing runs once between
// them, closes yesterday's ticket left waiting, and forgets the live
// channel of yesterday's ticket that was served.
func TestDayClosingRunsOnceAcrossInstances(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	served, _ := f.take(f.topicA, "fi")
	left, _ := f.take(f.topicA, "fi")
	if _, err := f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), served.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), served.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Finish(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), served.ID); err != nil {
		t.Fatal(err)
	}
	channels := func(id int64) int {
		return f.count(`SELECT count(*) FROM live_channels WHERE channel = $1`, TicketChannel(id))
	}
	if channels(served.ID) != 1 {
		t.Fatal("the served ticket's live channel was not made")
	}
	f.clock.Advance(24 * time.Hour)
	f.instance(nil, jobs.Options{})
	f.instance(nil, jobs.Options{})
	f.waitJobs("close_service_days", "completed", 1)
	time.Sleep(2 * time.Second)
	if n := f.jobs("close_service_days", ""); n != 1 {
		t.Errorf("the day closing ran %d times, want once", n)
	}
	if st := f.state(left.ID); st != NotServed {
		t.Errorf("yesterday's waiting ticket is %s, want not_served", st)
	}
	if channels(served.ID) != 0 {
		t.Error("yesterday's served ticket keeps its live channel")
	}
	if n := f.count(`SELECT count(*) FROM live_channels WHERE channel = $1`, SPChannel(f.sp)); n != 1 {
		t.Error("the service point's live channel went too")
	}
}

// dyingInstanceEnv names the variables that make this test binary a portal
// instance for TestTicketPushSurvivesSIGKILL: it calls the next visitor,
// works its job queue, and waits to be killed.
const dyingInstanceEnv = "KOTO_TEST_DYING_INSTANCE"

// A real process is killed with SIGKILL after the call committed and
// before its push got through (the push service had asked it to come back
// in three seconds); another instance delivers the push, once.
func TestTicketPushSurvivesSIGKILL(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fake := pushtest.NewServer(t)
	_, tok := f.take(f.topicA, "fi")
	client := f.subscribe(fake, f.svc, tok)
	client.QueueReplies(pushtest.Reply{Status: 503, RetryAfter: "3"})

	cfg := fake.Config()
	inst := jobstest.StartInstance(t, "TestDyingInstance", dyingInstanceEnv,
		f.db.Pool.Config().ConnString(), cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, fake.Host(),
		fmt.Sprint(f.tenant), fmt.Sprint(f.sp), fmt.Sprint(f.desk1), fmt.Sprint(f.staff1),
		f.clock.Now().Format(time.RFC3339Nano))
	child, log := inst.Cmd, inst.Log
	// Killed once its first attempt is answered "later" and recorded so.
	answered := func() bool {
		return fake.Requests() == 1 && f.jobs("ticket_push", "running") == 0 && f.jobs("ticket_push", "") == 1
	}
	for deadline := time.Now().Add(20 * time.Second); !answered(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the instance did not get to its first attempt (%d jobs, %d requests, %d failures %v):\n%s",
				f.jobs("ticket_push", ""), fake.Requests(), len(fake.Failures()), fake.Failures(), log())
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if got := fake.Messages(); len(got) != 1 || got[0].Status != 503 {
		t.Fatalf("before the kill the push service saw %d requests, want the one answered 503\n%s", len(got), log())
	}

	f.instance(fake, jobs.Options{})
	f.waitJobs("ticket_push", "completed", 1)
	time.Sleep(time.Second)
	delivered := 0
	for _, m := range fake.Messages() {
		if m.Status == 201 {
			delivered++
		}
	}
	if delivered != 1 {
		t.Errorf("%d pushes delivered, want exactly 1", delivered)
	}
	fake.CheckNoFailures(t)
}

// TestDyingInstance is the killed process of TestTicketPushSurvivesSIGKILL;
// run by itself it does nothing.
func TestDyingInstance(t *testing.T) {
	env := os.Getenv(dyingInstanceEnv)
	if env == "" {
		return
	}
	a := strings.Fields(env)
	ids := make([]int64, 4)
	for i := range ids {
		ids[i], _ = strconv.ParseInt(a[4+i], 10, 64)
	}
	now, _ := time.Parse(time.RFC3339Nano, a[8])
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
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := New(db, func() time.Time { return now })
	j := jobs.New(db, jobs.Options{Sender: sender, PollInterval: 200 * time.Millisecond})
	svc.Register(j, catalog)
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var slug string
	if err := db.InTenant(ctx, ids[0], func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT slug FROM service_points WHERE id = $1`, ids[1]).Scan(&slug)
	}); err != nil {
		t.Fatal(err)
	}
	expert := Expert{Slug: slug, Desk: ids[2], Actor: auth.Principal{StaffID: ids[3], Tenant: ids[0],
		Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: ids[1]}}}}
	if _, err := svc.CallNext(ctx, expert, nil); err != nil {
		t.Fatal(err)
	}
	select {} // until killed
}
