package jobs

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"

	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

type probe struct{}

func (probe) Kind() string { return "probe" }

// Jobs enqueued in a transaction exist only if it commits; the queue's
// counts by kind and state reach /metrics.
func TestInsertTxAndJobCounts(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	s := New(db, Options{PollInterval: 200 * time.Millisecond})
	AddWorker(s, river.WorkFunc(func(context.Context, *river.Job[probe]) error {
		return river.JobCancel(errors.New("probe"))
	}))
	if err := s.InsertTx(ctx, nil, probe{}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("before Start: %v", err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(ctx)

	rollback := errors.New("roll back")
	err := db.Tx(ctx, func(tx sqldb.Tx) error {
		if err := s.InsertTx(ctx, tx, probe{}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx sqldb.Tx) error { return s.InsertTx(ctx, tx, probe{}, probe{}) }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'probe' AND state = 'cancelled'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d probes worked, want 2 (the rolled-back one must not exist)", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var total int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'probe'`).Scan(&total); err != nil || total != 2 {
		t.Fatalf("%d probe jobs (%v), want 2", total, err)
	}
	want := `
# HELP koto_jobs Jobs in the shared queue by kind and state (available, scheduled, running, retryable, completed, cancelled, discarded); finished ones are kept a day, discarded a week.
# TYPE koto_jobs gauge
koto_jobs{kind="probe",state="available"} 0
koto_jobs{kind="probe",state="cancelled"} 2
koto_jobs{kind="probe",state="completed"} 0
koto_jobs{kind="probe",state="discarded"} 0
koto_jobs{kind="probe",state="pending"} 0
koto_jobs{kind="probe",state="retryable"} 0
koto_jobs{kind="probe",state="running"} 0
koto_jobs{kind="probe",state="scheduled"} 0
`
	if err := testutil.CollectAndCompare(s.Collector(), strings.NewReader(want), "koto_jobs"); err != nil {
		t.Error(err)
	}
}
