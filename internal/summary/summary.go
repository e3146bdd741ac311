// Package summary owns the one-page summary of a client's situation (the
// national system's planned "kooste"): the client's basic information,
// responsible expert and clientship, and a section from each feature that
// knows something about them (open tasks, appointments, contacts,
// outreach), read in one transaction and written to the access log.
package summary

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/outreach"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// Client is the basic information the summary opens with.
type Client struct {
	ID                  int64
	ServicePointID      int64
	PointSlug           string
	TimeZone            string
	FirstNames          string
	LastName            string
	NativeName          string
	BirthDate           *time.Time
	Language            string
	InterpreterLanguage string
	Phone               string
	Email               string
	ResponsibleID       int64
	Responsible         string // the responsible expert's name, "" when none
	Status              string // active, ended
	Note                string
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// ClientshipEvent is one start, end or continuation of the clientship.
type ClientshipEvent struct {
	Kind   string // started, ended, continued
	OnDate time.Time
	Reason string
}

// Section is one part of the summary below the basic information, read
// inside the summary's transaction (the tenant set, the reader checked).
// Data is what Read returned; the page shows it with the template block
// named "summary-" + Name.
type Section struct {
	Name string
	Data any
}

// Part reads one section. A feature that knows something about clients
// adds its Part to the list the portal wires up (Parts), and a template
// block of the same name; a Part reads only its own tables.
type Part struct {
	Name string
	Read func(ctx context.Context, tx sqldb.Tx, c Client, now time.Time) (any, error)
}

// Parts are the sections every summary shows, in page order.
func Parts() []Part {
	return []Part{
		{Name: "clientship", Read: readClientship},
		{Name: "appointments", Read: func(ctx context.Context, tx sqldb.Tx, c Client, now time.Time) (any, error) {
			return appointments.Upcoming(ctx, tx, c.ID, now)
		}},
		{Name: "tasks", Read: func(ctx context.Context, tx sqldb.Tx, c Client, _ time.Time) (any, error) {
			return tasks.OpenForClient(ctx, tx, c.ID)
		}},
		{Name: "contacts", Read: func(ctx context.Context, tx sqldb.Tx, c Client, _ time.Time) (any, error) {
			return clients.LatestContacts(ctx, tx, c.ID, latestContacts)
		}},
		{Name: "outreach", Read: func(ctx context.Context, tx sqldb.Tx, c Client, _ time.Time) (any, error) {
			return outreach.History(ctx, tx, c.ID)
		}},
	}
}

// latestContacts is how many lines of the contact log the summary shows.
const latestContacts = 10

// Summary is the whole page.
type Summary struct {
	Client   Client
	Sections []Section
	Now      time.Time
}

// Service reads summaries.
type Service struct {
	db    sqldb.DB
	parts []Part
	now   func() time.Time
}

// New returns a Service that reads parts after the basic information.
func New(db sqldb.DB, parts []Part, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, parts: parts, now: now}
}

// Of reads the summary of a client for a staff member who works at the
// client's service point, and records the read in the access log. An
// erased client, or one of another municipality, is sqldb.ErrNotFound.
func (s *Service) Of(ctx context.Context, actor auth.Principal, clientID int64) (Summary, error) {
	var out Summary
	err := s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		c, err := readClient(ctx, tx, clientID)
		if err != nil {
			return sqldb.NotFound(err)
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(c.ServicePointID)); err != nil {
			return err
		}
		out = Summary{Client: c, Now: s.now()}
		for _, p := range s.parts {
			data, err := p.Read(ctx, tx, c, out.Now)
			if err != nil {
				return err
			}
			out.Sections = append(out.Sections, Section{Name: p.Name, Data: data})
		}
		return audit.Write(ctx, tx, audit.Entry{Tenant: actor.Tenant, StaffID: actor.StaffID, SubjectKind: "client",
			SubjectID: clientID, Action: audit.ActionRead, Purpose: "summary", Result: audit.ResultOK})
	})
	return out, err
}

func readClient(ctx context.Context, tx sqldb.Tx, id int64) (Client, error) {
	var c Client
	err := tx.QueryRow(ctx, `
		SELECT c.id, c.service_point_id, sp.slug, sp.time_zone, c.first_names, c.last_name, c.native_name, c.birth_date,
		       c.language, c.interpreter_language, c.phone, c.email, coalesce(c.responsible_staff_id, 0), coalesce(s.name, ''),
		       c.status, c.note, c.created_at, c.updated_at
		FROM clients c JOIN service_points sp ON sp.id = c.service_point_id
		LEFT JOIN staff s ON s.id = c.responsible_staff_id
		WHERE c.id = $1 AND c.erased_at IS NULL`, id).
		Scan(&c.ID, &c.ServicePointID, &c.PointSlug, &c.TimeZone, &c.FirstNames, &c.LastName, &c.NativeName, &c.BirthDate,
			&c.Language, &c.InterpreterLanguage, &c.Phone, &c.Email, &c.ResponsibleID, &c.Responsible,
			&c.Status, &c.Note, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

func readClientship(ctx context.Context, tx sqldb.Tx, c Client, _ time.Time) (any, error) {
	rows, err := tx.Query(ctx, `SELECT kind, on_date, reason FROM clientship_events WHERE client_id = $1 ORDER BY on_date, at, id`, c.ID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (ClientshipEvent, error) {
		var e ClientshipEvent
		return e, r.Scan(&e.Kind, &e.OnDate, &e.Reason)
	})
}
