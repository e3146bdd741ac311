package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/hours"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// Defaults of the Service's tunables.
const (
	DefaultFloodLimit  = 6
	DefaultFloodWindow = time.Minute
	DefaultRecentCalls = 8
)

// Service runs the walk-in queue on the database. It keeps no state of its
// own beyond caches (time zones, kiosks, the pace of waits), so any number
// of instances can share it.
type Service struct {
	db  sqldb.DB
	now func() time.Time

	// FloodLimit tickets per FloodWindow is the most one kiosk may take; set
	// these before use.
	FloodLimit  int
	FloodWindow time.Duration
	// RecentCalls is how many past calls a Snapshot carries for the display.
	RecentCalls int
	// CheckInFailLimit wrong check-in codes per CheckInFailWindow is the
	// most one kiosk may type; 0 switches the limit off.
	CheckInFailLimit  int
	CheckInFailWindow time.Duration

	zones sync.Map // time-zone name → *time.Location

	kiosks kioskCache // off until CacheKiosks
	paces  paceCache

	// jobs enqueues the queue's pushes; nil until Register.
	jobs *jobs.Service
	// tasks gives a checked-in appointment's expert their task; nil until
	// UseTasks.
	tasks *tasks.Service
	// events tells other systems of appointments checked in.
	events events.Hook

	// frameReads holds a place for each camera frame being decoded, at
	// most MaxFrameReads.
	frameReads chan struct{}
}

// UseTasks lets check-ins create their "appointment checked in" tasks in
// the task queue; call it before use.
func (s *Service) UseTasks(t *tasks.Service) { s.tasks = t }

// UseEvents sends check-in events to sink, in the check-in's transaction;
// call it while wiring.
func (s *Service) UseEvents(sink events.Sink) { s.events.Use(sink) }

// New returns a Service; now is the clock (time.Now in production, a fake
// one in tests that need a given day or hour).
func New(db sqldb.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now, FloodLimit: DefaultFloodLimit, FloodWindow: DefaultFloodWindow, RecentCalls: DefaultRecentCalls,
		CheckInFailLimit: DefaultCheckInFailLimit, CheckInFailWindow: DefaultCheckInFailWindow,
		frameReads: make(chan struct{}, MaxFrameReads)}
}

// clock truncates to microseconds, PostgreSQL's precision, so values read
// back compare equal to those written.
func (s *Service) clock() time.Time { return s.now().Truncate(time.Microsecond) }

func (s *Service) location(name string) (*time.Location, error) {
	if l, ok := s.zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("queue: time zone of service point: %w", err)
	}
	s.zones.Store(name, l)
	return l, nil
}

// servicePoint is what the rules need to know about a service point.
type servicePoint struct {
	id         int64
	tenant     int64
	slug       string
	names      org.Labels
	loc        *time.Location
	hours      hours.Week
	maxRecalls int
}

