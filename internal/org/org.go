// Package org owns how a municipality is set up: its service points (with
// opening hours), desks, topics (reasons for a visit, labelled in every
// language), referral services, staff with their roles and languages, and
// the kiosk and display devices bound to a service point. Its Service opens
// its own transactions and checks who may change what; the plain read
// functions work inside a caller's tenant transaction.
package org

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/hours"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Labels maps a language code to text in that language.
type Labels map[string]string

// In returns the label in lang, else in the language a plain-language
// variant stands on (sv for sv-x-lattlast: the part before its private-use
// subtag), else Finnish, else English, else any.
func (l Labels) In(lang string) string {
	base, _, _ := strings.Cut(lang, "-x-")
	for _, k := range []string{lang, base, "fi", "en"} {
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

// ServicePoint is a physical office.
type ServicePoint struct {
	ID, Tenant        int64
	Slug              string
	Names             Labels
	TimeZone          string
	Hours             hours.Week
	TargetWaitMinutes int
	MaxRecalls        int
}

// Location loads the service point's time zone (Helsinki when unknown).
func (sp ServicePoint) Location() *time.Location { return Zone(sp.TimeZone) }

// Zone loads a service point's time zone by name, Helsinki's when the name
// is unknown: every service point of the portal is in Finland.
func Zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return helsinki
}

var helsinki = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		return time.UTC
	}
	return loc
}()

const spColumns = `id, municipality_id, slug, names, time_zone, opening_hours, target_wait_minutes, max_recalls`

func scanServicePoint(r sqldb.Row) (ServicePoint, error) {
	var sp ServicePoint
	err := r.Scan(&sp.ID, &sp.Tenant, &sp.Slug, &sp.Names, &sp.TimeZone, &sp.Hours, &sp.TargetWaitMinutes, &sp.MaxRecalls)
	return sp, sqldb.NotFound(err)
}

// GetServicePoint reads one service point.
func GetServicePoint(ctx context.Context, tx sqldb.Tx, id int64) (ServicePoint, error) {
	return scanServicePoint(tx.QueryRow(ctx, `SELECT `+spColumns+` FROM service_points WHERE id = $1`, id))
}

// GetServicePointBySlug reads a service point of the current tenant by its
// address name; another tenant's is not found.
func GetServicePointBySlug(ctx context.Context, tx sqldb.Tx, slug string) (ServicePoint, error) {
	return scanServicePoint(tx.QueryRow(ctx, `SELECT `+spColumns+` FROM service_points WHERE slug = $1`, slug))
}

// ListServicePoints lists the tenant's service points by slug.
func ListServicePoints(ctx context.Context, tx sqldb.Tx) ([]ServicePoint, error) {
	rows, err := tx.Query(ctx, `SELECT `+spColumns+` FROM service_points ORDER BY slug`)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (ServicePoint, error) { return scanServicePoint(r) })
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

// Desk is a place where a visitor is served.
type Desk struct {
	ID, ServicePointID int64
	Name               string
	Active             bool
}

// ListDesks lists a service point's desks.
func ListDesks(ctx context.Context, tx sqldb.Tx, spID int64) ([]Desk, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, name, active FROM desks WHERE service_point_id = $1 ORDER BY name`, spID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Desk, error) {
		var d Desk
		err := r.Scan(&d.ID, &d.ServicePointID, &d.Name, &d.Active)
		return d, err
	})
}

// ErrNameTaken is returned when a desk name repeats within a service point.
var ErrNameTaken = errors.New("org: name already in use")

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
func ListTopics(ctx context.Context, tx sqldb.Tx, spID int64, activeOnly bool) ([]Topic, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, labels, pictogram, prefix, active, position FROM topics
		WHERE service_point_id = $1 AND (active OR NOT $2) ORDER BY position, id`, spID, activeOnly)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Topic, error) {
		var t Topic
		err := r.Scan(&t.ID, &t.ServicePointID, &t.Labels, &t.Pictogram, &t.Prefix, &t.Active, &t.Position)
		return t, err
	})
}

// GetTopic reads one topic of a service point.
func GetTopic(ctx context.Context, tx sqldb.Tx, spID, id int64) (Topic, error) {
	var t Topic
	err := tx.QueryRow(ctx, `SELECT id, service_point_id, labels, pictogram, prefix, active, position FROM topics
		WHERE id = $1 AND service_point_id = $2`, id, spID).
		Scan(&t.ID, &t.ServicePointID, &t.Labels, &t.Pictogram, &t.Prefix, &t.Active, &t.Position)
	return t, sqldb.NotFound(err)
}

// Referral is a service a visitor can be referred to.
type Referral struct {
	ID, ServicePointID int64
	Names              Labels
	Active             bool
}

// ListReferrals lists a service point's referral services.
func ListReferrals(ctx context.Context, tx sqldb.Tx, spID int64, activeOnly bool) ([]Referral, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, names, active FROM referral_services
		WHERE service_point_id = $1 AND (active OR NOT $2) ORDER BY position, id`, spID, activeOnly)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Referral, error) {
		var x Referral
		err := r.Scan(&x.ID, &x.ServicePointID, &x.Names, &x.Active)
		return x, err
	})
}

func execOne(ctx context.Context, tx sqldb.Tx, sql string, args ...any) error {
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return sqldb.ErrNotFound
	}
	return nil
}
