// Package org owns how a municipality is set up: its service points (with
// opening hours), desks, topics (reasons for a visit, labelled in every
// language), referral services, staff with their roles and languages, and
// the kiosk and display devices bound to a service point. Every function
// works inside the caller's tenant transaction.
package org

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/store"
)

// Labels maps a language code to text in that language.
type Labels map[string]string

// In returns the label in lang, else Finnish, else English, else any.
func (l Labels) In(lang string) string {
	for _, k := range []string{lang, "fi", "en"} {
		if s := l[k]; s != "" {
			return s
		}
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if l[k] != "" {
			return l[k]
		}
	}
	return ""
}

// Hours is a day's opening time, "08:00"–"16:00".
type Hours [2]string

// Week holds opening hours by ISO weekday ("1" Monday … "7" Sunday); a
// missing day is closed; an empty week means always open.
type Week map[string]Hours

// ServicePoint is a physical office.
type ServicePoint struct {
	ID, Tenant        int64
	Slug              string
	Names             Labels
	TimeZone          string
	Hours             Week
	TargetWaitMinutes int
	MaxRecalls        int
}

// Location loads the service point's time zone (Helsinki when unknown).
func (sp ServicePoint) Location() *time.Location {
	if loc, err := time.LoadLocation(sp.TimeZone); err == nil {
		return loc
	}
	loc, _ := time.LoadLocation("Europe/Helsinki")
	return loc
}

const spColumns = `id, municipality_id, slug, names, time_zone, opening_hours, target_wait_minutes, max_recalls`

func scanServicePoint(r pgx.Row) (ServicePoint, error) {
	var sp ServicePoint
	err := r.Scan(&sp.ID, &sp.Tenant, &sp.Slug, &sp.Names, &sp.TimeZone, &sp.Hours, &sp.TargetWaitMinutes, &sp.MaxRecalls)
	return sp, store.NotFound(err)
}

// ServicePointTenant finds which municipality a service point slug belongs
// to; kiosk and display addresses name the service point alone.
func ServicePointTenant(ctx context.Context, db *store.DB, slug string) (spID, tenant int64, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, municipality_id FROM koto_service_point_tenant($1)`, slug).Scan(&spID, &tenant)
	})
	return spID, tenant, store.NotFound(err)
}

// GetServicePoint reads one service point.
func GetServicePoint(ctx context.Context, tx pgx.Tx, id int64) (ServicePoint, error) {
	return scanServicePoint(tx.QueryRow(ctx, `SELECT `+spColumns+` FROM service_points WHERE id = $1`, id))
}

// GetServicePointBySlug reads a service point of the current tenant by its
// address name; another tenant's is not found.
func GetServicePointBySlug(ctx context.Context, tx pgx.Tx, slug string) (ServicePoint, error) {
	return scanServicePoint(tx.QueryRow(ctx, `SELECT `+spColumns+` FROM service_points WHERE slug = $1`, slug))
}

// ListServicePoints lists the tenant's service points by slug.
func ListServicePoints(ctx context.Context, tx pgx.Tx) ([]ServicePoint, error) {
	rows, err := tx.Query(ctx, `SELECT `+spColumns+` FROM service_points ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ServicePoint, error) { return scanServicePoint(r) })
}

// ErrSlugTaken is returned when a slug is already used anywhere.
var ErrSlugTaken = errors.New("org: address name already in use")

// ErrSlugReserved is returned for a slug that a fixed address already uses:
// /staff/setup/new and /kiosk/pair would hide a service point named so.
var ErrSlugReserved = errors.New("org: address name is reserved")

// reservedSlugs are the path words next to :sp in routes.go.
var reservedSlugs = map[string]bool{"new": true, "pair": true}

// SlugReserved tells whether a slug may not name a service point.
func SlugReserved(slug string) bool { return reservedSlugs[slug] }