// serviceDay is the date of t in the service point's zone, as midnight UTC,
// the form in which pgx reads a date column back.
func (sp servicePoint) serviceDay(t time.Time) time.Time {
	y, m, d := t.In(sp.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dayEnd is the local midnight that ends the service day of t.
func (sp servicePoint) dayEnd(t time.Time) time.Time {
	y, m, d := t.In(sp.loc).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, sp.loc)
}

func (s *Service) loadServicePoint(ctx context.Context, tx sqldb.Tx, spID int64) (servicePoint, error) {
	sp := servicePoint{id: spID}
	var zone string
	var raw []byte
	err := tx.QueryRow(ctx, `
		SELECT municipality_id, time_zone, opening_hours, max_recalls
		FROM service_points WHERE id = $1`, spID).Scan(&sp.tenant, &zone, &raw, &sp.maxRecalls)
	if err != nil {
		return sp, sqldb.NotFound(err)
	}
	return s.readyServicePoint(sp, zone, raw)
}

// readyServicePoint completes a service point read from its row: the zone
// loaded, the opening hours parsed.
func (s *Service) readyServicePoint(sp servicePoint, zone string, rawHours []byte) (servicePoint, error) {
	var err error
	if sp.loc, err = s.location(zone); err != nil {
		return sp, err
	}
	if sp.hours, err = hours.Parse(rawHours); err != nil {
		return sp, fmt.Errorf("queue: service point %d: %w", sp.id, err)
	}
	return sp, nil
}

// Expert is who acts on the queue and where: the staff member, the service
// point in the address (its slug) and the desk they work at (0 until chosen;
// calling needs one).
type Expert struct {
	Actor auth.Principal
	Slug  string
	Desk  int64
}

// atWork runs fn in the expert's municipality at their service point,
// after the one check that they may work there. A service point the
// municipality does not have is ErrNotFound.
func (s *Service) atWork(ctx context.Context, e Expert, fn func(tx sqldb.Tx, sp servicePoint) error) error {
	return s.db.InTenant(ctx, e.Actor.Tenant, func(tx sqldb.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM service_points WHERE slug = $1`, e.Slug).Scan(&id); err != nil {
			return sqldb.NotFound(err)
		}
		if err := auth.Authorize(ctx, tx, e.Actor, e.Actor.CanWork(id)); err != nil {
			return err
		}
		sp, err := s.loadServicePoint(ctx, tx, id)
		if err != nil {
			return err
		}
		return fn(tx, sp)
	})
}

// atDesk is atWork for calling a visitor: the desk must be an active desk
// of the service point and the expert an active account.
func (s *Service) atDesk(ctx context.Context, e Expert, fn func(tx sqldb.Tx, sp servicePoint) error) error {
	return s.atWork(ctx, e, func(tx sqldb.Tx, sp servicePoint) error {
		if err := checkDeskStaff(ctx, tx, sp.id, e.Desk, e.Actor.StaffID); err != nil {
			return err
		}
		return fn(tx, sp)
	})
}

// ticketCols reads a ticket aliased t joined with its desk aliased d.
const ticketCols = `t.id, t.service_point_id, t.topic_id, t.original_topic_id, t.prefix, t.number, t.service_day,
	t.language, t.interpreter, t.state, t.desk_id, coalesce(d.name, ''), t.for_desk_id, t.staff_id, t.recalls,
	t.transfers, t.created_at, t.called_at, t.last_called_at, t.serving_at, t.finished_at, t.for_staff_id, t.booked_for`

const ticketFrom = ` FROM tickets t LEFT JOIN desks d ON d.id = t.desk_id `

// cteFrom reads the rows a data-changing CTE named t returned: the table
// itself would still show them as they were before the statement.
const cteFrom = ` FROM t LEFT JOIN desks d ON d.id = t.desk_id `

func scanTicket(row sqldb.Row) (Ticket, error) {
	var t Ticket
	err := row.Scan(&t.ID, &t.ServicePointID, &t.TopicID, &t.OriginalTopicID, &t.Prefix, &t.Number, &t.ServiceDay,
		&t.Language, &t.Interpreter, &t.State, &t.DeskID, &t.DeskName, &t.ForDeskID, &t.StaffID, &t.Recalls,
		&t.Transfers, &t.CreatedAt, &t.CalledAt, &t.LastCalledAt, &t.ServingAt, &t.FinishedAt, &t.ForStaffID, &t.BookedFor)
	return t, err
}

func collectTickets(rows sqldb.Rows) ([]Ticket, error) {
	defer rows.Close()
	var out []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// lockTicket reads a ticket of the service point for change. Its state is
// checked by the caller, not in the WHERE, so that a ticket another
// transaction has just moved on reads as ErrWrongState, not as missing.
func lockTicket(ctx context.Context, tx sqldb.Tx, spID, ticketID int64) (Ticket, error) {
	t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketCols+ticketFrom+`
		WHERE t.id = $1 AND t.service_point_id = $2 FOR UPDATE OF t`, ticketID, spID))
	if errors.Is(err, sqldb.ErrNoRows) {
		return t, ErrUnknownTicket
	}
	return t, err
}

// updateTicket applies set (an SQL SET list over $2…) to ticket $1 and
// returns the ticket as it now is.
func updateTicket(ctx context.Context, tx sqldb.Tx, ticketID int64, set string, args ...any) (Ticket, error) {
	t, err := scanTicket(tx.QueryRow(ctx, `WITH t AS (UPDATE tickets SET `+set+` WHERE id = $1 RETURNING *)
		SELECT `+ticketCols+cteFrom, append([]any{ticketID}, args...)...))
	return t, sqldb.NotFound(err)
}

// publish announces a change to the service point's screens and to the
// ticket's phone, always in that order so that concurrent transactions take
// the channel rows' locks in one order.
func publish(ctx context.Context, tx sqldb.Tx, typ string, t Ticket) error {
	sum := summarize(t)
	if _, err := live.Publish(ctx, tx, SPChannel(t.ServicePointID), typ, sum); err != nil {
		return err
	}
	_, err := live.Publish(ctx, tx, TicketChannel(t.ID), typ, sum)
	return err
}

// dropPush deletes a closed ticket's push subscription: it served only to
// tell this visitor about this ticket.
func dropPush(ctx context.Context, tx sqldb.Tx, ticketID int64) error {
	_, err := tx.Exec(ctx, `DELETE FROM ticket_push WHERE ticket_id = $1`, ticketID)
	return err
}

// checkDeskStaff confirms the desk is an active desk of the service point
// and the staff member an active account of the tenant.
func checkDeskStaff(ctx context.Context, tx sqldb.Tx, spID, deskID, staffID int64) error {
	var desk, staff bool
	err := tx.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM desks WHERE id = $1 AND service_point_id = $2 AND active),
		       EXISTS (SELECT 1 FROM staff WHERE id = $3 AND active)`, deskID, spID, staffID).Scan(&desk, &staff)
	switch {
	case err != nil:
		return err
	case !desk:
		return ErrUnknownDesk
	case !staff:
		return ErrUnknownStaff
	}
	return nil
}

var languageTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)

func validLanguage(l string) bool { return len(l) <= 35 && languageTag.MatchString(l) }

// maxSubscription bounds a stored push subscription; real ones are a few
// hundred bytes.
const maxSubscription = 4096

func validSubscription(b []byte) bool {
	if len(b) == 0 || len(b) > maxSubscription || !json.Valid(b) {
		return false
	}
	var obj map[string]json.RawMessage
	return json.Unmarshal(b, &obj) == nil
}
