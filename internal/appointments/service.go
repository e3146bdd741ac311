package appointments

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Purpose is the access-log purpose of every appointment read or change.
const Purpose = "appointment"

// Service runs appointments on the database. Each method opens its own
// tenant transaction, checks the actor once through auth.Authorize, writes
// the access log for the clients it shows or changes, and returns what the
// screens show.
type Service struct {
	db  sqldb.DB
	now func() time.Time
}

// New returns a Service; now is the clock (nil: time.Now).
func New(db sqldb.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

func (s *Service) clock() time.Time { return s.now().Truncate(time.Microsecond) }

// cols reads an appointment aliased a with its client c, expert st, service
// point sp, desk d and topic t.
const cols = `a.id, coalesce(a.client_id, 0), a.service_point_id, a.staff_id, a.channel, a.desk_id, a.topic_id,
	a.starts_at, a.duration_minutes, a.interpreter_language, a.status, coalesce(a.code, ''), a.ticket_id,
	a.checked_in_at, a.created_at, a.version,
	coalesce(c.first_names || ' ' || c.last_name, ''), coalesce(c.native_name, ''), coalesce(c.language, ''),
	st.name, sp.slug, sp.names, sp.time_zone, coalesce(d.name, ''), coalesce(t.labels, '{}')`

const from = ` FROM appointments a
	LEFT JOIN clients c ON c.id = a.client_id AND c.erased_at IS NULL
	JOIN staff st ON st.id = a.staff_id
	JOIN service_points sp ON sp.id = a.service_point_id
	LEFT JOIN desks d ON d.id = a.desk_id
	LEFT JOIN topics t ON t.id = a.topic_id `

func scan(r sqldb.Row) (Appointment, error) {
	var a Appointment
	err := r.Scan(&a.ID, &a.ClientID, &a.ServicePointID, &a.StaffID, &a.Channel, &a.DeskID, &a.TopicID,
		&a.StartsAt, &a.Minutes, &a.InterpreterLanguage, &a.Status, &a.Code, &a.TicketID,
		&a.CheckedInAt, &a.CreatedAt, &a.Version,
		&a.ClientName, &a.NativeName, &a.ClientLanguage,
		&a.StaffName, &a.ServicePoint, &a.PointNames, &a.TimeZone, &a.DeskName, &a.TopicLabels)
	return a, err
}

func list(ctx context.Context, tx sqldb.Tx, where string, args ...any) ([]Appointment, error) {
	rows, err := tx.Query(ctx, `SELECT `+cols+from+where, args...)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, scan)
}

// logClients writes one access-log row per distinct client shown or
// changed, in the caller's transaction.
func logClients(ctx context.Context, tx sqldb.Tx, actor auth.Principal, action string, as []Appointment) error {
	var seen []int64
	for _, a := range as {
		if a.ClientID == 0 || slices.Contains(seen, a.ClientID) {
			continue
		}
		seen = append(seen, a.ClientID)
		if err := audit.Write(ctx, tx, actor.Audit("client", a.ClientID, action, Purpose, audit.ResultOK)); err != nil {
			return err
		}
	}
	return nil
}

// refusal is ErrForbidden with the access-log row that records it, written
// by audit.InTenant after the refused transaction rolls back.
func refusal(actor auth.Principal, clientID int64, action string) error {
	return &audit.Refusal{Err: ErrForbidden, Entry: actor.Audit("client", clientID, action, Purpose, audit.ResultDenied)}
}

// mayWork tells whether the actor works at a service point: the check
// every appointment's read and change make, with the refusal logged
// against the client when it fails.
func mayWork(ctx context.Context, tx sqldb.Tx, actor auth.Principal, spID, clientID int64, action string) error {
	err := auth.Authorize(ctx, tx, actor, actor.CanWork(spID))
	if errors.Is(err, auth.ErrForbidden) {
		return refusal(actor, clientID, action)
	}
	return err
}

