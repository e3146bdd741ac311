package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Why a sign-in through the municipality's provider is refused. Each has
// a message of its own, so the person knows whether to start again or to
// ask their admin.
var (
	ErrNoProvider        = errors.New("auth: the municipality has no sign-in provider turned on")
	ErrProviderDown      = errors.New("auth: the sign-in provider could not be reached")
	ErrProviderState     = errors.New("auth: unknown, used or expired sign-in state")
	ErrProviderToken     = errors.New("auth: the provider's ID token did not verify")
	ErrProviderNonce     = errors.New("auth: the ID token belongs to another sign-in")
	ErrProviderNoRole    = errors.New("auth: no group of the account maps to a role")
	ErrProviderInactive  = errors.New("auth: the account is switched off")
	ErrProviderNoEmail   = errors.New("auth: the provider gave no verified e-mail address")
	ErrProviderEmailUsed = errors.New("auth: the e-mail address has an account in another municipality")
)

// ProviderStateTimeout is how long a sign-in may stay at the provider.
const ProviderStateTimeout = 10 * time.Minute

// Provider is a municipality's sign-in service as the login page offers it.
type Provider struct {
	Slug, Name string
}

// Providers lists the municipalities that offer sign-in through their own
// provider.
func (s *Service) Providers(ctx context.Context) ([]Provider, error) {
	var out []Provider
	err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT slug, name FROM koto_oidc_providers()`)
		if err != nil {
			return err
		}
		out, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Provider, error) {
			var p Provider
			return p, r.Scan(&p.Slug, &p.Name)
		})
		return err
	})
	return out, err
}

// providerClient is a municipality's provider, discovered, with the
// portal's client registration there.
type providerClient struct {
	settings SigninSettings
	provider *oidc.Provider
	oauth    oauth2.Config
}

// client discovers the provider (its endpoints and signing keys) from its
// issuer; the ID token's issuer must then be exactly that.
func (s *Service) client(ctx context.Context, st SigninSettings, redirectURL string) (*providerClient, error) {
	if !st.OIDCEnabled {
		return nil, ErrNoProvider
	}
	ctx = oidc.ClientContext(ctx, s.httpClient)
	p, err := oidc.NewProvider(ctx, st.OIDCIssuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProviderDown, err)
	}
	return &providerClient{settings: st, provider: p, oauth: oauth2.Config{ClientID: st.OIDCClientID, ClientSecret: st.OIDCClientSecret,
		Endpoint: p.Endpoint(), RedirectURL: redirectURL, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}}, nil
}

// tenantSettings reads a municipality's settings, the client secret
// included, for the sign-in's own use.
func (s *Service) tenantSettings(ctx context.Context, tenant int64) (SigninSettings, error) {
	var st SigninSettings
	err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		var err error
		st, err = readSettings(ctx, tx)
		return err
	})
	return st, err
}

// BeginProviderSignin starts a sign-in at the municipality's provider and
// returns where to send the browser, and the state the browser must bring
// back (the web layer binds it to the browser with a cookie). The
// authorization code flow carries a PKCE challenge, a state and a nonce,
// kept here until the callback uses them once.
func (s *Service) BeginProviderSignin(ctx context.Context, slug, redirectURL, next string) (to, state string, err error) {
	var tenant *int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_municipality_by_slug($1)`, slug).Scan(&tenant)
	}); err != nil {
		return "", "", err
	}
	if tenant == nil {
		return "", "", ErrNoProvider
	}
	st, err := s.tenantSettings(ctx, *tenant)
	if err != nil {
		return "", "", err
	}
	c, err := s.client(ctx, st, redirectURL)
	if err != nil {
		return "", "", err
	}
	state, nonce, verifier := NewToken(), NewToken(), oauth2.GenerateVerifier()
	err = s.db.InTenant(ctx, *tenant, func(tx sqldb.Tx) error {
		// Abandoned sign-ins go as new ones start.
		if _, err := tx.Exec(ctx, `DELETE FROM oidc_states WHERE expires_at < $1`, s.now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO oidc_states (state_hash, municipality_id, nonce, verifier, next, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, Hash(state), *tenant, nonce, verifier, next, s.now().Add(ProviderStateTimeout))
		return err
	})
	if err != nil {
		return "", "", err
	}
	return c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), state, nil
}

