package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Notices a staff member's browsers get by Web Push.
const (
	NoticeAssigned = "assigned" // a task was given to me
	NoticeOverdue  = "overdue"  // one of mine passed its due time
)

// overdueEvery is how often overdue tasks are looked for.
const overdueEvery = time.Minute

// taskPushTTL is how long a notice is worth delivering: a task is still
// there to do the next morning.
const taskPushTTL = 12 * time.Hour

// maxDevices caps one staff member's browsers that take pushes.
const maxDevices = 10

// Errors of the device list.
var (
	ErrInvalidSubscription = errors.New("tasks: invalid push subscription")
	ErrTooManyDevices      = errors.New("tasks: too many devices")
)

// Register gives the task queue its durable jobs: the pushes to staff
// (rendered in each staff member's language from catalog), which changes
// enqueue from now on, and the overdue check, run every overdueEvery by
// one instance of all. Call it before j starts.
func (s *Service) Register(j *jobs.Service, catalog *i18n.Catalog) {
	s.jobs = j
	jobs.AddWorker(j, &taskPushWorker{s: s, jobs: j, catalog: catalog})
	jobs.Periodic[CheckOverdue](j, overdueEvery, func(ctx context.Context) error {
		_, err := s.NotifyOverdue(ctx)
		return err
	})
}

// TaskPush is the job that tells one staff browser about one task. It
// carries ids only: the worker reads the task, and sends nothing when the
// news is overtaken (the task closed, or given to someone else).
type TaskPush struct {
	Tenant   int64  `json:"tenant"`
	TaskID   int64  `json:"task_id"`
	StaffID  int64  `json:"staff_id"`
	DeviceID int64  `json:"device_id"`
	Notice   string `json:"notice"`
}

// Kind names the job in River's table.
func (TaskPush) Kind() string { return "task_push" }

// InsertOpts: a few tries over the push service's bad minutes.
func (TaskPush) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

// enqueueNotice enqueues, in the caller's transaction, one push per
// browser the staff member opted in with. Without push nothing is enqueued.
func (s *Service) enqueueNotice(ctx context.Context, tx sqldb.Tx, taskID, staffID int64, notice string) error {
	if s.jobs == nil || !s.jobs.Pushing() {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT koto_tenant(), id FROM staff_push WHERE staff_id = $1`, staffID)
	if err != nil {
		return err
	}
	args, err := sqldb.CollectRows(rows, func(r sqldb.Row) (river.JobArgs, error) {
		p := TaskPush{TaskID: taskID, StaffID: staffID, Notice: notice}
		return p, r.Scan(&p.Tenant, &p.DeviceID)
	})
	if err != nil {
		return err
	}
	return s.jobs.InsertTx(ctx, tx, args...)
}

// staffMessage is what the service worker shows: the kind of task in the
// staff member's language and the address that opens it; no client's name.
type staffMessage struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Lang  string `json:"lang"`
	Dir   string `json:"dir"`
	Tag   string `json:"tag"`
	URL   string `json:"url"`
}

type taskPushWorker struct {
	river.WorkerDefaults[TaskPush]
	s       *Service
	jobs    *jobs.Service
	catalog *i18n.Catalog
}

func (w *taskPushWorker) Work(ctx context.Context, job *river.Job[TaskPush]) error {
	a := job.Args
	var t Task
	var subscription []byte
	var locale string
	err := w.s.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
		var err error
		if t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+` WHERE t.id = $1`, a.TaskID)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT p.subscription, s.locale FROM staff_push p JOIN staff s ON s.id = p.staff_id
			WHERE p.id = $1 AND p.staff_id = $2 AND s.active`, a.DeviceID, a.StaffID).Scan(&subscription, &locale)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return nil // the task, the device or the account is gone
	}
	if err != nil {
		return err
	}
	if t.Status.Closed() || t.AssigneeID != a.StaffID {
		return nil
	}
	lang, ok := w.catalog.Lookup(locale)
	if !ok {
		lang, _ = w.catalog.Lookup(i18n.Default)
	}
	tr := w.catalog.For(lang)
	name := fmt.Sprintf("task-%d", t.ID)
	payload, err := json.Marshal(staffMessage{
		Title: tr.Get("tasks.push." + a.Notice), Body: tr.Get("tasks.kind." + string(t.Kind)),
		Lang: lang.Code, Dir: lang.Dir(), Tag: name, URL: fmt.Sprintf("/staff/tasks/%d", t.ID),
	})
	if err != nil {
		return err
	}
	msg := push.Message{Payload: payload, TTL: taskPushTTL, Urgency: push.UrgencyNormal, Topic: w.jobs.Topic(name)}
	gone, err := w.jobs.Push(ctx, job.JobRow, subscription, msg)
	if gone {
		if derr := w.s.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM staff_push WHERE id = $1`, a.DeviceID)
			return err
		}); derr != nil {
			return derr
		}
	}
	return err
}

// CheckOverdue is the periodic job that tells assignees about their tasks
// that have just passed their due time.
type CheckOverdue struct{}

// Kind names the job in River's table.
func (CheckOverdue) Kind() string { return "task_overdue" }

// NotifyOverdue marks every task that is past its due time, and whose
// assignee has not been told, as told, and enqueues the pushes in the same
// transaction, so a notice goes out once however many instances look. It
// returns how many tasks it marked.
func (s *Service) NotifyOverdue(ctx context.Context) (int, error) {
	var tenants []int64
	err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT koto_tasks_overdue_tenants()`)
		if err != nil {
			return err
		}
		tenants, err = sqldb.CollectRows(rows, sqldb.RowTo[int64])
		return err
	})
	if err != nil {
		return 0, err
	}
	marked := 0
	var errs []error
	for _, tenant := range tenants {
		err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
			rows, err := tx.Query(ctx, `
				UPDATE tasks SET overdue_notified_at = now()
				WHERE id IN (SELECT id FROM tasks
					WHERE status IN ('open','in_progress') AND assignee_id IS NOT NULL
					  AND overdue_notified_at IS NULL AND due_at < $1
					FOR UPDATE SKIP LOCKED)
				RETURNING id, assignee_id`, s.clock())
			if err != nil {
				return err
			}
			type due struct{ task, staff int64 }
			list, err := sqldb.CollectRows(rows, func(r sqldb.Row) (due, error) {
				var d due
				return d, r.Scan(&d.task, &d.staff)
			})
			if err != nil {
				return err
			}
			for _, d := range list {
				if err := s.enqueueNotice(ctx, tx, d.task, d.staff, NoticeOverdue); err != nil {
					return err
				}
			}
			marked += len(list)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("municipality %d: %w", tenant, err))
		}
	}
	return marked, errors.Join(errs...)
}

