package tasks

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Two experts claim one pool task at the same moment: one gets it, the
// other hears that it is taken, and by whom.
func TestClaimRaceHasOneWinner(t *testing.T) {
	f := newFixture(t)
	for round := range 10 {
		task := f.mustCreate(New{Kind: KindWalkIn, ServicePointID: f.sp})
		var wg sync.WaitGroup
		results := make([]Task, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, who := range []int64{f.anna, f.ben} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], errs[i] = f.svc.Claim(f.ctx, f.actor(who), task.ID)
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 1
		if errs[0] != nil {
			won, lost = 1, 0
		}
		if errs[won] != nil {
			t.Fatalf("round %d: nobody won: %v, %v", round, errs[0], errs[1])
		}
		wantErr(t, "the later claim", errs[lost], ErrTaken)
		winner := []int64{f.anna, f.ben}[won]
		if results[won].AssigneeID != winner || results[won].Status != InProgress {
			t.Fatalf("round %d: winner's task %+v", round, results[won])
		}
		if results[lost].AssigneeID != winner || results[lost].Assignee == "" {
			t.Fatalf("round %d: the loser is not told who has it: %+v", round, results[lost])
		}
		if n := f.count(`SELECT count(*) FROM task_events WHERE task_id = $1 AND action = 'claimed'`, task.ID); n != 1 {
			t.Fatalf("round %d: %d claims recorded", round, n)
		}
	}
}

