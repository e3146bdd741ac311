package org

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/store"
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

// ListDevices lists a service point's devices.
func ListDevices(ctx context.Context, tx pgx.Tx, spID int64) ([]DeviceRow, error) {
	rows, err := tx.Query(ctx, `SELECT id, service_point_id, kind, name, pair_expires_at, paired_at, revoked_at FROM devices
		WHERE service_point_id = $1 ORDER BY kind, name, id`, spID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeviceRow, error) {
		var d DeviceRow
		err := r.Scan(&d.ID, &d.ServicePointID, &d.Kind, &d.Name, &d.PairExpires, &d.PairedAt, &d.RevokedAt)
		return d, err
	})
}

// Pairing is the part of auth.Service that hands out and ends device
// credentials; org decides who may ask for it, auth how it is done.
type Pairing interface {
	IssuePairCode(ctx context.Context, tx pgx.Tx, deviceID int64) (string, error)
	Revoke(ctx context.Context, tx pgx.Tx, deviceID int64) error
}

// ErrBadKind is returned for a device kind other than kiosk or display.
var ErrBadKind = errors.New("org: unknown device kind")

// CreateDevice adds an unpaired device to a service point the actor manages.
func CreateDevice(ctx context.Context, tx pgx.Tx, actor auth.Principal, spID int64, kind, name string) (int64, error) {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(spID)); err != nil {
		return 0, err
	}
	if kind != auth.KindKiosk && kind != auth.KindDisplay {
		return 0, ErrBadKind
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES (koto_tenant(), $1, $2, $3) RETURNING id`,
		spID, kind, name).Scan(&id)
	return id, err
}

// GetDevice reads one device of a service point; a device of another
// service point is not found.
func GetDevice(ctx context.Context, tx pgx.Tx, spID, id int64) (DeviceRow, error) {
	var d DeviceRow
	err := tx.QueryRow(ctx, `SELECT id, service_point_id, kind, name, pair_expires_at, paired_at, revoked_at FROM devices
		WHERE id = $1 AND service_point_id = $2`, id, spID).
		Scan(&d.ID, &d.ServicePointID, &d.Kind, &d.Name, &d.PairExpires, &d.PairedAt, &d.RevokedAt)
	return d, store.NotFound(err)
}

// IssueDeviceCode gives a device of a service point the actor manages a
// fresh one-time pairing code; the device's old credential stops working.
func IssueDeviceCode(ctx context.Context, tx pgx.Tx, actor auth.Principal, p Pairing, spID, deviceID int64) (string, error) {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(spID)); err != nil {
		return "", err
	}
	if _, err := GetDevice(ctx, tx, spID, deviceID); err != nil {
		return "", err
	}
	code, err := p.IssuePairCode(ctx, tx, deviceID)
	return code, store.NotFound(err)
}

// RevokeDevice ends the credential and any pending code of a device of a
// service point the actor manages.
func RevokeDevice(ctx context.Context, tx pgx.Tx, actor auth.Principal, p Pairing, spID, deviceID int64) error {
	if err := auth.Authorize(ctx, tx, actor, actor.CanManage(spID)); err != nil {
		return err
	}
	if _, err := GetDevice(ctx, tx, spID, deviceID); err != nil {
		return err
	}
	return store.NotFound(p.Revoke(ctx, tx, deviceID))
}