// Device is one browser that takes a staff member's task pushes.
type Device struct {
	ID        int64     `json:"id"`
	Label     string    `json:"label"`
	CreatedAt time.Time `json:"created_at"`
}

// Subscribe stores (or refreshes) a browser's push subscription for the
// actor's own tasks. The caller has checked it with the push sender's
// policy; label names the browser in the actor's list ("Firefox, Linux").
func (s *Service) Subscribe(ctx context.Context, actor auth.Principal, subscription []byte, label string) (Device, error) {
	var sub struct {
		Endpoint string `json:"endpoint"`
	}
	if len(subscription) > push.MaxSubscriptionJSON || json.Unmarshal(subscription, &sub) != nil || sub.Endpoint == "" {
		return Device{}, ErrInvalidSubscription
	}
	label = strings.TrimSpace(label)
	if utf8.RuneCountInString(label) > 100 {
		label = string([]rune(label)[:100])
	}
	hash := sha256.Sum256([]byte(sub.Endpoint))
	var d Device
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, true); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM staff_push WHERE staff_id = $1 AND endpoint_hash <> $2`,
			actor.StaffID, hash[:]).Scan(&n); err != nil {
			return err
		}
		if n >= maxDevices {
			return ErrTooManyDevices
		}
		// A browser that moves to another account (a shared computer)
		// leaves the former one: the endpoint is the browser's.
		return tx.QueryRow(ctx, `
			INSERT INTO staff_push (municipality_id, staff_id, endpoint_hash, subscription, label)
			VALUES (koto_tenant(), $1, $2, $3, $4)
			ON CONFLICT (municipality_id, endpoint_hash) DO UPDATE
			SET staff_id = excluded.staff_id, subscription = excluded.subscription, label = excluded.label
			RETURNING id, label, created_at`, actor.StaffID, hash[:], string(subscription), label).
			Scan(&d.ID, &d.Label, &d.CreatedAt)
	})
	return d, err
}

// Devices lists the actor's browsers that take pushes.
func (s *Service) Devices(ctx context.Context, actor auth.Principal) ([]Device, error) {
	var out []Device
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, true); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, label, created_at FROM staff_push WHERE staff_id = $1 ORDER BY created_at, id`, actor.StaffID)
		if err != nil {
			return err
		}
		out, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Device, error) {
			var d Device
			return d, r.Scan(&d.ID, &d.Label, &d.CreatedAt)
		})
		return err
	})
	return out, err
}

// RemoveDevice stops pushes to one of the actor's browsers; another's is
// ErrNotFound.
func (s *Service) RemoveDevice(ctx context.Context, actor auth.Principal, id int64) error {
	return s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, true); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM staff_push WHERE id = $1 AND staff_id = $2`, id, actor.StaffID)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return ErrNotFound
		}
		return nil
	})
}
