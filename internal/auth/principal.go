package auth

import (
	"context"
	"errors"
	"slices"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Roles, from least to most.
const (
	RoleExpert = "expert"
	RoleLead   = "lead"
	RoleAdmin  = "admin"
)

// Grant is one role, in the whole municipality (ServicePointID 0) or in
// one service point.
type Grant struct {
	Role           string
	ServicePointID int64
}

// Principal is who acts: a staff member and what they hold, or an API key
// (APIKeyID set, StaffID zero), whose grants stand for its service point
// restriction and whose Scopes say which of the API's calls it may make.
type Principal struct {
	StaffID   int64
	APIKeyID  int64
	Scopes    []string
	Tenant    int64
	Name      string
	Email     string
	Locale    string
	Languages []string
	Grants    []Grant
}

var errInactive = errors.New("auth: account is inactive")

func loadPrincipal(ctx context.Context, tx sqldb.Tx, tenant, staffID int64) (Principal, error) {
	p := Principal{StaffID: staffID, Tenant: tenant}
	var active bool
	err := tx.QueryRow(ctx, `SELECT name, email, locale, languages, active FROM staff WHERE id = $1`, staffID).
		Scan(&p.Name, &p.Email, &p.Locale, &p.Languages, &active)
	if err != nil {
		return p, err
	}
	if !active {
		return p, errInactive
	}
	rows, err := tx.Query(ctx, `SELECT role, coalesce(service_point_id, 0) FROM staff_roles WHERE staff_id = $1`, staffID)
	if err != nil {
		return p, err
	}
	for rows.Next() {
		var g Grant
		if err := rows.Scan(&g.Role, &g.ServicePointID); err != nil {
			return p, err
		}
		p.Grants = append(p.Grants, g)
	}
	return p, rows.Err()
}

func rank(role string) int {
	switch role {
	case RoleExpert:
		return 1
	case RoleLead:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// holds tells whether p has at least role in the service point (0: a
// municipality-wide need, met only by a municipality-wide grant). An admin
// grant covers every service point of the municipality.
func (p Principal) holds(role string, servicePointID int64) bool {
	for _, g := range p.Grants {
		if rank(g.Role) < rank(role) {
			continue
		}
		if g.Role == RoleAdmin || g.ServicePointID == 0 || g.ServicePointID == servicePointID && servicePointID != 0 {
			return true
		}
	}
	return false
}

// CanWork: queues, tasks and clients of the service point.
func (p Principal) CanWork(servicePointID int64) bool { return p.holds(RoleExpert, servicePointID) }

// CanManage: the service point's set-up, devices, topics, staff and statistics.
func (p Principal) CanManage(servicePointID int64) bool { return p.holds(RoleLead, servicePointID) }

// HasScope tells whether p may make calls of scope: an API key holds only
// the scopes it was given; a staff member's roles decide for them, so
// scopes do not narrow a staff member.
func (p Principal) HasScope(scope string) bool {
	return p.APIKeyID == 0 || slices.Contains(p.Scopes, scope)
}

// IsAPIKey tells an API key from a staff member.
func (p Principal) IsAPIKey() bool { return p.APIKeyID != 0 }

// IsAdmin: everything within the municipality.
func (p Principal) IsAdmin() bool { return p.holds(RoleAdmin, 0) }

// IsLeadAnywhere tells whether p manages at least one service point, to
// decide which menus to show (every action checks again).
func (p Principal) IsLeadAnywhere() bool {
	for _, g := range p.Grants {
		if rank(g.Role) >= rank(RoleLead) {
			return true
		}
	}
	return false
}

// ServicePointScope lists the service points p holds role in; all is true
// when a municipality-wide grant covers every one.
func (p Principal) ServicePointScope(role string) (ids []int64, all bool) {
	for _, g := range p.Grants {
		if rank(g.Role) < rank(role) {
			continue
		}
		if g.Role == RoleAdmin || g.ServicePointID == 0 {
			return nil, true
		}
		ids = append(ids, g.ServicePointID)
	}
	return ids, false
}

// Authorize refuses an actor who lacks a right (allowed is false), and one
// whose municipality is not the transaction's: the web layer always opens
// the actor's own tenant, so a mismatch is a programming mistake, caught
// before anything is read or written. Domain packages call it so that a
// handler's mistake cannot bypass their rules.
func Authorize(ctx context.Context, tx sqldb.Tx, actor Principal, allowed bool) error {
	if !allowed || actor.StaffID == 0 && actor.APIKeyID == 0 || actor.Tenant == 0 {
		return ErrForbidden
	}
	var tenant *int64
	if err := tx.QueryRow(ctx, `SELECT koto_tenant()`).Scan(&tenant); err != nil {
		return err
	}
	if tenant == nil || *tenant != actor.Tenant {
		return ErrForbidden
	}
	return nil
}

// Audit is the access-log row of p's access: a staff member or an API key
// stands in it as the actor.
func (p Principal) Audit(kind string, subject int64, action, purpose, result string) audit.Entry {
	return audit.Entry{Tenant: p.Tenant, StaffID: p.StaffID, APIKeyID: p.APIKeyID, SubjectKind: kind,
		SubjectID: subject, Action: action, Purpose: purpose, Result: result}
}
