package org

import (
	"context"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/sqldb"
)

// DeviceRow is a kiosk or display as the set-up screen lists it.
type DeviceRow struct {
	ID, ServicePointID int64
	Kind, Name         string
	PairExpires        *time.Time
	PairedAt           *time.Time
	RevokedAt          *time.Time
}

// Paired tells whether the device holds a working credential.
func (d DeviceRow) Paired() bool { return d.PairedAt != nil && d.RevokedAt == nil }

// Pairing is the part of auth.Service that hands out and ends device
// credentials; org decides who may ask for it, auth how it is done.
type Pairing interface {
	IssuePairCode(ctx context.Context, tx sqldb.Tx, deviceID int64) (string, error)
	Revoke(ctx context.Context, tx sqldb.Tx, deviceID int64) error
}

// ErrBadKind is returned for a device kind other than kiosk or display.
var ErrBadKind = errors.New("org: unknown device kind")

// Devices is a service point with its kiosks and displays.
type Devices struct {
	ServicePoint ServicePoint
	Devices      []DeviceRow
}

// NewCode is a pairing code just made: shown once, stored only hashed.
type NewCode struct {
	DeviceID int64
	Code     string
}

// Devices lists the kiosks and displays of a service point the actor
// manages.
func (s *Service) Devices(ctx context.Context, actor auth.Principal, slug string) (Devices, error) {
	return s.changeDevices(ctx, actor, slug, nil)
}

// CreateDevice adds a device to a service point the actor manages and
// gives it its first pairing code.
func (s *Service) CreateDevice(ctx context.Context, actor auth.Principal, slug, kind, name string) (Devices, NewCode, error) {
	if kind != auth.KindKiosk && kind != auth.KindDisplay {
		return Devices{}, NewCode{}, ErrBadKind
	}
	var code NewCode
	out, err := s.changeDevices(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		err := tx.QueryRow(ctx, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES (koto_tenant(), $1, $2, $3) RETURNING id`,
			sp.ID, kind, name).Scan(&code.DeviceID)
		if err != nil {
			return err
		}
		code.Code, err = s.pairing.IssuePairCode(ctx, tx, code.DeviceID)
		return err
	})
	return out, code, err
}

// IssueDeviceCode gives a device of a service point the actor manages a
// fresh one-time pairing code; the device's old credential stops working.
func (s *Service) IssueDeviceCode(ctx context.Context, actor auth.Principal, slug string, deviceID int64) (Devices, NewCode, error) {
	code := NewCode{DeviceID: deviceID}
	out, err := s.changeDevices(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		if err := ownDevice(ctx, tx, sp.ID, deviceID); err != nil {
			return err
		}
		var err error
		code.Code, err = s.pairing.IssuePairCode(ctx, tx, deviceID)
		return err
	})
	return out, code, err
}

// RevokeDevice ends the credential and any pending code of a device of a
// service point the actor manages.
func (s *Service) RevokeDevice(ctx context.Context, actor auth.Principal, slug string, deviceID int64) error {
	return s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		if err := ownDevice(ctx, tx, sp.ID, deviceID); err != nil {
			return err
		}
		if err := s.pairing.Revoke(ctx, tx, deviceID); err != nil {
			return err
		}
		// The database announces a credential's end itself, but a device
		// that never had one (the demo's) is refused from now on too.
		return live.End(ctx, tx, live.DeviceKey(deviceID))
	})
}

// changeDevices runs change (when not nil) on a service point the actor
// manages, then lists its devices as they now are.
func (s *Service) changeDevices(ctx context.Context, actor auth.Principal, slug string, change func(tx sqldb.Tx, sp ServicePoint) error) (Devices, error) {
	var out Devices
	err := s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		if change != nil {
			if err := change(tx, sp); err != nil {
				return err
			}
		}
		out.ServicePoint = sp
		rows, err := tx.Query(ctx, `SELECT id, service_point_id, kind, name, pair_expires_at, paired_at, revoked_at FROM devices
			WHERE service_point_id = $1 ORDER BY kind, name, id`, sp.ID)
		if err != nil {
			return err
		}
		out.Devices, err = sqldb.CollectRows(rows, func(r sqldb.Row) (DeviceRow, error) {
			var d DeviceRow
			err := r.Scan(&d.ID, &d.ServicePointID, &d.Kind, &d.Name, &d.PairExpires, &d.PairedAt, &d.RevokedAt)
			return d, err
		})
		return err
	})
	return out, err
}

// ownDevice confirms the device is one of the service point's: a device
// of another service point is not found.
func ownDevice(ctx context.Context, tx sqldb.Tx, spID, deviceID int64) error {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM devices WHERE id = $1 AND service_point_id = $2)`, deviceID, spID).Scan(&ok)
	if err == nil && !ok {
		return sqldb.ErrNotFound
	}
	return err
}
