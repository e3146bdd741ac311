package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// EventTest is sent by "send a test event", to that endpoint only; the
// events an endpoint chooses are those of package events.
const EventTest = "webhook.test"

// SubjectWebhook is the access log's subject kind for an endpoint.
const SubjectWebhook = "webhook"

// Errors of the webhook screens and calls.
var (
	ErrWebhookURL    = errors.New("api: a webhook needs an https address")
	ErrNoEvents      = errors.New("api: choose at least one event")
	ErrUnknownEvent  = errors.New("api: unknown event")
	ErrDescription   = errors.New("api: the description is longer than 200 characters")
	ErrVersionNeeded = errors.New("api: say which version you change (If-Match)")
)

// Endpoint is a registered webhook receiver; the secret is never shown
// again after creation.
type Endpoint struct {
	ID          int64
	URL         string
	Description string
	Events      []string
	Active      bool
	DisabledAt  *time.Time // switched off by the portal after failing for a day
	Version     int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// EndpointInput is what an admin or a key sets on an endpoint; nil fields
// of an update stay as they are.
type EndpointInput struct {
	URL         *string
	Description *string
	Events      []string
	Active      *bool
}

// check reports what is wrong, if anything; create needs URL and Events.
func (in EndpointInput) check(create bool) error {
	if in.URL != nil || create {
		if in.URL == nil || !validHookURL(*in.URL) {
			return ErrWebhookURL
		}
	}
	if in.Description != nil && len([]rune(*in.Description)) > 200 {
		return ErrDescription
	}
	if in.Events != nil || create {
		if len(in.Events) == 0 {
			return ErrNoEvents
		}
		for _, e := range in.Events {
			if !slices.Contains(events.All, e) {
				return ErrUnknownEvent
			}
		}
	}
	return nil
}

func validHookURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(s) <= 2000 && u.Scheme == "https" && u.Host != "" && u.User == nil && u.Fragment == ""
}

// Delivery is one attempt to deliver an event, with the receiver's answer.
type Delivery struct {
	ID         int64
	EventID    int64
	EventType  string
	Attempt    int
	At         time.Time
	StatusCode int // 0: no answer (see Error)
	Response   string
	Error      string
	Duration   time.Duration
}

// OK tells a delivery the receiver took.
func (d Delivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }

// hookManager runs fn for someone who may manage the municipality's
// webhooks: an admin, or a key with ScopeWebhooksManage over the whole
// municipality.
func (s *Service) hookManager(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	if actor.Tenant == 0 {
		return ErrForbidden
	}
	return s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin() && actor.HasScope(ScopeWebhooksManage)); err != nil {
			return err
		}
		return fn(tx)
	})
}

const endpointColumns = `id, url, description, events, active, disabled_at, version, created_at, updated_at`

func scanEndpoint(r sqldb.Row) (Endpoint, error) {
	var e Endpoint
	err := r.Scan(&e.ID, &e.URL, &e.Description, &e.Events, &e.Active, &e.DisabledAt, &e.Version, &e.CreatedAt, &e.UpdatedAt)
	return e, err
}

