package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/sqldb"
)

// New is a task to create.
type New struct {
	// ServicePointID is whose pool the task falls back to. 0 takes the
	// client's service point; one of the two is needed.
	ServicePointID int64
	Kind           Kind
	// ClientID is the client the task is about (0: none, e.g. a walk-in).
	ClientID int64
	// TicketID is the walk-in ticket the task follows up (0: none).
	TicketID int64
	// AssigneeID is who should do it. 0 means the client's responsible
	// expert, or the service point's pool when there is no such expert.
	AssigneeID int64
	// Title is needed for KindManual only; the other kinds are titled in
	// each reader's language from the kind and the facts.
	Title   string
	Details string
	Facts   Facts
	// DueAt zero: no due time.
	DueAt    time.Time
	Priority Priority // "" is Normal
	// SourceKey names the event that causes the task, unique in the
	// municipality, e.g. "appointment:42:checked_in" or "answer:17". A
	// second Create with the same key (a retried job, a repeated request)
	// creates nothing and returns the first task. "" creates every time.
	SourceKey string
	// By is the staff member who caused it; 0 for the portal itself (a
	// client's answer, a kiosk check-in, a failed reminder).
	By int64
}

// Create records a task inside the caller's transaction, which must be
// scoped to the municipality (sqldb.DB.InTenant): the task, its first
// history line, the live notice to the screens that show it and the Web
// Push job to the assignee's browsers are all written there, so they exist
// exactly when the event that caused the task commits, and none of them if
// it rolls back.
//
// It checks no one's rights: the caller has decided that the event
// happened (a client answered, a kiosk checked an appointment in). created
// is false when n.SourceKey names an event that already has its task; the
// task returned is then that one, and nothing is written.
//
// Other domain packages hold the *Service the portal wires up and call
// this from within their own transaction, e.g.
//
//	t, _, err := s.tasks.Create(ctx, tx, tasks.New{Kind: tasks.KindCheckedIn,
//		ClientID: a.ClientID, AssigneeID: a.StaffID, DueAt: a.StartsAt,
//		Facts: tasks.Facts{tasks.FactTime: a.StartsAt.Format(time.RFC3339)},
//		SourceKey: fmt.Sprintf("appointment:%d:checked_in", a.ID)})
func (s *Service) Create(ctx context.Context, tx sqldb.Tx, n New) (t Task, created bool, err error) {
	if err := n.check(); err != nil {
		return Task{}, false, err
	}
	facts, err := json.Marshal(n.Facts)
	if err != nil {
		return Task{}, false, err
	}
	if n.Facts == nil {
		facts = []byte(`{}`)
	}
	// The service point, the client's responsible expert and a given
	// assignee are read from the tenant's own rows (row-level security
	// hides the others); an assignee who cannot work at the service point
	// is refused, an inactive responsible expert leaves the task to the pool.
	var spID, assignee *int64
	var ok bool
	err = tx.QueryRow(ctx, `
		WITH c AS (SELECT service_point_id, responsible_staff_id FROM clients WHERE id = $2 AND erased_at IS NULL),
		sp AS (SELECT id FROM service_points WHERE id = coalesce(nullif($1, 0), (SELECT service_point_id FROM c)))
		SELECT (SELECT id FROM sp),
		       CASE WHEN $3 <> 0 THEN (SELECT s.id FROM staff s WHERE s.id = $3 AND s.active AND `+canWorkAt+`)
		            ELSE (SELECT s.id FROM staff s WHERE s.id = (SELECT responsible_staff_id FROM c) AND s.active AND `+canWorkAt+`)
		       END,
		       $2 = 0 OR EXISTS (SELECT 1 FROM c)`,
		n.ServicePointID, n.ClientID, n.AssigneeID).Scan(&spID, &assignee, &ok)
	switch {
	case err != nil:
		return Task{}, false, err
	case spID == nil || !ok:
		return Task{}, false, ErrInvalid
	case n.AssigneeID != 0 && assignee == nil:
		return Task{}, false, ErrBadAssignee
	}
	prio := n.Priority
	if prio == "" {
		prio = Normal
	}
	var due *time.Time
	if !n.DueAt.IsZero() {
		due = &n.DueAt
	}
	t, err = scanTask(tx.QueryRow(ctx, `WITH t AS (
		INSERT INTO tasks (municipality_id, service_point_id, kind, title, details, facts, client_id, ticket_id,
			assignee_id, priority, due_at, source_key, created_by)
		VALUES (koto_tenant(), $1, $2, $3, $4, $5, nullif($6, 0), nullif($7, 0), $8, $9, $10, nullif($11, ''), nullif($12, 0))
		ON CONFLICT (municipality_id, source_key) WHERE source_key IS NOT NULL DO NOTHING
		RETURNING *)
		SELECT `+taskCols+` FROM t`+taskJoins,
		*spID, n.Kind, strings.TrimSpace(n.Title), strings.TrimSpace(n.Details), facts, n.ClientID, n.TicketID,
		assignee, prio, due, n.SourceKey, n.By))
	if errors.Is(err, sqldb.ErrNoRows) && n.SourceKey != "" {
		// The event has its task already: a concurrent insert of the same
		// key waited for the first to commit, and now reads it.
		t, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+` WHERE t.source_key = $1`, n.SourceKey))
		return t, false, sqldb.NotFound(err)
	}
	if err != nil {
		return Task{}, false, err
	}
	if err := addEvent(ctx, tx, t.ID, n.By, ActionCreated, 0, ""); err != nil {
		return Task{}, false, err
	}
	if err := s.announce(ctx, tx, EventCreated, t, 0); err != nil {
		return Task{}, false, err
	}
	if err := s.emit(ctx, tx, events.TaskCreated, t); err != nil {
		return Task{}, false, err
	}
	if t.AssigneeID != 0 && t.AssigneeID != n.By {
		if err := s.enqueueNotice(ctx, tx, t.ID, t.AssigneeID, NoticeAssigned); err != nil {
			return Task{}, false, err
		}
	}
	return t, true, nil
}