// CreateServicePoint adds a service point; only a municipality admin may.
func CreateServicePoint(ctx context.Context, tx pgx.Tx, actor auth.Principal, sp *ServicePoint) error {
	if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
		return err
	}
	if SlugReserved(sp.Slug) {
		return ErrSlugReserved
	}
	err := tx.QueryRow(ctx, `INSERT INTO service_points (municipality_id, slug, names, time_zone, opening_hours, target_wait_minutes, max_recalls)
		VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id, municipality_id`,
		sp.Slug, sp.Names, sp.TimeZone, sp.Hours, sp.TargetWaitMinutes, sp.MaxRecalls).Scan(&sp.ID, &sp.Tenant)
	if store.IsUniqueViolation(err) {
		return ErrSlugTaken
	}
	return err
}

// UpdateServicePoint changes a service point's names, time zone, hours and
// queue settings; its lead or an admin may. The slug stays: printed QR codes
// and paired devices point at it.
func UpdateServicePoint(ctx context.Context, tx pgx.Tx, actor auth.Principal, sp *ServicePoint) error {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(sp.ID)); err != nil {
		return err
	}
	return execOne(ctx, tx, `UPDATE service_points SET names = $2, time_zone = $3, opening_hours = $4,
		target_wait_minutes = $5, max_recalls = $6 WHERE id = $1`,
		sp.ID, sp.Names, sp.TimeZone, sp.Hours, sp.TargetWaitMinutes, sp.MaxRecalls)
}

// Desk is a place where a visitor is served.
type Desk struct {
	ID, ServicePointID int64
	Name               string
	Active             bool
}

// ListDesks lists a service point's desks.
func ListDesks(ctx context.Context, tx pgx.Tx, spID int64) ([]Desk, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, name, active FROM desks WHERE service_point_id = $1 ORDER BY name`, spID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Desk, error) {
		var d Desk
		err := r.Scan(&d.ID, &d.ServicePointID, &d.Name, &d.Active)
		return d, err
	})
}

// GetDesk reads one desk of a service point; another's is not found.
func GetDesk(ctx context.Context, tx pgx.Tx, spID, id int64) (Desk, error) {
	var d Desk
	err := tx.QueryRow(ctx, `SELECT id, service_point_id, name, active FROM desks WHERE id = $1 AND service_point_id = $2`, id, spID).
		Scan(&d.ID, &d.ServicePointID, &d.Name, &d.Active)
	return d, store.NotFound(err)
}

// ErrNameTaken is returned when a desk name repeats within a service point.
var ErrNameTaken = errors.New("org: name already in use")

// SaveDesk inserts or updates a desk of a service point the actor manages.
func SaveDesk(ctx context.Context, tx pgx.Tx, actor auth.Principal, d *Desk) error {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(d.ServicePointID)); err != nil {
		return err
	}
	var err error
	if d.ID == 0 {
		err = tx.QueryRow(ctx, `INSERT INTO desks (municipality_id, service_point_id, name, active) VALUES (koto_tenant(), $1, $2, $3) RETURNING id`,
			d.ServicePointID, d.Name, d.Active).Scan(&d.ID)
	} else {
		err = execOne(ctx, tx, `UPDATE desks SET name = $3, active = $4 WHERE id = $1 AND service_point_id = $2`, d.ID, d.ServicePointID, d.Name, d.Active)
	}
	if store.IsUniqueViolation(err) {
		return ErrNameTaken
	}
	return err
}

// Topic is a reason for a visit.
type Topic struct {
	ID, ServicePointID int64
	Labels             Labels
	Pictogram          string
	Prefix             string
	Active             bool
	Position           int
}

// ListTopics lists a service point's topics in kiosk order; activeOnly
// leaves out the switched-off ones.
func ListTopics(ctx context.Context, tx pgx.Tx, spID int64, activeOnly bool) ([]Topic, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, labels, pictogram, prefix, active, position FROM topics
		WHERE service_point_id = $1 AND (active OR NOT $2) ORDER BY position, id`, spID, activeOnly)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Topic, error) {
		var t Topic
		err := r.Scan(&t.ID, &t.ServicePointID, &t.Labels, &t.Pictogram, &t.Prefix, &t.Active, &t.Position)
		return t, err
	})
}

