package outreach

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// Purpose is the access-log purpose of outreach's reads and changes.
const Purpose = "outreach"

// secretBytes is the size of enrolment links and device credentials: 256
// random bits, twice the 128 the design asks for.
const secretBytes = 32

// Service runs outreach on the database. Staff calls open their own tenant
// transaction and check the actor once; the phone's calls find their tenant
// through the secret they carry.
type Service struct {
	db    sqldb.DB
	tasks *tasks.Service
	jobs  *jobs.Service // nil until Register: reminders are then only recorded
	now   func() time.Time
	// campaignRate is how many campaign messages a second (0: CampaignRate).
	campaignRate int
	// events tells other systems of the client's answers.
	events events.Hook
}

// SetCampaignRate sets how many campaign messages the deployment sends a
// second (PORTAL_CAMPAIGN_RATE); 0 keeps CampaignRate. Call it while wiring.
func (s *Service) SetCampaignRate(perSecond int) { s.campaignRate = perSecond }

// UseEvents sends answer events to sink, in the answer's transaction; call
// it while wiring.
func (s *Service) UseEvents(sink events.Sink) { s.events.Use(sink) }

// New returns a Service; now is the clock (nil: time.Now).
func New(db sqldb.DB, tq *tasks.Service, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, tasks: tq, now: now}
}

func (s *Service) clock() time.Time { return s.now().Truncate(time.Microsecond) }

// newSecret returns a random secret and the hash stored in its place.
func newSecret() (string, []byte) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness failing is not recoverable
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, auth.Hash(token)
}

// parseSecret hashes a secret from a URL, or says it cannot be one.
func parseSecret(token string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != secretBytes {
		return nil, ErrNotFound
	}
	return auth.Hash(token), nil
}

// client is what outreach reads of a client.
type client struct {
	id             int64
	firstNames     string
	name           string
	language       string
	servicePointID int64
	timeZone       string
	erased         bool
}

func readClient(ctx context.Context, tx sqldb.Tx, id int64) (client, error) {
	c := client{id: id}
	err := tx.QueryRow(ctx, `SELECT c.first_names, c.first_names || ' ' || c.last_name, c.language, c.service_point_id,
		sp.time_zone, c.erased_at IS NOT NULL FROM clients c JOIN service_points sp ON sp.id = c.service_point_id WHERE c.id = $1`, id).
		Scan(&c.firstNames, &c.name, &c.language, &c.servicePointID, &c.timeZone, &c.erased)
	return c, sqldb.NotFound(err)
}

// asStaff runs fn on a client of the actor's municipality once the actor is
// known to work at the client's service point; the access log gets action,
// and a refusal is logged too.
func (s *Service) asStaff(ctx context.Context, actor auth.Principal, clientID int64, action string,
	fn func(tx sqldb.Tx, c client) error) error {
	return org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		c, err := readClient(ctx, tx, clientID)
		if err != nil {
			return err
		}
		entry := audit.Entry{Tenant: actor.Tenant, StaffID: actor.StaffID, SubjectKind: "client", SubjectID: clientID,
			Action: action, Purpose: Purpose, Result: audit.ResultOK}
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(c.servicePointID)); err != nil {
			if errors.Is(err, auth.ErrForbidden) {
				entry.Result = audit.ResultDenied
				return &audit.Refusal{Err: ErrForbidden, Entry: entry}
			}
			return err
		}
		if c.erased {
			return ErrClientErased
		}
		if err := fn(tx, c); err != nil {
			return err
		}
		return audit.Write(ctx, tx, entry)
	})
}
