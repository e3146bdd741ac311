package queue

import (
	"context"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Device names a kiosk or waiting-room display as the web layer knows it:
// its kind, the service point in the address and the device's credential,
// or in demo mode (no credential at all) the demo device's name. A device
// paired to another service point is not recognised at this one.
type Device struct {
	Kind     string // auth.KindKiosk or auth.KindDisplay
	Slug     string
	Token    string // the device's credential; empty: none was sent
	DemoName string // with no credential: the demo device to act as ("" outside demo mode)
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
	// Version names the set-up the screen was read from while the kiosk
	// cache holds it: until it changes, the device, its place, hours and
	// topics are what they were, so what is drawn from them alone may be
	// kept. 0: read past the cache, keep nothing.
	Version uint64
}

// KioskScreen reads a kiosk's screen: from the kiosk cache when it holds
// the device, else in one transaction. Open or closed is worked out from
// the hours now, whichever it was.
func (s *Service) KioskScreen(ctx context.Context, k Device) (Screen, error) {
	key := k.cacheKey()
	e, gen, ok := s.kiosks.get(key)
	if !ok {
		err := s.atDevice(ctx, k, func(tx sqldb.Tx, sp servicePoint, deviceID int64) error {
			e = kioskEntry{deviceID: deviceID, sp: sp}
			var err error
			e.topics, err = topics(ctx, tx, sp.id, true)
			return err
		})
		if err != nil {
			return Screen{}, err
		}
		e.version = s.kiosks.put(key, gen, e)
	}
	out := Screen{Place: e.sp.place(), Topics: e.topics, Version: e.version}
	out.Open, out.OpensAt = e.sp.opening(s.clock().In(e.sp.loc))
	return out, nil
}

// atDevice runs fn in one transaction with the device's tenant set, once
// the device and its service point are found.
func (s *Service) atDevice(ctx context.Context, d Device, fn func(tx sqldb.Tx, sp servicePoint, deviceID int64) error) error {
	return s.inDeviceTenant(ctx, d, func(tx sqldb.Tx) error {
		sp, deviceID, err := s.deviceAt(ctx, tx, d, false)
		if err != nil {
			return err
		}
		return fn(tx, sp, deviceID)
	})
}

// inDeviceTenant runs fn in a transaction with the device's tenant set;
// fn must find the device itself (deviceAt). While the kiosk cache holds
// the device, its tenant is known and set with the BEGIN; else it is
// looked up by the credential, through a SECURITY DEFINER function in a
// round trip of its own, which was a sixth of the database's work for a
// kiosk's ticket. An entry out of date can only make fn find no device,
// and then the lookup decides.
func (s *Service) inDeviceTenant(ctx context.Context, d Device, fn func(tx sqldb.Tx) error) error {
	if e, _, ok := s.kiosks.get(d.cacheKey()); ok {
		if err := s.db.InTenant(ctx, e.sp.tenant, fn); !errors.Is(err, ErrUnknownDevice) {
			return err
		}
	}
	lookup, arg, err := d.tenantLookup()
	if err != nil {
		return err
	}
	return noKiosk(s.db.InTenantOf(ctx, lookup, arg, fn))
}

// topics lists a service point's topics in kiosk order, only the active
// ones or all (a ticket may carry one switched off since).
func topics(ctx context.Context, tx sqldb.Tx, spID int64, activeOnly bool) ([]Topic, error) {
	rows, err := tx.Query(ctx, `SELECT id, labels, pictogram FROM topics
		WHERE service_point_id = $1 AND (active OR NOT $2) ORDER BY position, id`, spID, activeOnly)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Topic, error) {
		var t Topic
		err := r.Scan(&t.ID, &t.Labels, &t.Pictogram)
		return t, err
	})
}

// Display is what a waiting-room display shows: its service point, the
// queue, and every topic (a ticket may carry one switched off since).
type Display struct {
	Place
	State
	Topics []Topic
}

// DisplayScreen reads a display's screen in one transaction.
func (s *Service) DisplayScreen(ctx context.Context, d Device) (Display, error) {
	var out Display
	err := s.atDevice(ctx, d, func(tx sqldb.Tx, sp servicePoint, _ int64) error {
		out.Place = sp.place()
		var err error
		if out.State, err = s.snapshot(ctx, tx, sp); err != nil {
			return err
		}
		out.Topics, err = topics(ctx, tx, sp.id, false)
		return err
	})
	if err != nil {
		return Display{}, err
	}
	return out, nil
}

// tenantLookup is how a device's tenant is found before any is set: by the
// credential, or for the demo kiosk by the service point's address.
func (k Device) tenantLookup() (string, any, error) {
	switch {
	case k.Token != "":
		return `SELECT koto_device_tenant($1)`, auth.Hash(k.Token), nil
	case k.DemoName != "":
		return `SELECT municipality_id FROM koto_service_point_tenant($1)`, k.Slug, nil
	}
	return "", nil, ErrUnknownDevice
}

// noKiosk reads "the credential belongs to no tenant" as what it means
// here: not a paired device.
func noKiosk(err error) error {
	if errors.Is(err, sqldb.ErrNoTenant) {
		return ErrUnknownDevice
	}
	return err
}

// deviceAt reads the device and its service point, locking the device row
// when lock is set.
func (s *Service) deviceAt(ctx context.Context, tx sqldb.Tx, k Device, lock bool) (servicePoint, int64, error) {
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
		WHERE sp.slug = $1 AND d.kind = $4 AND d.revoked_at IS NULL
		  AND CASE WHEN $2::bytea IS NULL THEN d.name = $3 ELSE d.token_hash = $2 END`+forUpdate,
		k.Slug, token, k.DemoName, k.Kind).Scan(&deviceID, &sp.id, &sp.tenant, &sp.slug, &sp.names, &zone, &hours, &sp.maxRecalls)
	if errors.Is(err, sqldb.ErrNoRows) {
		return sp, 0, ErrUnknownDevice
	}
	if err != nil {
		return sp, 0, err
	}
	sp, err = s.readyServicePoint(sp, zone, hours)
	return sp, deviceID, err
}
