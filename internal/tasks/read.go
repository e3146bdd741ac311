package tasks

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Due narrows a list by due time.
type Due string

// The due filters.
const (
	DueAny     Due = ""
	DueOverdue Due = "overdue" // past its due time
	DueSoon    Due = "soon"    // due within soonWindow
	DueNone    Due = "none"    // no due time
)

// soonWindow is what "due soon" means.
const soonWindow = 24 * time.Hour

// Valid tells a known due filter.
func (d Due) Valid() bool { return d == DueAny || d == DueOverdue || d == DueSoon || d == DueNone }

// Filter narrows a list of tasks; the zero value lists every unfinished one.
type Filter struct {
	Kind Kind // "": any
	// Status "": open and in progress.
	Status Status
	Due    Due
}

// Valid tells a filter whose every part is known.
func (f Filter) Valid() bool {
	return (f.Kind == "" || f.Kind.Valid()) && (f.Status == "" || f.Status == Open || f.Status == InProgress ||
		f.Status.Closed()) && f.Due.Valid()
}

// ListLimit is the most tasks a list shows; a queue longer than that is
// worked from the top, and the filters narrow it.
const ListLimit = 200

// List is the tasks a screen shows, with the seq of the live channel the
// screen follows as of the moment it was read.
type List struct {
	Tasks []Task
	// More tells that the filter matched more than ListLimit tasks.
	More bool
	Seq  int64
	// Now is the moment the list was read: what "overdue" is measured by.
	Now time.Time
}

// Mine lists the actor's own tasks.
func (s *Service) Mine(ctx context.Context, actor auth.Principal, f Filter) (List, error) {
	var l List
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, true); err != nil {
			return err
		}
		var err error
		l, err = s.list(ctx, tx, StaffChannel(actor.StaffID), `t.assignee_id = $1`, actor.StaffID, f)
		return err
	})
	return l, err
}

// Pool lists the unassigned tasks of a service point (its address, slug).
func (s *Service) Pool(ctx context.Context, actor auth.Principal, slug string, f Filter) (List, error) {
	var l List
	err := s.atPoint(ctx, actor, slug, actor.CanWork, func(tx sqldb.Tx, spID int64) error {
		var err error
		l, err = s.list(ctx, tx, PointChannel(spID), `t.service_point_id = $1 AND t.assignee_id IS NULL`, spID, f)
		return err
	})
	return l, err
}

// AtPoint lists a service point's tasks whoever has them, by its id: the
// API's list. The list leaves the portal, so each client it concerns gets
// an access-log row (a task's details may hold what the client said).
func (s *Service) AtPoint(ctx context.Context, actor auth.Principal, spID int64, f Filter) (List, error) {
	var l List
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(spID)); err != nil {
			return err
		}
		var err error
		if l, err = s.list(ctx, tx, PointChannel(spID), `t.service_point_id = $1`, spID, f); err != nil {
			return err
		}
		logged := map[int64]bool{0: true}
		for _, t := range l.Tasks {
			if logged[t.ClientID] {
				continue
			}
			logged[t.ClientID] = true
			if err := audit.Write(ctx, tx, actor.Audit("client", t.ClientID, audit.ActionRead, "task", audit.ResultOK)); err != nil {
				return err
			}
		}
		return nil
	})
	return l, err
}