// Webhooks lists the municipality's endpoints, oldest first.
func (s *Service) Webhooks(ctx context.Context, actor auth.Principal) ([]Endpoint, error) {
	var out []Endpoint
	err := s.hookManager(ctx, actor, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints ORDER BY id`)
		if err != nil {
			return err
		}
		out, err = sqldb.CollectRows(rows, scanEndpoint)
		return err
	})
	return out, err
}

// Webhook reads one endpoint and its latest deliveries, newest first.
func (s *Service) Webhook(ctx context.Context, actor auth.Principal, id int64) (Endpoint, []Delivery, error) {
	var e Endpoint
	var ds []Delivery
	err := s.hookManager(ctx, actor, func(tx sqldb.Tx) error {
		var err error
		if e, err = scanEndpoint(tx.QueryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id)); err != nil {
			return sqldb.NotFound(err)
		}
		rows, err := tx.Query(ctx, `SELECT d.id, d.event_id, e.type, d.attempt, d.at, coalesce(d.status_code, 0), d.response, d.error, d.duration_ms
			FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
			WHERE d.endpoint_id = $1 ORDER BY d.at DESC, d.id DESC LIMIT 50`, id)
		if err != nil {
			return err
		}
		ds, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Delivery, error) {
			var d Delivery
			var ms int
			err := r.Scan(&d.ID, &d.EventID, &d.EventType, &d.Attempt, &d.At, &d.StatusCode, &d.Response, &d.Error, &ms)
			d.Duration = time.Duration(ms) * time.Millisecond
			return d, err
		})
		return err
	})
	return e, ds, err
}

// NewSecret makes a Standard Webhooks signing secret: whsec_ and 32
// random bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness failing is not recoverable
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// CreateWebhook registers an endpoint and returns its signing secret,
// shown this once.
func (s *Service) CreateWebhook(ctx context.Context, actor auth.Principal, in EndpointInput) (Endpoint, string, error) {
	if err := in.check(true); err != nil {
		return Endpoint{}, "", err
	}
	secret := NewSecret()
	desc := ""
	if in.Description != nil {
		desc = strings.TrimSpace(*in.Description)
	}
	var e Endpoint
	err := s.hookManager(ctx, actor, func(tx sqldb.Tx) error {
		var staff, key *int64
		if actor.IsAPIKey() {
			key = &actor.APIKeyID
		} else {
			staff = &actor.StaffID
		}
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `INSERT INTO webhook_endpoints (municipality_id, url, description, events, secret, created_by, created_by_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+endpointColumns, actor.Tenant, *in.URL, desc, in.Events, secret, staff, key))
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, actor.Audit(SubjectWebhook, e.ID, audit.ActionCreate, org.PurposeAdministration, audit.ResultOK))
	})
	if err != nil {
		return Endpoint{}, "", err
	}
	return e, secret, nil
}

// UpdateWebhook changes an endpoint if it is still at version (0: the
// caller did not say, which is ErrVersionNeeded). Switching it on again
// clears the portal's switch-off.
func (s *Service) UpdateWebhook(ctx context.Context, actor auth.Principal, id int64, version int, in EndpointInput) (Endpoint, error) {
	if version <= 0 {
		return Endpoint{}, ErrVersionNeeded
	}
	if err := in.check(false); err != nil {
		return Endpoint{}, err
	}
	var e Endpoint
	err := s.hookManager(ctx, actor, func(tx sqldb.Tx) error {
		var current int
		if err := tx.QueryRow(ctx, `SELECT version FROM webhook_endpoints WHERE id = $1 FOR UPDATE`, id).Scan(&current); err != nil {
			return sqldb.NotFound(err)
		}
		if current != version {
			return sqldb.ErrStale
		}
		var desc *string
		if in.Description != nil {
			d := strings.TrimSpace(*in.Description)
			desc = &d
		}
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `UPDATE webhook_endpoints SET
			  url = coalesce($2, url), description = coalesce($3, description), events = coalesce($4, events),
			  active = coalesce($5, active), disabled_at = CASE WHEN $5 THEN NULL ELSE disabled_at END,
			  version = version + 1, updated_at = now()
			WHERE id = $1 RETURNING `+endpointColumns, id, in.URL, desc, in.Events, in.Active))
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx, actor.Audit(SubjectWebhook, id, audit.ActionUpdate, org.PurposeAdministration, audit.ResultOK))
	})
	return e, err
}

// DeleteWebhook removes an endpoint and its delivery log; deliveries
// still queued for it find nothing and stop.
func (s *Service) DeleteWebhook(ctx context.Context, actor auth.Principal, id int64) error {
	return s.hookManager(ctx, actor, func(tx sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			return sqldb.ErrNotFound
		}
		return audit.Write(ctx, tx, actor.Audit(SubjectWebhook, id, audit.ActionDelete, org.PurposeAdministration, audit.ResultOK))
	})
}

// TestWebhook sends a test event to one endpoint, whatever events it
// chose, and returns the event's id.
func (s *Service) TestWebhook(ctx context.Context, actor auth.Principal, id int64) (int64, error) {
	var event int64
	err := s.hookManager(ctx, actor, func(tx sqldb.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT true FROM webhook_endpoints WHERE id = $1`, id).Scan(&ok); err != nil {
			return sqldb.NotFound(err)
		}
		ids, err := s.emit(ctx, tx, EventTest, id, events.Data{"webhook_id": id})
		if len(ids) == 1 {
			event = ids[0]
		}
		return err
	})
	return event, err
}
