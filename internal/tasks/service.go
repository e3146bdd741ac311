package tasks

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Service runs the task queue on the database. It keeps no state of its
// own, so any number of instances can share it.
type Service struct {
	db  sqldb.DB
	now func() time.Time

	// jobs enqueues the staff pushes; nil until Register (then nothing is
	// pushed, and the screens alone tell).
	jobs *jobs.Service
	// events tells other systems of tasks created and done.
	events events.Hook
}

// NewService returns a Service; now is the clock (nil: time.Now).
func NewService(db sqldb.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// UseEvents sends task events to sink, in the transaction of the change;
// call it while wiring.
func (s *Service) UseEvents(sink events.Sink) { s.events.Use(sink) }

// emit records that something happened to task t.
func (s *Service) emit(ctx context.Context, tx sqldb.Tx, event string, t Task) error {
	return s.events.Emit(ctx, tx, event, events.Data{"task_id": t.ID, "client_id": t.ClientID})
}

// clock truncates to microseconds, PostgreSQL's precision.
func (s *Service) clock() time.Time { return s.now().Truncate(time.Microsecond) }

// asActor runs fn in the actor's municipality.
func (s *Service) asActor(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	return s.db.InTenant(ctx, actor.Tenant, fn)
}

// onTask runs fn on one task locked for change, after the one check that
// the actor may work at its service point. A task of another service point
// the actor cannot see is ErrNotFound, like one that does not exist.
func (s *Service) onTask(ctx context.Context, actor auth.Principal, id int64, fn func(tx sqldb.Tx, t Task) error) error {
	return s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		// Locked first, read after: a row locked in a join that waited for
		// another change is rechecked alone, and its joined names (who has
		// it now) would be those from before the wait.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		t, err := scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+` WHERE t.id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(t.ServicePointID)); err != nil {
			return err
		}
		return fn(tx, t)
	})
}

func notFound(err error) error {
	if sqldb.NotFound(err) == sqldb.ErrNotFound {
		return ErrNotFound
	}
	return err
}
