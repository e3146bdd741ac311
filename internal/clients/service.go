package clients

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Service is the client register on the database. Each method opens its
// own tenant transaction, checks the actor once, writes the access log in
// that transaction, and returns what the screens show.
type Service struct {
	db     sqldb.DB
	now    func() time.Time
	parts  []Part
	events events.Hook
}

// New returns a Service; now is the clock (nil: time.Now).
func New(db sqldb.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// Part is another package's data about clients. Export returns what the
// package keeps about one client, for the data subject's export; Erase
// removes its personal data about them. Both run inside the register's own
// transaction (the tenant is set, the actor has been checked), so an
// erasure is whole or nothing. Page, when set, returns what the client's
// page shows of the part (Record.Parts[Name]), read in Get's transaction
// so the page stays one call.
type Part struct {
	Name   string // the key of the part in the export
	Export func(ctx context.Context, tx sqldb.Tx, clientID int64) (any, error)
	Erase  func(ctx context.Context, tx sqldb.Tx, clientID int64) error
	Page   func(ctx context.Context, tx sqldb.Tx, clientID int64) (any, error)
}

// UseEvents sends the register's events (a client created or changed) to
// sink, in the transaction of the change; call it while wiring.
func (s *Service) UseEvents(sink events.Sink) { s.events.Use(sink) }

// emit records that something happened to a client.
func (s *Service) emit(ctx context.Context, tx sqldb.Tx, event string, id int64) error {
	return s.events.Emit(ctx, tx, event, events.Data{"client_id": id})
}

// AddPart registers a part; call it while wiring, before serving.
func (s *Service) AddPart(p Part) { s.parts = append(s.parts, p) }

// inTenant runs fn in the actor's tenant transaction; a refusal's
// access-log row is written after the rollback.
func (s *Service) inTenant(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	if actor.Tenant == 0 || actor.StaffID == 0 && !actor.IsAPIKey() {
		return ErrForbidden
	}
	return audit.InTenant(ctx, s.db, actor.Tenant, fn)
}

// logAccess writes the access-log row of an allowed access to a client
// (id 0: a search or list, which names no one client).
func logAccess(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64, action, purpose string) error {
	return audit.Write(ctx, tx, actor.Audit(SubjectClient, id, action, purpose, audit.ResultOK))
}

// refuse is the refusal of action on client id, logged as denied.
func refuse(actor auth.Principal, id int64, action, purpose string) error {
	return &audit.Refusal{Err: ErrForbidden, Entry: actor.Audit(SubjectClient, id, action, purpose, audit.ResultDenied)}
}

// authorize is auth.Authorize whose refusal is logged against the client.
func authorize(ctx context.Context, tx sqldb.Tx, actor auth.Principal, allowed bool, id int64, action, purpose string) error {
	if err := auth.Authorize(ctx, tx, actor, allowed); err != nil {
		if err == ErrForbidden {
			return refuse(actor, id, action, purpose)
		}
		return err
	}
	return nil
}

// mayWork tells whether the actor works with clients of the service point.
func mayWork(actor auth.Principal, c Client) bool { return actor.CanWork(c.ServicePointID) }

// mayAdminister tells whether the actor may use the data subject's tools:
// the municipality's admins, who answer such requests.
func mayAdminister(actor auth.Principal, _ Client) bool { return actor.IsAdmin() }

// Accessible reads a client the actor may work with, inside the caller's
// tenant transaction, for packages that keep data about clients
// (appointments, tasks, outreach): the same rule as the register's own
// screens. Another municipality's client, or none, is sqldb.ErrNotFound;
// one of a service point the actor does not work at is ErrForbidden. It
// writes no access-log row: the caller logs what it does.
func Accessible(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64) (Client, error) {
	c, err := loadClient(ctx, tx, actor, id, false)
	if err != nil {
		return c, err
	}
	if err := auth.Authorize(ctx, tx, actor, mayWork(actor, c)); err != nil {
		return Client{}, err
	}
	return c, nil
}

// withClient runs fn on a client once the actor is allowed action on it:
// the rule may is checked once, a refusal is logged, and a change (lock)
// holds the row until the transaction ends and refuses an erased client.
func (s *Service) withClient(ctx context.Context, actor auth.Principal, id int64, action, purpose string, lock bool,
	may func(auth.Principal, Client) bool, fn func(tx sqldb.Tx, c Client) error) error {
	return s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		c, err := loadClient(ctx, tx, actor, id, lock)
		if err != nil {
			return err
		}
		if err := authorize(ctx, tx, actor, may(actor, c), id, action, purpose); err != nil {
			return err
		}
		if lock && c.Erased {
			return ErrErased
		}
		return fn(tx, c)
	})
}

// today is the date in Finland, where the register's municipalities are.
func (s *Service) today() time.Time {
	y, m, d := s.now().In(helsinki).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

var helsinki = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return time.UTC
	}
	return loc
}()