// one runs fn on one appointment of the actor's municipality, read (and
// locked when lock is set) once the actor is known to work at its service
// point; the access log gets action for its client.
func (s *Service) one(ctx context.Context, actor auth.Principal, id int64, action string, lock bool,
	fn func(tx sqldb.Tx, a *Appointment) error) (Appointment, error) {
	var a Appointment
	err := org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		forUpdate := ""
		if lock {
			forUpdate = " FOR UPDATE OF a"
		}
		var err error
		if a, err = scan(tx.QueryRow(ctx, `SELECT `+cols+from+` WHERE a.id = $1`+forUpdate, id)); err != nil {
			return sqldb.NotFound(err)
		}
		if err := mayWork(ctx, tx, actor, a.ServicePointID, a.ClientID, action); err != nil {
			return err
		}
		if fn != nil {
			if err := fn(tx, &a); err != nil {
				return err
			}
		}
		return logClients(ctx, tx, actor, action, []Appointment{a})
	})
	if err != nil {
		return Appointment{}, err
	}
	return a, nil
}

// Get reads one appointment for its page.
func (s *Service) Get(ctx context.Context, actor auth.Principal, id int64) (Appointment, error) {
	return s.one(ctx, actor, id, audit.ActionRead, false, nil)
}

// Letter is an appointment as its printed letter shows it.
type Letter struct {
	Appointment
	// CheckInFrom is when the kiosk starts taking its code.
	CheckInFrom time.Time
}

// Letter reads one appointment for its printed letter: an export of the
// client's data, logged as one.
func (s *Service) Letter(ctx context.Context, actor auth.Principal, id int64) (Letter, error) {
	var from time.Time
	a, err := s.one(ctx, actor, id, audit.ActionExport, false, func(tx sqldb.Tx, a *Appointment) error {
		st, err := ReadSettings(ctx, tx, a.ServicePointID)
		from, _ = st.Window(a.StartsAt)
		return err
	})
	if err != nil {
		return Letter{}, err
	}
	return Letter{Appointment: a, CheckInFrom: from}, nil
}

// SetStatus records what happened to an appointment: confirmed by the
// client, cancelled by either side, attended, or a no-show. An appointment
// that closes gives up its check-in code. ifVersion, when not 0, refuses
// (sqldb.ErrStale) an appointment changed since the caller read that
// version.
func (s *Service) SetStatus(ctx context.Context, actor auth.Principal, id int64, to Status, ifVersion int) (Appointment, error) {
	return s.one(ctx, actor, id, audit.ActionUpdate, true, func(tx sqldb.Tx, a *Appointment) error {
		if ifVersion != 0 && ifVersion != a.Version {
			return sqldb.ErrStale
		}
		if !a.Status.Allows(to) {
			return ErrWrongState
		}
		if err := record(ctx, tx, a, to, s.clock(), &actor.StaffID); err != nil {
			return err
		}
		a.Version++ // the row's trigger did the same
		return nil
	})
}

// record moves an appointment to status to in the caller's transaction;
// one that closes gives up its check-in code. by is the staff member who
// records it, nil for the client themselves.
func record(ctx context.Context, tx sqldb.Tx, a *Appointment, to Status, at time.Time, by *int64) error {
	a.Status = to
	if !to.Open() {
		a.Code = ""
	}
	// An API key changes as nobody on the staff (by points to 0).
	_, err := tx.Exec(ctx, `UPDATE appointments SET status = $2, code = nullif($3, ''), updated_at = $4, updated_by = nullif($5::bigint, 0)
		WHERE id = $1`, a.ID, a.Status, a.Code, at, by)
	return err
}

// accessibleClient reads a client the actor may work with, by the client
// register's own rule (clients.Accessible); a refusal is logged against
// the client for action.
func accessibleClient(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64, action string) (clients.Client, error) {
	c, err := clients.Accessible(ctx, tx, actor, id)
	if errors.Is(err, auth.ErrForbidden) {
		return c, refusal(actor, id, action)
	}
	return c, err
}