// atPoint runs fn on a service point of the actor's municipality after
// the one check that may(its id) allows the actor there.
func (s *Service) atPoint(ctx context.Context, actor auth.Principal, slug string, may func(int64) bool,
	fn func(tx sqldb.Tx, spID int64) error) error {
	return s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM service_points WHERE slug = $1`, slug).Scan(&id); err != nil {
			return sqldb.NotFound(err)
		}
		if err := auth.Authorize(ctx, tx, actor, may(id)); err != nil {
			return err
		}
		return fn(tx, id)
	})
}

// list reads the tasks scope ($1 = arg) selects, filtered, soonest due
// first. The unfinished statuses are named in the SQL itself, so that
// PostgreSQL can use the partial indexes over them.
func (s *Service) list(ctx context.Context, tx sqldb.Tx, channel, scope string, arg int64, f Filter) (List, error) {
	l := List{Now: s.clock()}
	var err error
	// Read before the state: a change committed in between is at worst
	// delivered again on top of the list.
	if l.Seq, err = live.CurrentSeq(ctx, tx, channel); err != nil {
		return l, err
	}
	args := []any{arg}
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{scope}
	if f.Status == "" {
		where = append(where, `t.status IN ('open','in_progress')`)
	} else {
		where = append(where, `t.status = `+param(string(f.Status)))
	}
	if f.Kind != "" {
		where = append(where, `t.kind = `+param(string(f.Kind)))
	}
	switch f.Due {
	case DueOverdue:
		where = append(where, `t.due_at < `+param(l.Now))
	case DueSoon:
		where = append(where, `t.due_at >= `+param(l.Now)+` AND t.due_at < `+param(l.Now.Add(soonWindow)))
	case DueNone:
		where = append(where, `t.due_at IS NULL`)
	}
	order := `t.due_at NULLS LAST, t.id`
	if f.Status.Closed() {
		order = `t.closed_at DESC, t.id DESC`
	}
	rows, err := tx.Query(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+`
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT `+strconv.Itoa(ListLimit+1), args...)
	if err != nil {
		return l, err
	}
	if l.Tasks, err = sqldb.CollectRows(rows, scanTask); err != nil {
		return l, err
	}
	if len(l.Tasks) > ListLimit {
		l.Tasks, l.More = l.Tasks[:ListLimit], true
	}
	return l, nil
}

// Workload is one staff member's share of a service point's tasks.
type Workload struct {
	StaffID    int64
	Name       string // "" for the pool
	Open       int
	InProgress int
	Overdue    int
}

// Load is a service point's tasks by who has them, for its lead.
type Load struct {
	ServicePointID int64
	Pool           Workload
	Staff          []Workload
	Seq            int64
	Now            time.Time
}

// Load counts a service point's unfinished tasks per staff member who
// works there, and its pool's. For the service point's leads.
func (s *Service) Load(ctx context.Context, actor auth.Principal, slug string) (Load, error) {
	var ld Load
	err := s.atPoint(ctx, actor, slug, actor.CanManage, func(tx sqldb.Tx, spID int64) error {
		ld = Load{ServicePointID: spID, Now: s.clock()}
		var err error
		if ld.Seq, err = live.CurrentSeq(ctx, tx, PointChannel(spID)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			WITH counts AS (
				SELECT assignee_id,
				       count(*) FILTER (WHERE status = 'open') AS open,
				       count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
				       count(*) FILTER (WHERE due_at < $2) AS overdue
				FROM tasks WHERE service_point_id = $1 AND status IN ('open','in_progress')
				GROUP BY assignee_id),
			sp AS (SELECT $1::bigint AS id),
			people AS (
				SELECT s.id, s.name FROM staff s WHERE s.active AND `+canWorkAt+`
				UNION SELECT s.id, s.name FROM staff s JOIN counts c ON c.assignee_id = s.id)
			SELECT 0, '', coalesce(c.open, 0), coalesce(c.in_progress, 0), coalesce(c.overdue, 0)
			FROM (SELECT 1) one LEFT JOIN counts c ON c.assignee_id IS NULL
			UNION ALL
			(SELECT p.id, p.name, coalesce(c.open, 0), coalesce(c.in_progress, 0), coalesce(c.overdue, 0)
			 FROM people p LEFT JOIN counts c ON c.assignee_id = p.id
			 ORDER BY 3 + 4 DESC, p.name, p.id)`, spID, ld.Now)
		if err != nil {
			return err
		}
		all, err := sqldb.CollectRows(rows, func(r sqldb.Row) (Workload, error) {
			var w Workload
			return w, r.Scan(&w.StaffID, &w.Name, &w.Open, &w.InProgress, &w.Overdue)
		})
		if err != nil {
			return err
		}
		ld.Pool, ld.Staff = all[0], all[1:]
		return nil
	})
	return ld, err
}

// Detail is one task with its history and the people it may be given to.
type Detail struct {
	Task
	History []Event
	// Staff are who may be given the task: those who work at its
	// service point.
	Staff []Workload
	Seq   int64
	Now   time.Time
}

// Get reads one task for a staff member who works at its service point.
// A task about a client is a read of the client's data: the access log
// records it.
func (s *Service) Get(ctx context.Context, actor auth.Principal, id int64) (Detail, error) {
	var d Detail
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		var err error
		d.Task, err = scanTask(tx.QueryRow(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+` WHERE t.id = $1`, id))
		if err != nil {
			return notFound(err)
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(d.ServicePointID)); err != nil {
			return err
		}
		d.Now = s.clock()
		if d.Seq, err = live.CurrentSeq(ctx, tx, PointChannel(d.ServicePointID)); err != nil {
			return err
		}
		if d.History, err = history(ctx, tx, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `WITH sp AS (SELECT $1::bigint AS id)
			SELECT s.id, s.name FROM staff s WHERE s.active AND `+canWorkAt+`
			ORDER BY s.name, s.id`, d.ServicePointID)
		if err != nil {
			return err
		}
		if d.Staff, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Workload, error) {
			var w Workload
			return w, r.Scan(&w.StaffID, &w.Name)
		}); err != nil {
			return err
		}
		if d.ClientID != 0 {
			return audit.Write(ctx, tx, actor.Audit("client", d.ClientID, audit.ActionRead, "task", audit.ResultOK))
		}
		return nil
	})
	return d, err
}