// Every change lands in the history with who, what and when, and each
// is announced on the service point's channel and on the channels of the
// assignees it concerns.
func TestHistoryRecordsEveryChange(t *testing.T) {
	f := newFixture(t)
	anna, ben, lea := f.actor(f.anna), f.actor(f.ben), f.actor(f.lea)
	task := f.mustCreate(New{Kind: KindCallMe, ClientID: f.client}) // to Anna, the responsible expert
	point := f.seqOf(PointChannel(f.sp))
	annaSeq, benSeq := f.seqOf(StaffChannel(f.anna)), f.seqOf(StaffChannel(f.ben))

	steps := []struct {
		name string
		do   func() (Task, error)
	}{
		{"claim", func() (Task, error) { return f.svc.Claim(f.ctx, anna, task.ID) }},
		{"comment", func() (Task, error) { return f.svc.Comment(f.ctx, anna, task.ID, "  Called, no answer  ") }},
		{"assign to Ben", func() (Task, error) { return f.svc.Assign(f.ctx, lea, task.ID, f.ben) }},
		{"back to the pool", func() (Task, error) { return f.svc.Assign(f.ctx, ben, task.ID, 0) }},
		{"done", func() (Task, error) { return f.svc.Complete(f.ctx, ben, task.ID, "Reached in the afternoon") }},
		{"comment after", func() (Task, error) { return f.svc.Comment(f.ctx, anna, task.ID, "Booked a meeting") }},
	}
	for _, st := range steps {
		if _, err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	d, err := f.svc.Get(f.ctx, anna, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range d.History {
		line := e.Action + " by " + e.Staff
		if e.ToStaff != "" {
			line += " to " + e.ToStaff
		}
		if e.Comment != "" {
			line += ": " + e.Comment
		}
		if e.At.IsZero() {
			t.Errorf("%s has no time", line)
		}
		got = append(got, line)
	}
	want := []string{"created by ", "claimed by Anna", "commented by Anna: Called, no answer", "assigned by Lea to Ben",
		"released by Ben", "done by Ben: Reached in the afternoon", "commented by Anna: Booked a meeting"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d.Status != Done || d.AssigneeID != f.ben || d.ClosedAt == nil {
		t.Fatalf("done from the pool: %+v", d.Task)
	}
	if n := f.seqOf(PointChannel(f.sp)) - point; n != int64(len(steps)) {
		t.Fatalf("%d changes announced to the service point, want %d", n, len(steps))
	}
	// Anna: claim, comment, assign away. Ben: assigned, released, done (his
	// again), and Anna's last comment on his task.
	if a, b := f.seqOf(StaffChannel(f.anna))-annaSeq, f.seqOf(StaffChannel(f.ben))-benSeq; a != 3 || b != 4 {
		t.Fatalf("announced %d to Anna and %d to Ben, want 3 and 4", a, b)
	}
	if n := f.count(`SELECT count(*) FROM access_log WHERE subject_kind = 'client' AND subject_id = $1 AND purpose = 'task'`, f.client); n != 1 {
		t.Fatalf("reading the client's task wrote %d access-log rows", n)
	}
}

func TestChangesThatAreRefused(t *testing.T) {
	f := newFixture(t)
	anna, cecil := f.actor(f.anna), f.actor(f.cecil)
	task := f.mustCreate(New{Kind: KindWalkIn, ServicePointID: f.sp})

	_, err := f.svc.Claim(f.ctx, cecil, task.ID)
	wantErr(t, "claim at another service point", err, auth.ErrForbidden)
	_, err = f.svc.Assign(f.ctx, anna, task.ID, f.cecil)
	wantErr(t, "assign to one who works elsewhere", err, ErrBadAssignee)
	_, err = f.svc.Comment(f.ctx, anna, task.ID, " ")
	wantErr(t, "empty comment", err, ErrNoComment)
	_, err = f.svc.Comment(f.ctx, anna, task.ID, strings.Repeat("x", MaxComment+1))
	wantErr(t, "long comment", err, ErrTooLong)
	_, err = f.svc.Get(f.ctx, anna, task.ID+1000)
	wantErr(t, "unknown task", err, ErrNotFound)

	if _, err := f.svc.Cancel(f.ctx, anna, task.ID, "duplicate"); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Complete(f.ctx, anna, task.ID, "")
	wantErr(t, "complete a cancelled task", err, ErrClosed)
	_, err = f.svc.Claim(f.ctx, anna, task.ID)
	wantErr(t, "claim a cancelled task", err, ErrClosed)

	// Another municipality's staff member does not see it at all.
	other := f.addTenant()
	osp := f.addServicePoint(other)
	stranger := f.addStaff(other, osp, auth.RoleAdmin, "Stranger")
	p := auth.Principal{StaffID: stranger, Tenant: other, Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	_, err = f.svc.Get(f.ctx, p, task.ID)
	wantErr(t, "another municipality", err, ErrNotFound)
}

func TestListsFiltersLoadAndCount(t *testing.T) {
	f := newFixture(t)
	anna, lea := f.actor(f.anna), f.actor(f.lea)
	now := time.Now()
	late := f.mustCreate(New{Kind: KindCallMe, ClientID: f.client, DueAt: now.Add(-time.Hour)})
	soon := f.mustCreate(New{Kind: KindCheckedIn, ClientID: f.client, DueAt: now.Add(time.Hour)})
	undated := f.mustCreate(New{Kind: KindInterpreter, ClientID: f.client})
	pool := f.mustCreate(New{Kind: KindWalkIn, ServicePointID: f.sp, DueAt: now.Add(-time.Minute)})
	f.mustCreate(New{Kind: KindWalkIn, ServicePointID: f.sp2})
	done := f.mustCreate(New{Kind: KindCallMe, ClientID: f.client})
	if _, err := f.svc.Complete(f.ctx, anna, done.ID, ""); err != nil {
		t.Fatal(err)
	}

	ids := func(l List) []int64 {
		var out []int64
		for _, x := range l.Tasks {
			out = append(out, x.ID)
		}
		return out
	}
	slug := f.slug(f.sp)
	cases := []struct {
		name string
		list func() (List, error)
		want []int64
	}{
		{"mine, soonest first", func() (List, error) { return f.svc.Mine(f.ctx, anna, Filter{}) }, []int64{late.ID, soon.ID, undated.ID}},
		{"mine overdue", func() (List, error) { return f.svc.Mine(f.ctx, anna, Filter{Due: DueOverdue}) }, []int64{late.ID}},
		{"mine due soon", func() (List, error) { return f.svc.Mine(f.ctx, anna, Filter{Due: DueSoon}) }, []int64{soon.ID}},
		{"mine undated", func() (List, error) { return f.svc.Mine(f.ctx, anna, Filter{Due: DueNone}) }, []int64{undated.ID}},
		{"mine by kind", func() (List, error) { return f.svc.Mine(f.ctx, anna, Filter{Kind: KindCheckedIn}) }, []int64{soon.ID}},
		{"mine done", func() (List, error) { return f.svc.Mine(f.ctx, anna, Filter{Status: Done}) }, []int64{done.ID}},
		{"the pool", func() (List, error) { return f.svc.Pool(f.ctx, anna, slug, Filter{}) }, []int64{pool.ID}},
	}
	for _, c := range cases {
		l, err := c.list()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := ids(l); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if !late.Overdue(time.Now()) || soon.Overdue(time.Now()) {
		t.Error("Overdue is wrong")
	}
	_, err := f.svc.Pool(f.ctx, f.actor(f.cecil), slug, Filter{})
	wantErr(t, "another service point's pool", err, auth.ErrForbidden)

	ld, err := f.svc.Load(f.ctx, lea, slug)
	if err != nil {
		t.Fatal(err)
	}
	if ld.Pool.Open != 1 || ld.Pool.Overdue != 1 || len(ld.Staff) == 0 || ld.Staff[0].StaffID != f.anna ||
		ld.Staff[0].Open != 3 || ld.Staff[0].Overdue != 1 {
		t.Fatalf("load: %+v", ld)
	}
	_, err = f.svc.Load(f.ctx, anna, slug)
	wantErr(t, "an expert's look at the load", err, auth.ErrForbidden)

	b, err := f.svc.Badge(f.ctx, anna, slug)
	if err != nil || b.Count != 3 || len(b.Seqs) != 2 || b.Seqs[PointChannel(f.sp)] == 0 {
		t.Fatalf("badge %+v, %v", b, err)
	}
	_, err = f.svc.Badge(f.ctx, f.actor(f.cecil), slug)
	wantErr(t, "another service point's channel", err, auth.ErrForbidden)
	if n, err := f.svc.Count(f.ctx, anna); err != nil || n != 3 {
		t.Fatalf("count %d, %v", n, err)
	}
	if chans, err := f.svc.Watch(f.ctx, anna, slug); err != nil ||
		!slices.Equal(chans, []string{PointChannel(f.sp), StaffChannel(f.anna)}) {
		t.Fatalf("watch %v, %v", chans, err)
	}
	_, err = f.svc.Watch(f.ctx, f.actor(f.cecil), slug)
	wantErr(t, "watching another service point", err, auth.ErrForbidden)
}

// Erasing a client takes the personal data out of their tasks and their
// history, and leaves the rest.
func TestEraseClientClearsTasks(t *testing.T) {
	f := newFixture(t)
	anna := f.actor(f.anna)
	task := f.mustCreate(New{Kind: KindCannotCome, ClientID: f.client, Details: "My son is ill", Facts: Facts{FactTime: "2026-12-01T10:00:00Z"}})
	other := f.mustCreate(New{Kind: KindWalkIn, ServicePointID: f.sp, Details: "kept"})
	if _, err := f.svc.Comment(f.ctx, anna, task.ID, "Spoke with Amina's son"); err != nil {
		t.Fatal(err)
	}
	err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error { return EraseClient(f.ctx, tx, f.client) })
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count(`SELECT count(*) FROM tasks WHERE id = $1 AND details = '' AND facts = '{}'`, task.ID); n != 1 {
		t.Fatal("details stayed")
	}
	if n := f.count(`SELECT count(*) FROM task_events WHERE task_id = $1 AND comment <> ''`, task.ID); n != 0 {
		t.Fatal("comments stayed")
	}
	if n := f.count(`SELECT count(*) FROM task_events WHERE task_id = $1`, task.ID); n != 2 {
		t.Fatal("the history's lines went too")
	}
	if n := f.count(`SELECT count(*) FROM tasks WHERE id = $1 AND details = 'kept'`, other.ID); n != 1 {
		t.Fatal("another task was touched")
	}
	var export any
	err = f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
		var err error
		export, err = ExportClient(f.ctx, tx, f.client)
		return err
	})
	if list, ok := export.([]ClientTask); err != nil || !ok || len(list) != 1 || len(list[0].History) != 2 || list[0].Details != "" {
		t.Fatalf("export after erasure: %+v, %v", export, err)
	}
}

func (f *fixture) slug(sp int64) string {
	f.t.Helper()
	var s string
	if err := f.owner.QueryRow(f.ctx, `SELECT slug FROM service_points WHERE id = $1`, sp).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}
