package org

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/store"
)

// Member is a staff member as the set-up screens show them.
type Member struct {
	ID        int64
	Email     string
	Name      string
	Languages []string
	Locale    string
	Active    bool
	Grants    []auth.Grant
}

// ListStaff lists the tenant's staff; spID > 0 narrows to those holding a
// role in that service point (or municipality-wide).
func ListStaff(ctx context.Context, tx pgx.Tx, spID int64) ([]Member, error) {
	rows, err := tx.Query(ctx, `SELECT s.id, s.email, s.name, s.languages, s.locale, s.active FROM staff s
		WHERE $1 = 0 OR EXISTS (SELECT 1 FROM staff_roles r WHERE r.staff_id = s.id AND (r.service_point_id = $1 OR r.service_point_id IS NULL))
		ORDER BY s.name, s.id`, spID)
	if err != nil {
		return nil, err
	}
	members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Member, error) {
		var m Member
		err := r.Scan(&m.ID, &m.Email, &m.Name, &m.Languages, &m.Locale, &m.Active)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	for i := range members {
		if members[i].Grants, err = grants(ctx, tx, members[i].ID); err != nil {
			return nil, err
		}
	}
	return members, nil
}

// GetStaff reads one staff member.
func GetStaff(ctx context.Context, tx pgx.Tx, id int64) (Member, error) {
	var m Member
	err := tx.QueryRow(ctx, `SELECT id, email, name, languages, locale, active FROM staff WHERE id = $1`, id).
		Scan(&m.ID, &m.Email, &m.Name, &m.Languages, &m.Locale, &m.Active)
	if err != nil {
		return m, store.NotFound(err)
	}
	m.Grants, err = grants(ctx, tx, id)
	return m, err
}

func grants(ctx context.Context, tx pgx.Tx, staffID int64) ([]auth.Grant, error) {
	rows, err := tx.Query(ctx, `SELECT role, coalesce(service_point_id, 0) FROM staff_roles WHERE staff_id = $1 ORDER BY service_point_id NULLS FIRST, role`, staffID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Grant, error) {
		var g auth.Grant
		err := r.Scan(&g.Role, &g.ServicePointID)
		return g, err
	})
}

// CreateStaff adds a staff member with a password hash.
func CreateStaff(ctx context.Context, tx pgx.Tx, m *Member, passwordHash string) error {
	err := tx.QueryRow(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash, languages, locale, active)
		VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id`,
		m.Email, m.Name, passwordHash, m.Languages, m.Locale, m.Active).Scan(&m.ID)
	if store.IsUniqueViolation(err) {
		return ErrEmailInUse
	}
	return err
}

// ErrEmailInUse is returned when an address already has an account anywhere.
var ErrEmailInUse = errors.New("org: e-mail address already has an account")

// UpdateStaff changes name, languages, locale and whether the account works.
// Switching an account off also ends its sessions.
func UpdateStaff(ctx context.Context, tx pgx.Tx, m *Member) error {
	if err := execOne(ctx, tx, `UPDATE staff SET name = $2, languages = $3, locale = $4, active = $5 WHERE id = $1`,
		m.ID, m.Name, m.Languages, m.Locale, m.Active); err != nil {
		return err
	}
	if !m.Active {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1`, m.ID)
		return err
	}
	return nil
}

// SetGrant gives or takes a role in a service point (0: municipality-wide).
func SetGrant(ctx context.Context, tx pgx.Tx, staffID int64, g auth.Grant, on bool) error {
	var sp *int64
	if g.ServicePointID != 0 {
		sp = &g.ServicePointID
	}
	if on {
		_, err := tx.Exec(ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role)
			VALUES (koto_tenant(), $1, $2, $3) ON CONFLICT DO NOTHING`, staffID, sp, g.Role)
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM staff_roles WHERE staff_id = $1 AND service_point_id IS NOT DISTINCT FROM $2 AND role = $3`, staffID, sp, g.Role)
	return err
}