// canWorkAt is true for a staff row s holding a role in the municipality
// or at the service point sp.id (the SQL twin of auth.Principal.CanWork);
// a query names its service point in a CTE sp.
const canWorkAt = `EXISTS (SELECT 1 FROM staff_roles r WHERE r.staff_id = s.id
	AND (r.service_point_id IS NULL OR r.service_point_id = (SELECT id FROM sp) OR r.role = 'admin'))`

func (n New) check() error {
	switch {
	case !n.Kind.Valid():
		return ErrInvalid
	case n.Priority != "" && !n.Priority.Valid():
		return ErrInvalid
	case n.ServicePointID == 0 && n.ClientID == 0:
		return ErrInvalid
	case n.Kind == KindManual && strings.TrimSpace(n.Title) == "":
		return ErrNoTitle
	case utf8.RuneCountInString(n.Title) > MaxTitle, utf8.RuneCountInString(n.Details) > MaxDetails, len(n.SourceKey) > 200:
		return ErrTooLong
	}
	return nil
}

// taskCols reads a task aliased t; taskJoins names its service point, client and assignee.
const taskCols = `t.id, t.service_point_id, t.kind, t.title, t.details, t.facts, coalesce(t.client_id, 0),
	coalesce(nullif(trim(c.first_names || ' ' || c.last_name), ''), ''), coalesce(t.ticket_id, 0),
	coalesce(t.assignee_id, 0), coalesce(a.name, ''), t.priority, t.status, t.due_at, t.created_at, t.updated_at, t.closed_at, sp.slug, sp.time_zone, t.version`

const taskJoins = ` JOIN service_points sp ON sp.id = t.service_point_id
	LEFT JOIN clients c ON c.id = t.client_id LEFT JOIN staff a ON a.id = t.assignee_id `

func scanTask(row sqldb.Row) (Task, error) {
	var t Task
	var due *time.Time
	err := row.Scan(&t.ID, &t.ServicePointID, &t.Kind, &t.Title, &t.Details, &t.Facts, &t.ClientID, &t.ClientName,
		&t.TicketID, &t.AssigneeID, &t.Assignee, &t.Priority, &t.Status, &due, &t.CreatedAt, &t.UpdatedAt, &t.ClosedAt, &t.PointSlug, &t.TimeZone, &t.Version)
	if due != nil {
		t.DueAt = *due
	}
	return t, err
}

func addEvent(ctx context.Context, tx sqldb.Tx, taskID, by int64, action string, to int64, comment string) error {
	_, err := tx.Exec(ctx, `INSERT INTO task_events (municipality_id, task_id, staff_id, action, to_staff_id, comment)
		VALUES (koto_tenant(), $1, nullif($2, 0), $3, nullif($4, 0), $5)`, taskID, by, action, to, comment)
	return err
}

// announce publishes a task's change on the channels of its service point,
// its assignee and, when the assignment changed, its former assignee. The
// channels are taken in one order so that concurrent changes lock their
// counters in that order too.
func (s *Service) announce(ctx context.Context, tx sqldb.Tx, typ string, t Task, formerAssignee int64) error {
	chans := []string{PointChannel(t.ServicePointID)}
	for _, id := range []int64{t.AssigneeID, formerAssignee} {
		if id != 0 && !slices.Contains(chans, StaffChannel(id)) {
			chans = append(chans, StaffChannel(id))
		}
	}
	slices.Sort(chans)
	n := Notice{ID: t.ID, ServicePointID: t.ServicePointID, AssigneeID: t.AssigneeID, Status: t.Status, Kind: t.Kind}
	for _, ch := range chans {
		if _, err := live.Publish(ctx, tx, ch, typ, n); err != nil {
			return err
		}
	}
	return nil
}