// providerState is a sign-in waiting at the provider.
type providerState struct {
	tenant          int64
	nonce, verifier string
	next            string
}

// takeProviderState uses a state up: whatever happens next, it cannot
// come back a second time.
func (s *Service) takeProviderState(ctx context.Context, state string) (providerState, error) {
	if state == "" || len(state) > 100 {
		return providerState{}, ErrProviderState
	}
	var ps providerState
	var expires time.Time
	err := s.db.InTenantOf(ctx, `koto_oidc_state_tenant($1)`, Hash(state), func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `DELETE FROM oidc_states WHERE state_hash = $1 RETURNING municipality_id, nonce, verifier, next, expires_at`,
			Hash(state)).Scan(&ps.tenant, &ps.nonce, &ps.verifier, &ps.next, &expires)
	})
	if errors.Is(err, sqldb.ErrNoTenant) || errors.Is(err, sqldb.ErrNoRows) || err == nil && !s.now().Before(expires) {
		return providerState{}, ErrProviderState
	}
	return ps, err
}

// providerClaims are what the portal reads from a verified ID token.
type providerClaims struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	groups        []string
}

// FinishProviderSignin completes a sign-in the provider sent back: the
// state is used up, the code exchanged with its PKCE verifier, the ID
// token's signature, issuer, audience, expiry and nonce checked. The
// account is found by the provider's subject, or made (just in time), and
// its roles are set from the provider's groups at every sign-in; an
// account switched off, or whose groups give no role, is refused. It
// returns the new session and where the sign-in was headed.
func (s *Service) FinishProviderSignin(ctx context.Context, state, code, redirectURL, browser, previous string) (Session, string, error) {
	ps, err := s.takeProviderState(ctx, state)
	if err != nil {
		return Session{}, "", err
	}
	st, err := s.tenantSettings(ctx, ps.tenant)
	if err != nil {
		return Session{}, "", err
	}
	c, err := s.client(ctx, st, redirectURL)
	if err != nil {
		return Session{}, "", err
	}
	cctx := oidc.ClientContext(ctx, s.httpClient)
	tok, err := c.oauth.Exchange(cctx, code, oauth2.VerifierOption(ps.verifier))
	if err != nil {
		return Session{}, "", fmt.Errorf("%w: %v", ErrProviderDown, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := c.provider.VerifierContext(cctx, &oidc.Config{ClientID: st.OIDCClientID, Now: s.now}).Verify(cctx, raw)
	if err != nil {
		return Session{}, "", fmt.Errorf("%w: %v", ErrProviderToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ps.nonce)) != 1 {
		return Session{}, "", ErrProviderNonce
	}
	var cl providerClaims
	var all map[string]any
	if err := idt.Claims(&cl); err != nil {
		return Session{}, "", fmt.Errorf("%w: %v", ErrProviderToken, err)
	}
	if err := idt.Claims(&all); err != nil {
		return Session{}, "", fmt.Errorf("%w: %v", ErrProviderToken, err)
	}
	cl.groups = claimStrings(all[st.GroupsClaim])
	cl.Email = strings.ToLower(strings.TrimSpace(cl.Email))
	if cl.Email == "" || cl.EmailVerified != nil && !*cl.EmailVerified {
		return Session{}, "", ErrProviderNoEmail
	}
	staffID, err := s.provisionAccount(ctx, ps.tenant, cl, st.Mappings)
	if err != nil {
		return Session{}, "", err
	}
	sess, err := s.Login(ctx, Staff{ID: staffID, Tenant: ps.tenant, Provider: true, Browser: browser}, previous)
	return sess, ps.next, err
}

// claimStrings reads a claim that is a list of strings or one string.
func claimStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// provisionAccount finds or makes the account of a verified provider
// identity and gives it the roles its groups map to now, replacing the
// roles it had: the provider is where roles are kept.
func (s *Service) provisionAccount(ctx context.Context, tenant int64, cl providerClaims, mappings []RoleMapping) (int64, error) {
	var staffID int64
	var refused error
	err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		grants, err := mappedGrants(ctx, tx, cl.groups, mappings)
		if err != nil {
			return err
		}
		var active bool
		err = tx.QueryRow(ctx, `SELECT id, active FROM staff WHERE oidc_subject = $1`, cl.Subject).Scan(&staffID, &active)
		if errors.Is(err, sqldb.ErrNoRows) {
			// An account the admin made before the provider was turned on
			// is taken over by the same address, once.
			err = tx.QueryRow(ctx, `UPDATE staff SET oidc_subject = $1 WHERE email = $2 AND oidc_subject IS NULL RETURNING id, active`,
				cl.Subject, cl.Email).Scan(&staffID, &active)
		}
		if errors.Is(err, sqldb.ErrNoRows) && len(grants) == 0 {
			refused = ErrProviderNoRole // nobody to make an account for
			return nil
		}
		if errors.Is(err, sqldb.ErrNoRows) {
			name := cl.Name
			if name == "" {
				name = cl.Email
			}
			active = true
			err = tx.QueryRow(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash, oidc_subject)
				VALUES ($1, $2, $3, '', $4) RETURNING id`, tenant, cl.Email, clip(name, 200), cl.Subject).Scan(&staffID)
			if sqldb.IsUniqueViolation(err) {
				return ErrProviderEmailUsed
			}
		}
		if err != nil {
			return err
		}
		if !active {
			refused = ErrProviderInactive
			return logSignin(ctx, tx, tenant, staffID, PurposeProvider, audit.ResultDenied)
		}
		if len(grants) == 0 {
			refused = ErrProviderNoRole
		}
		if _, err := tx.Exec(ctx, `DELETE FROM staff_roles WHERE staff_id = $1`, staffID); err != nil {
			return err
		}
		for _, g := range grants {
			var sp *int64
			if g.ServicePointID != 0 {
				sp = &g.ServicePointID
			}
			if _, err := tx.Exec(ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, $4)`,
				tenant, staffID, sp, g.Role); err != nil {
				return err
			}
		}
		if refused != nil {
			// Whatever roles the account had are gone with the groups, and
			// its sessions with them.
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1`, staffID); err != nil {
				return err
			}
			return logSignin(ctx, tx, tenant, staffID, PurposeProvider, audit.ResultDenied)
		}
		_, err = tx.Exec(ctx, `UPDATE staff SET email = $2, name = CASE WHEN $3 = '' THEN name ELSE $3 END WHERE id = $1`,
			staffID, cl.Email, clip(cl.Name, 200))
		if sqldb.IsUniqueViolation(err) {
			return ErrProviderEmailUsed
		}
		return err
	})
	if err == nil {
		err = refused
	}
	return staffID, err
}

// mappedGrants turns the account's groups into roles.
func mappedGrants(ctx context.Context, tx sqldb.Tx, groups []string, mappings []RoleMapping) ([]Grant, error) {
	var out []Grant
	for _, m := range mappings {
		if !slices.Contains(groups, m.Group) {
			continue
		}
		g := Grant{Role: m.Role}
		if m.ServicePoint != "" {
			if err := tx.QueryRow(ctx, `SELECT id FROM service_points WHERE slug = $1`, m.ServicePoint).Scan(&g.ServicePointID); err != nil {
				if errors.Is(err, sqldb.ErrNoRows) {
					continue // the service point went after the mapping was made
				}
				return nil, err
			}
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}
