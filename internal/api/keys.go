// Package api owns what the JSON API adds to the domain: its contract (the
// OpenAPI document), the keys municipal systems call with and what each may
// do, the per-key rate limit shared by every instance, the answers kept for
// Idempotency-Key, and webhooks to add-ons. The web layer serves the
// contract; the domain packages do the work a call asks for.
package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// The scopes a key can hold; each call of the contract names the one it needs.
const (
	ScopeClientsRead       = "clients:read"
	ScopeClientsWrite      = "clients:write"
	ScopeAppointmentsWrite = "appointments:write"
	ScopeTasksWrite        = "tasks:write"
	ScopeVisitsRead        = "visits:read"
	ScopeStatsRead         = "stats:read"
	ScopeWebhooksManage    = "webhooks:manage"
)

// Scopes lists every scope in the order the key form shows them.
var Scopes = []string{ScopeClientsRead, ScopeClientsWrite, ScopeAppointmentsWrite, ScopeTasksWrite,
	ScopeVisitsRead, ScopeStatsRead, ScopeWebhooksManage}

// TokenPrefix starts every key's secret, so that a leaked one is easy to
// recognise (secret scanners, logs).
const TokenPrefix = "koto_"

// SubjectAPIKey is the access log's subject kind for a key.
const SubjectAPIKey = "api_key"

// Errors of the key screen and of a call's credentials.
var (
	ErrForbidden           = auth.ErrForbidden
	ErrUnauthorized        = errors.New("api: no valid key")
	ErrNoScope             = errors.New("api: a key needs at least one scope")
	ErrUnknownScope        = errors.New("api: unknown scope")
	ErrName                = errors.New("api: a key needs a name of at most 100 characters")
	ErrExpiryPast          = errors.New("api: the expiry is in the past")
	ErrUnknownServicePoint = errors.New("api: unknown service point")
)

// Key is an API key as the admin sees it; the secret is never kept.
type Key struct {
	ID             int64
	Name           string
	Prefix         string
	Scopes         []string
	ServicePointID int64 // 0: the whole municipality
	ExpiresAt      *time.Time
	RatePerMinute  int
	CreatedAt      time.Time
	CreatedBy      string
	RevokedAt      *time.Time
	LastUsedAt     *time.Time
}

// Active tells whether the key still opens the API at now.
func (k Key) Active(now time.Time) bool {
	return k.RevokedAt == nil && (k.ExpiresAt == nil || k.ExpiresAt.After(now))
}

// NewKey is what the admin asks for.
type NewKey struct {
	Name           string
	Scopes         []string
	ServicePointID int64
	ExpiresAt      *time.Time
}

// Check reports what is wrong with a new key, if anything.
func (n NewKey) Check(now time.Time) error {
	name := strings.TrimSpace(n.Name)
	switch {
	case name == "" || len([]rune(name)) > 100:
		return ErrName
	case len(n.Scopes) == 0:
		return ErrNoScope
	case n.ExpiresAt != nil && !n.ExpiresAt.After(now):
		return ErrExpiryPast
	}
	for _, sc := range n.Scopes {
		if !slices.Contains(Scopes, sc) {
			return fmt.Errorf("%w: %q", ErrUnknownScope, sc)
		}
	}
	return nil
}

// Service is the API's own use cases over the database.
type Service struct {
	db  sqldb.DB
	now func() time.Time
	// Webhook delivery; see delivery.go.
	hooks hooks
}

// New builds the service; now is injectable so tests can move the clock.
func New(db sqldb.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// admin runs fn in the actor's tenant after checking that they administer
// the municipality.
func (s *Service) admin(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	if actor.Tenant == 0 {
		return ErrForbidden
	}
	return s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin() && !actor.IsAPIKey()); err != nil {
			return err
		}
		return fn(tx)
	})
}

// KeysPage is the key screen: every key, and the service points a key can
// be narrowed to.
type KeysPage struct {
	Keys   []Key
	Points []org.ServicePoint
}

// Keys lists the municipality's keys, newest first, for its admin.
func (s *Service) Keys(ctx context.Context, actor auth.Principal) (KeysPage, error) {
	var out KeysPage
	err := s.admin(ctx, actor, func(tx sqldb.Tx) error {
		var err error
		if out.Keys, err = listKeys(ctx, tx); err != nil {
			return err
		}
		out.Points, err = org.ListServicePoints(ctx, tx)
		return err
	})
	return out, err
}

func listKeys(ctx context.Context, tx sqldb.Tx) ([]Key, error) {
	rows, err := tx.Query(ctx, `
		SELECT k.id, k.name, k.prefix, k.scopes, coalesce(k.service_point_id, 0), k.expires_at, k.rate_per_minute,
		       k.created_at, coalesce(s.name, ''), k.revoked_at, k.last_used_at
		FROM api_keys k LEFT JOIN staff s ON s.id = k.created_by
		ORDER BY k.created_at DESC, k.id DESC`)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Key, error) {
		var k Key
		err := r.Scan(&k.ID, &k.Name, &k.Prefix, &k.Scopes, &k.ServicePointID, &k.ExpiresAt, &k.RatePerMinute,
			&k.CreatedAt, &k.CreatedBy, &k.RevokedAt, &k.LastUsedAt)
		return k, err
	})
}

