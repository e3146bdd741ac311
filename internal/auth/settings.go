package auth

import (
	"context"
	"errors"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// PurposeSigninSettings is the access-log purpose of changing how a
// municipality's staff sign in.
const PurposeSigninSettings = "signin_settings"

// ErrUnknownServicePoint: a role mapping names a service point the
// municipality does not have.
var ErrUnknownServicePoint = errors.New("auth: unknown service point in a role mapping")

// ErrPasswordSigninNeedsProvider: password sign-in can be turned off only
// when the provider is on, or nobody could sign in.
var ErrPasswordSigninNeedsProvider = errors.New("auth: password sign-in can be off only with a provider")

// ErrSecretMissing: the provider is on but no client secret was ever given.
var ErrSecretMissing = errors.New("auth: the provider needs a client secret")

// SigninSettings is how a municipality's staff sign in.
type SigninSettings struct {
	SecondFactorRequired bool
	PasswordSignin       bool
	OIDCEnabled          bool
	OIDCName             string // shown on the login page: "Sign in with <name>"
	OIDCIssuer           string
	OIDCClientID         string
	// OIDCClientSecret is write-only: reads leave it empty and say only
	// whether one is stored (SecretStored); saving it empty keeps it.
	OIDCClientSecret string
	SecretStored     bool
	GroupsClaim      string
	Mappings         []RoleMapping
}

// RoleMapping gives the holders of a provider group (a value of the groups
// claim) a role, in the whole municipality (ServicePoint "") or in one
// service point, named by its slug.
type RoleMapping struct {
	Group        string
	Role         string
	ServicePoint string
}

func defaultSettings() SigninSettings {
	return SigninSettings{PasswordSignin: true, GroupsClaim: "groups"}
}

// Settings reads the municipality's sign-in settings; admins only.
func (s *Service) Settings(ctx context.Context, actor Principal) (SigninSettings, error) {
	var out SigninSettings
	err := s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
			return err
		}
		var err error
		out, err = readSettings(ctx, tx)
		out.OIDCClientSecret = ""
		return err
	})
	return out, err
}

// readSettings reads the tenant's settings, the client secret included.
func readSettings(ctx context.Context, tx sqldb.Tx) (SigninSettings, error) {
	out := defaultSettings()
	err := tx.QueryRow(ctx, `SELECT second_factor_required, password_signin, oidc_enabled, oidc_name, oidc_issuer, oidc_client_id,
			oidc_client_secret, oidc_groups_claim FROM signin_settings`).
		Scan(&out.SecondFactorRequired, &out.PasswordSignin, &out.OIDCEnabled, &out.OIDCName, &out.OIDCIssuer, &out.OIDCClientID,
			&out.OIDCClientSecret, &out.GroupsClaim)
	if err != nil && !errors.Is(err, sqldb.ErrNoRows) {
		return out, err
	}
	out.SecretStored = out.OIDCClientSecret != ""
	rows, err := tx.Query(ctx, `SELECT m.claim_value, m.role, coalesce(sp.slug, '') FROM oidc_role_mappings m
		LEFT JOIN service_points sp ON sp.id = m.service_point_id ORDER BY m.claim_value, m.role, sp.slug NULLS FIRST`)
	if err != nil {
		return out, err
	}
	out.Mappings, err = sqldb.CollectRows(rows, func(r sqldb.Row) (RoleMapping, error) {
		var m RoleMapping
		return m, r.Scan(&m.Group, &m.Role, &m.ServicePoint)
	})
	return out, err
}

// SaveSettings stores the municipality's sign-in settings; admins only.
// The change is written to the access log.
func (s *Service) SaveSettings(ctx context.Context, actor Principal, in SigninSettings) error {
	if !in.PasswordSignin && !in.OIDCEnabled {
		return ErrPasswordSigninNeedsProvider
	}
	return s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
			return err
		}
		var secretStored bool
		if err := tx.QueryRow(ctx, `INSERT INTO signin_settings (municipality_id, second_factor_required, password_signin, oidc_enabled,
				oidc_name, oidc_issuer, oidc_client_id, oidc_client_secret, oidc_groups_claim)
			VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (municipality_id) DO UPDATE SET second_factor_required = $1, password_signin = $2, oidc_enabled = $3,
				oidc_name = $4, oidc_issuer = $5, oidc_client_id = $6,
				oidc_client_secret = CASE WHEN $7 = '' THEN signin_settings.oidc_client_secret ELSE $7 END, oidc_groups_claim = $8
			RETURNING oidc_client_secret <> ''`,
			in.SecondFactorRequired, in.PasswordSignin, in.OIDCEnabled, in.OIDCName, in.OIDCIssuer, in.OIDCClientID,
			in.OIDCClientSecret, in.GroupsClaim).Scan(&secretStored); err != nil {
			return err
		}
		if in.OIDCEnabled && !secretStored {
			return ErrSecretMissing
		}
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_role_mappings`); err != nil {
			return err
		}
		seen := map[RoleMapping]bool{}
		for _, m := range in.Mappings {
			if seen[m] {
				continue
			}
			seen[m] = true
			// The service point is looked up under row-level security: a
			// foreign key alone would accept another municipality's.
			n, err := tx.Exec(ctx, `INSERT INTO oidc_role_mappings (municipality_id, claim_value, role, service_point_id)
				SELECT koto_tenant(), $1, $2, sp.id FROM (SELECT NULL::bigint AS id WHERE $3 = ''
					UNION ALL SELECT id FROM service_points WHERE slug = $3) sp
				`, m.Group, m.Role, m.ServicePoint)
			if err != nil {
				return err
			}
			if n.RowsAffected() == 0 {
				return ErrUnknownServicePoint
			}
		}
		return audit.Write(ctx, tx, actor.Audit("municipality", actor.Tenant, audit.ActionUpdate, PurposeSigninSettings, audit.ResultOK))
	})
}
