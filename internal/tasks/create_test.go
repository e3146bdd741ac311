package tasks

import (
	"errors"

	"sync"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Every source lands its task with the right assignee: the one named, else
// the client's responsible expert, else the service point's pool.
func TestCreateAssigneeBySource(t *testing.T) {
	f := newFixture(t)
	noExpert := f.addClient(f.tenant, f.sp, 0)
	gone := f.addStaff(f.tenant, f.sp, "expert", "Gone")
	f.exec(`UPDATE staff SET active = false WHERE id = $1`, gone)
	leftBehind := f.addClient(f.tenant, f.sp2, gone)
	due := time.Now().Add(time.Hour).Truncate(time.Second)

	cases := []struct {
		name      string
		n         New
		wantStaff int64
		wantSP    int64
	}{
		{"client asked to be called", New{Kind: KindCallMe, ClientID: f.client}, f.anna, f.sp},
		{"client cannot come", New{Kind: KindCannotCome, ClientID: f.client, Details: "sick child"}, f.anna, f.sp},
		{"interpreter, no responsible expert", New{Kind: KindInterpreter, ClientID: noExpert, Facts: Facts{FactLanguage: "ar"}}, 0, f.sp},
		{"could not reach, expert left", New{Kind: KindUnreachable, ClientID: leftBehind}, 0, f.sp2},
		{"appointment checked in, its expert", New{Kind: KindCheckedIn, ClientID: f.client, AssigneeID: f.ben, DueAt: due}, f.ben, f.sp},
		{"walk-in follow-up to the pool", New{Kind: KindWalkIn, ServicePointID: f.sp, Facts: Facts{FactTicket: "A 12"}}, 0, f.sp},
		{"walk-in follow-up to the expert", New{Kind: KindWalkIn, ServicePointID: f.sp, AssigneeID: f.ben}, f.ben, f.sp},
		{"written by hand", New{Kind: KindManual, ServicePointID: f.sp2, Title: "Call Migri", By: f.cecil, AssigneeID: f.cecil}, f.cecil, f.sp2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.seqOf(PointChannel(c.wantSP))
			got, created, err := f.create(c.n)
			if err != nil || !created {
				t.Fatalf("create: %v (created %v)", err, created)
			}
			if got.AssigneeID != c.wantStaff || got.ServicePointID != c.wantSP || got.Status != Open {
				t.Fatalf("assignee %d at %d (%s), want %d at %d (open)", got.AssigneeID, got.ServicePointID, got.Status, c.wantStaff, c.wantSP)
			}
			if f.seqOf(PointChannel(c.wantSP)) != before+1 {
				t.Fatal("the service point's screens were not told")
			}
			if n := f.count(`SELECT count(*) FROM task_events WHERE task_id = $1 AND action = 'created'`, got.ID); n != 1 {
				t.Fatalf("history has %d created lines", n)
			}
		})
	}

	t.Run("an assignee who cannot work there is refused", func(t *testing.T) {
		_, _, err := f.create(New{Kind: KindManual, ServicePointID: f.sp, Title: "x", AssigneeID: f.cecil})
		wantErr(t, "create", err, ErrBadAssignee)
	})
	t.Run("a client of another municipality is unknown", func(t *testing.T) {
		other := f.addTenant()
		stranger := f.addClient(other, f.addServicePoint(other), 0)
		_, _, err := f.create(New{Kind: KindCallMe, ClientID: stranger})
		wantErr(t, "create", err, ErrInvalid)
	})
	t.Run("a hand-written task needs a title", func(t *testing.T) {
		_, _, err := f.create(New{Kind: KindManual, ServicePointID: f.sp, Title: "  "})
		wantErr(t, "create", err, ErrNoTitle)
	})
}

// A task exists exactly when its event committed: an event that rolls back
// leaves no task, no history and no live notice, and a retry of the same
// event (its source key) makes the task once, however the retries meet.
func TestCreateRollbackAndRetry(t *testing.T) {
	f := newFixture(t)
	n := New{Kind: KindCannotCome, ClientID: f.client, SourceKey: "answer:41"}
	point, staff := f.seqOf(PointChannel(f.sp)), f.seqOf(StaffChannel(f.anna))

	errEvent := errors.New("the event failed after the task was written")
	err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
		if _, _, err := f.svc.Create(f.ctx, tx, n); err != nil {
			return err
		}
		return errEvent
	})
	wantErr(t, "rolled back", err, errEvent)
	if c := f.count(`SELECT count(*) FROM tasks`); c != 0 {
		t.Fatalf("%d tasks after a rollback", c)
	}
	if f.count(`SELECT count(*) FROM task_events`) != 0 || f.seqOf(PointChannel(f.sp)) != point || f.seqOf(StaffChannel(f.anna)) != staff {
		t.Fatal("a rolled-back task left history or a live notice")
	}

	first, created, err := f.create(n)
	if err != nil || !created {
		t.Fatalf("retry: %v, created %v", err, created)
	}
	again, created, err := f.create(n)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("second retry: %v, created %v, id %d (first %d)", err, created, again.ID, first.ID)
	}

	// Retries that meet: one of them waits for the other's commit and
	// reads its task.
	n.SourceKey = "answer:42"
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got Task
			got, _, errs[i] = f.create(n)
			ids[i] = got.ID
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("concurrent retry %d: id %d (first %d), %v", i, ids[i], ids[0], errs[i])
		}
	}
	if c := f.count(`SELECT count(*) FROM tasks`); c != 2 {
		t.Fatalf("%d tasks for two events", c)
	}
	if c := f.count(`SELECT count(*) FROM task_events WHERE action = 'created'`); c != 2 {
		t.Fatalf("%d created lines for two tasks", c)
	}
}

func (f *fixture) seqOf(channel string) int64 {
	f.t.Helper()
	return f.id(`SELECT coalesce((SELECT seq FROM live_channels WHERE channel = $1), 0)`, channel)
}