// GetTopic reads one topic of a service point.
func GetTopic(ctx context.Context, tx pgx.Tx, spID, id int64) (Topic, error) {
	var t Topic
	err := tx.QueryRow(ctx, `SELECT id, service_point_id, labels, pictogram, prefix, active, position FROM topics
		WHERE id = $1 AND service_point_id = $2`, id, spID).
		Scan(&t.ID, &t.ServicePointID, &t.Labels, &t.Pictogram, &t.Prefix, &t.Active, &t.Position)
	return t, store.NotFound(err)
}

// SaveTopic inserts or updates a topic of a service point the actor manages.
func SaveTopic(ctx context.Context, tx pgx.Tx, actor auth.Principal, t *Topic) error {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(t.ServicePointID)); err != nil {
		return err
	}
	if t.ID == 0 {
		return tx.QueryRow(ctx, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix, active, position)
			VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id`,
			t.ServicePointID, t.Labels, t.Pictogram, t.Prefix, t.Active, t.Position).Scan(&t.ID)
	}
	return execOne(ctx, tx, `UPDATE topics SET labels = $3, pictogram = $4, prefix = $5, active = $6, position = $7
		WHERE id = $1 AND service_point_id = $2`, t.ID, t.ServicePointID, t.Labels, t.Pictogram, t.Prefix, t.Active, t.Position)
}

// Referral is a service a visitor can be referred to.
type Referral struct {
	ID, ServicePointID int64
	Names              Labels
	Active             bool
}

// ListReferrals lists a service point's referral services.
func ListReferrals(ctx context.Context, tx pgx.Tx, spID int64, activeOnly bool) ([]Referral, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, names, active FROM referral_services
		WHERE service_point_id = $1 AND (active OR NOT $2) ORDER BY position, id`, spID, activeOnly)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Referral, error) {
		var x Referral
		err := r.Scan(&x.ID, &x.ServicePointID, &x.Names, &x.Active)
		return x, err
	})
}

// GetReferral reads one referral service of a service point; another's is
// not found.
func GetReferral(ctx context.Context, tx pgx.Tx, spID, id int64) (Referral, error) {
	var x Referral
	err := tx.QueryRow(ctx, `SELECT id, service_point_id, names, active FROM referral_services WHERE id = $1 AND service_point_id = $2`, id, spID).
		Scan(&x.ID, &x.ServicePointID, &x.Names, &x.Active)
	return x, store.NotFound(err)
}

// SaveReferral inserts or updates a referral service of a service point
// the actor manages. A new one goes last in the list.
func SaveReferral(ctx context.Context, tx pgx.Tx, actor auth.Principal, x *Referral) error {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(x.ServicePointID)); err != nil {
		return err
	}
	if x.ID == 0 {
		return tx.QueryRow(ctx, `INSERT INTO referral_services (municipality_id, service_point_id, names, active, position)
			VALUES (koto_tenant(), $1, $2, $3, (SELECT coalesce(max(position), -1) + 1 FROM referral_services WHERE service_point_id = $1))
			RETURNING id`, x.ServicePointID, x.Names, x.Active).Scan(&x.ID)
	}
	return execOne(ctx, tx, `UPDATE referral_services SET names = $3, active = $4 WHERE id = $1 AND service_point_id = $2`,
		x.ID, x.ServicePointID, x.Names, x.Active)
}

func execOne(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// MarshalJSON keeps a nil Week from becoming null in the database.
func (w Week) MarshalJSON() ([]byte, error) {
	if w == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]Hours(w))
}

// String shows hours as 08:00–16:00.
func (h Hours) String() string { return fmt.Sprintf("%s–%s", h[0], h[1]) }