func history(ctx context.Context, tx sqldb.Tx, taskID int64) ([]Event, error) {
	rows, err := tx.Query(ctx, `
		SELECT e.at, coalesce(e.staff_id, 0), coalesce(s.name, ''), e.action, coalesce(e.to_staff_id, 0), coalesce(ts.name, ''), e.comment
		FROM task_events e LEFT JOIN staff s ON s.id = e.staff_id LEFT JOIN staff ts ON ts.id = e.to_staff_id
		WHERE e.task_id = $1 ORDER BY e.id`, taskID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Event, error) {
		var e Event
		return e, r.Scan(&e.At, &e.StaffID, &e.Staff, &e.Action, &e.ToStaffID, &e.ToStaff, &e.Comment)
	})
}

// Badge is what every staff page's navigation shows: the number of the
// actor's unfinished tasks, and the seqs of the live channels the page
// follows (the actor's own, and a service point's where the page shows
// one) as of the moment it was counted.
type Badge struct {
	Count int              `json:"count"`
	Seqs  map[string]int64 `json:"seqs"`
}

// Badge counts the actor's unfinished tasks; slug, when not empty, names
// a service point whose channel the page follows too (the actor must work
// there).
func (s *Service) Badge(ctx context.Context, actor auth.Principal, slug string) (Badge, error) {
	b := Badge{Seqs: map[string]int64{}}
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		channels, err := watched(ctx, tx, actor, slug)
		if err != nil {
			return err
		}
		for _, ch := range channels {
			seq, err := live.CurrentSeq(ctx, tx, ch)
			if err != nil {
				return err
			}
			b.Seqs[ch] = seq
		}
		b.Count, err = countMine(ctx, tx, actor)
		return err
	})
	return b, err
}

// Count is the number of the actor's unfinished tasks alone, which every
// staff page's navigation shows as it is drawn: the live navigation asks
// for the seqs (Badge) itself.
func (s *Service) Count(ctx context.Context, actor auth.Principal) (int, error) {
	var n int
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, true); err != nil {
			return err
		}
		var err error
		n, err = countMine(ctx, tx, actor)
		return err
	})
	return n, err
}

func countMine(ctx context.Context, tx sqldb.Tx, actor auth.Principal) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE assignee_id = $1 AND status IN ('open','in_progress')`,
		actor.StaffID).Scan(&n)
	return n, err
}

// Watch names the live channels a staff member's socket follows: their own
// tasks, and a service point's (slug, where they work) when not empty.
func (s *Service) Watch(ctx context.Context, actor auth.Principal, slug string) ([]string, error) {
	var out []string
	err := s.asActor(ctx, actor, func(tx sqldb.Tx) error {
		var err error
		out, err = watched(ctx, tx, actor, slug)
		return err
	})
	slices.Sort(out)
	return out, err
}

// watched names the channels of the actor's own tasks and, when slug is not
// empty, of that service point, after the one check that the actor works
// there.
func watched(ctx context.Context, tx sqldb.Tx, actor auth.Principal, slug string) ([]string, error) {
	channels := []string{StaffChannel(actor.StaffID)}
	if slug == "" {
		return channels, auth.Authorize(ctx, tx, actor, true)
	}
	var id int64
	if err := tx.QueryRow(ctx, `SELECT id FROM service_points WHERE slug = $1`, slug).Scan(&id); err != nil {
		return nil, sqldb.NotFound(err)
	}
	if err := auth.Authorize(ctx, tx, actor, actor.CanWork(id)); err != nil {
		return nil, err
	}
	return append(channels, PointChannel(id)), nil
}

// OpenForClient lists a client's unfinished tasks inside the caller's
// transaction (the client's summary, which has checked the reader's right
// and logged the read).
func OpenForClient(ctx context.Context, tx sqldb.Tx, clientID int64) ([]Task, error) {
	rows, err := tx.Query(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+`
		WHERE t.client_id = $1 AND t.status IN ('open','in_progress') ORDER BY t.due_at NULLS LAST, t.id LIMIT $2`,
		clientID, ListLimit)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, scanTask)
}