// CreateKey makes a key and returns it with its secret, which is shown to
// the admin this once and never stored readable.
func (s *Service) CreateKey(ctx context.Context, actor auth.Principal, n NewKey) (Key, string, error) {
	n.Name = strings.TrimSpace(n.Name)
	if err := n.Check(s.now()); err != nil {
		return Key{}, "", err
	}
	secret := TokenPrefix + auth.NewToken()
	var k Key
	err := s.admin(ctx, actor, func(tx sqldb.Tx) error {
		if n.ServicePointID != 0 {
			if _, err := org.GetServicePoint(ctx, tx, n.ServicePointID); err != nil {
				if errors.Is(err, sqldb.ErrNoRows) {
					return ErrUnknownServicePoint
				}
				return err
			}
		}
		var sp *int64
		if n.ServicePointID != 0 {
			sp = &n.ServicePointID
		}
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (municipality_id, name, token_hash, prefix, scopes, service_point_id, expires_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, created_at, rate_per_minute`,
			actor.Tenant, n.Name, auth.Hash(secret), secret[:len(TokenPrefix)+6], n.Scopes, sp, n.ExpiresAt, actor.StaffID).
			Scan(&k.ID, &k.CreatedAt, &k.RatePerMinute)
		if err != nil {
			return err
		}
		k.Name, k.Prefix, k.Scopes, k.ServicePointID, k.ExpiresAt, k.CreatedBy = n.Name, secret[:len(TokenPrefix)+6], n.Scopes, n.ServicePointID, n.ExpiresAt, actor.Name
		return audit.Write(ctx, tx, actor.Audit(SubjectAPIKey, k.ID, audit.ActionCreate, org.PurposeAdministration, audit.ResultOK))
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, secret, nil
}

// RevokeKey ends a key: its next call is refused.
func (s *Service) RevokeKey(ctx context.Context, actor auth.Principal, id int64) error {
	return s.admin(ctx, actor, func(tx sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL`, id, actor.StaffID)
		if err != nil {
			return err
		}
		if res.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT true FROM api_keys WHERE id = $1`, id).Scan(&exists); err != nil {
				return sqldb.NotFound(err)
			}
			return nil // revoked already: the same end state
		}
		return audit.Write(ctx, tx, actor.Audit(SubjectAPIKey, id, audit.ActionUpdate, org.PurposeAdministration, audit.ResultOK))
	})
}

// Window is the length of a rate limit window.
const Window = time.Minute

// Limit is where a key stands against its rate limit.
type Limit struct {
	Limit, Remaining int
	// Reset is how long until the window ends and the count starts over.
	Reset time.Duration
}

// Exceeded tells whether this call went over the limit.
func (l Limit) Exceeded() bool { return l.Remaining < 0 }

// Authenticate finds the key a call came with and counts the call against
// its rate limit, in one round trip: the tenant comes from the secret, so
// from here on row-level security keeps the key inside its municipality.
// A revoked, expired or unknown key is ErrUnauthorized.
func (s *Service) Authenticate(ctx context.Context, secret string) (auth.Principal, Limit, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return auth.Principal{}, Limit{}, ErrUnauthorized
	}
	hash := auth.Hash(secret)
	var p auth.Principal
	var l Limit
	err := s.db.InTenantOf(ctx, `koto_api_key_tenant($1)`, hash, func(tx sqldb.Tx) error {
		var sp int64
		var hits int
		var windowStart, now time.Time
		err := tx.QueryRow(ctx, `
			WITH k AS (
			  SELECT id, name, scopes, coalesce(service_point_id, 0) AS sp, rate_per_minute FROM api_keys
			  WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
			), used AS (
			  UPDATE api_keys SET last_used_at = now()
			  WHERE id = (SELECT id FROM k) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
			), hit AS (
			  INSERT INTO api_rate (municipality_id, api_key_id, window_start, hits)
			  SELECT koto_tenant(), id, date_bin($2::interval, now(), timestamptz 'epoch'), 1 FROM k
			  ON CONFLICT (api_key_id, window_start) DO UPDATE SET hits = api_rate.hits + 1
			  RETURNING hits, window_start
			)
			SELECT koto_tenant(), k.id, k.name, k.scopes, k.sp, k.rate_per_minute, hit.hits, hit.window_start, now() FROM k, hit`,
			hash, Window).Scan(&p.Tenant, &p.APIKeyID, &p.Name, &p.Scopes, &sp, &l.Limit, &hits, &windowStart, &now)
		if err != nil {
			return err
		}
		l.Remaining = l.Limit - hits
		l.Reset = windowStart.Add(Window).Sub(now)
		p.Grants = []auth.Grant{{Role: auth.RoleAdmin}}
		if sp != 0 {
			p.Grants = []auth.Grant{{Role: auth.RoleLead, ServicePointID: sp}}
		}
		return nil
	})
	if errors.Is(err, sqldb.ErrNoTenant) || errors.Is(err, sqldb.ErrNoRows) {
		return auth.Principal{}, Limit{}, ErrUnauthorized
	}
	if err != nil {
		return auth.Principal{}, Limit{}, err
	}
	p.Locale = "en"
	return p, l, nil
}
