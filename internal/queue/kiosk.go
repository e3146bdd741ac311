package queue

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/store"
)

// Kiosk names the kiosk a tap comes from, as the web layer knows it: the
// service point in the address and the device's credential, or in demo
// mode (no credential at all) the demo kiosk's name. A kiosk paired to
// another service point is not recognised at this one.
type Kiosk struct {
	Slug     string
	Token    string // the device's credential; empty: none was sent
	DemoName string // with no credential: the demo kiosk to act as ("" outside demo mode)
}

// Place is what a kiosk screen shows of its service point.
type Place struct {
	ID       int64
	Slug     string
	Names    org.Labels
	Location *time.Location
}

func (sp servicePoint) place() Place {
	return Place{ID: sp.id, Slug: sp.slug, Names: sp.names, Location: sp.loc}
}

// Topic is a topic as a kiosk's screens show it.
type Topic struct {
	ID        int64
	Labels    org.Labels
	Pictogram string
}

// Screen is what a kiosk's screens before the tap show: the service point,
// whether it is open (and when it opens next), and its active topics.
type Screen struct {
	Place
	Open    bool
	OpensAt *time.Time // next opening when closed; nil when no hours are set
	Topics  []Topic    // in kiosk order
}

// KioskScreen reads a kiosk's screen in one transaction.
func (s *Service) KioskScreen(ctx context.Context, k Kiosk) (Screen, error) {
	lookup, arg, err := k.tenantLookup()
	if err != nil {
		return Screen{}, err
	}
	var out Screen
	err = s.db.InTenantOf(ctx, lookup, arg, func(tx pgx.Tx) error {
		sp, _, err := s.kioskAt(ctx, tx, k, false)
		if err != nil {
			return err
		}
		out.Place = sp.place()
		out.Open, out.OpensAt = sp.opening(s.clock().In(sp.loc))
		rows, err := tx.Query(ctx, `SELECT id, labels, pictogram FROM topics
			WHERE service_point_id = $1 AND active ORDER BY position, id`, sp.id)
		if err != nil {
			return err
		}
		out.Topics, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Topic, error) {
			var t Topic
			err := r.Scan(&t.ID, &t.Labels, &t.Pictogram)
			return t, err
		})
		return err
	})
	if err != nil {
		return Screen{}, noKiosk(err)
	}
	return out, nil
}

// tenantLookup is how a kiosk's tenant is found before any is set: by the
// credential, or for the demo kiosk by the service point's address.
func (k Kiosk) tenantLookup() (string, any, error) {
	switch {
	case k.Token != "":
		return `SELECT koto_device_tenant($1)`, auth.Hash(k.Token), nil
	case k.DemoName != "":
		return `SELECT municipality_id FROM koto_service_point_tenant($1)`, k.Slug, nil
	}
	return "", nil, ErrUnknownDevice
}

// noKiosk reads "the credential belongs to no tenant" as what it means here.
func noKiosk(err error) error {
	if errors.Is(err, store.ErrNoTenant) {
		return ErrUnknownDevice
	}
	return err
}

// kioskAt reads the kiosk and its service point, locking the device row
// when lock is set.
func (s *Service) kioskAt(ctx context.Context, tx pgx.Tx, k Kiosk, lock bool) (servicePoint, int64, error) {
	forUpdate := ""
	if lock {
		forUpdate = " FOR NO KEY UPDATE OF d"
	}
	var token []byte
	if k.Token != "" {
		token = auth.Hash(k.Token)
	}
	var sp servicePoint
	var deviceID int64
	var zone string
	var hours []byte
	err := tx.QueryRow(ctx, `
		SELECT d.id, sp.id, sp.municipality_id, sp.slug, sp.names, sp.time_zone, sp.opening_hours, sp.max_recalls
		FROM devices d JOIN service_points sp ON sp.id = d.service_point_id
		WHERE sp.slug = $1 AND d.kind = 'kiosk' AND d.revoked_at IS NULL
		  AND CASE WHEN $2::bytea IS NULL THEN d.name = $3 ELSE d.token_hash = $2 END`+forUpdate,
		k.Slug, token, k.DemoName).Scan(&deviceID, &sp.id, &sp.tenant, &sp.slug, &sp.names, &zone, &hours, &sp.maxRecalls)
	if errors.Is(err, pgx.ErrNoRows) {
		return sp, 0, ErrUnknownDevice
	}
	if err != nil {
		return sp, 0, err
	}
	sp, err = s.readyServicePoint(sp, zone, hours)
	return sp, deviceID, err
}
