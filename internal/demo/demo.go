// Package demo seeds the demo municipality that `make run` shows: service
// point "demo" with desks, topics and referral services, staff accounts, and
// a pre-paired kiosk and display. Seeding is idempotent; it runs as the
// schema owner because creating a municipality is a deployment-level act.
package demo

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
)

// Names of the demo's fixed parts (DESIGN.md contracts).
const (
	Municipality = "demo"
	ServicePoint = "demo"
	LeadEmail    = "demo@example.org"
	ExpertEmail  = "expert@example.org"
	AdminEmail   = "admin@example.org"
	KioskName    = "Demo kiosk"
	DisplayName  = "Demo display"
)

//go:embed demo.json
var demoJSON []byte

type content struct {
	Topics []struct {
		Prefix    string            `json:"prefix"`
		Pictogram string            `json:"pictogram"`
		Labels    map[string]string `json:"labels"`
	} `json:"topics"`
	Referrals []map[string]string `json:"referrals"`
}

// Seed creates the demo municipality when it is missing and sets the demo
// staff password (every start, so a generated one printed now works).
func Seed(ctx context.Context, ownerURL, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	var c content
	if err := json.Unmarshal(demoJSON, &c); err != nil {
		return fmt.Errorf("demo.json: %w", err)
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var muni int64
		err := tx.QueryRow(ctx, `SELECT id FROM municipalities WHERE slug = $1`, Municipality).Scan(&muni)
		if errors.Is(err, pgx.ErrNoRows) {
			if err := create(ctx, tx, c, hash); err != nil {
				return fmt.Errorf("seed demo: %w", err)
			}
			return nil
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE staff SET password_hash = $2, active = true WHERE municipality_id = $1 AND email IN ($3, $4, $5)`,
			muni, hash, LeadEmail, ExpertEmail, AdminEmail)
		return err
	})
}

// Devices reads the demo's unrevoked kiosk and display, which demo mode
// serves without pairing. The portal asks once, at start, so that no
// request path knows about the demo.
func Devices(ctx context.Context, ownerURL string) ([]auth.Device, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT d.id, d.municipality_id, d.service_point_id, d.kind, d.name, sp.slug
		FROM devices d JOIN service_points sp ON sp.id = d.service_point_id
		JOIN municipalities m ON m.id = d.municipality_id
		WHERE m.slug = $1 AND sp.slug = $2 AND (d.kind, d.name) IN (($3, $4), ($5, $6)) AND d.revoked_at IS NULL`,
		Municipality, ServicePoint, auth.KindKiosk, KioskName, auth.KindDisplay, DisplayName)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.Device, error) {
		var d auth.Device
		err := r.Scan(&d.ID, &d.Tenant, &d.ServicePointID, &d.Kind, &d.Name, &d.ServicePoint)
		return d, err
	})
}

func create(ctx context.Context, tx pgx.Tx, c content, hash string) error {
	var muni, sp int64
	if err := tx.QueryRow(ctx, `INSERT INTO municipalities (slug, name) VALUES ($1, 'Demo') RETURNING id`, Municipality).Scan(&muni); err != nil {
		return err
	}
	names := map[string]string{"fi": "Demo-palvelupiste", "sv": "Demo-serviceställe", "en": "Demo service point"}
	// Open every day around the clock, so the demo works whenever it is tried.
	if err := tx.QueryRow(ctx, `INSERT INTO service_points (municipality_id, slug, names, opening_hours) VALUES ($1, $2, $3, '{}') RETURNING id`,
		muni, ServicePoint, names).Scan(&sp); err != nil {
		return err
	}
	for _, d := range []string{"1", "2", "3"} {
		if _, err := tx.Exec(ctx, `INSERT INTO desks (municipality_id, service_point_id, name) VALUES ($1, $2, $3)`, muni, sp, d); err != nil {
			return err
		}
	}
	for i, t := range c.Topics {
		if _, err := tx.Exec(ctx, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix, position) VALUES ($1, $2, $3, $4, $5, $6)`,
			muni, sp, t.Labels, t.Pictogram, t.Prefix, i); err != nil {
			return err
		}
	}
	for i, r := range c.Referrals {
		if _, err := tx.Exec(ctx, `INSERT INTO referral_services (municipality_id, service_point_id, names, position) VALUES ($1, $2, $3, $4)`,
			muni, sp, r, i); err != nil {
			return err
		}
	}
	staff := []struct {
		email, name, role string
		langs             []string
		scoped            bool
	}{
		{LeadEmail, "Demo Lead", auth.RoleLead, []string{"fi", "sv", "en"}, true},
		{ExpertEmail, "Demo Expert", auth.RoleExpert, []string{"fi", "en", "ar"}, true},
		{AdminEmail, "Demo Admin", auth.RoleAdmin, []string{"fi", "en"}, false},
	}
	for _, s := range staff {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash, languages, locale) VALUES ($1, $2, $3, $4, $5, 'fi') RETURNING id`,
			muni, s.email, s.name, hash, s.langs).Scan(&id); err != nil {
			return err
		}
		var scope *int64
		if s.scoped {
			scope = &sp
		}
		if _, err := tx.Exec(ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, $4)`,
			muni, id, scope, s.role); err != nil {
			return err
		}
	}
	// Paired with a credential nobody holds: in demo mode the portal lets a
	// browser without a device cookie act as these two.
	for _, d := range []struct{ kind, name string }{{auth.KindKiosk, KioskName}, {auth.KindDisplay, DisplayName}} {
		if _, err := tx.Exec(ctx, `INSERT INTO devices (municipality_id, service_point_id, kind, name, token_hash, paired_at) VALUES ($1, $2, $3, $4, $5, now())`,
			muni, sp, d.kind, d.name, auth.Hash(auth.NewToken())); err != nil {
			return err
		}
	}
	return nil
}
