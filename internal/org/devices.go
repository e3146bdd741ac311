package org

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
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

// CreateDevice adds an unpaired device.
func CreateDevice(ctx context.Context, tx pgx.Tx, spID int64, kind, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES (koto_tenant(), $1, $2, $3) RETURNING id`,
		spID, kind, name).Scan(&id)
	return id, err
}

// DeviceServicePoint tells which service point a device belongs to.
func DeviceServicePoint(ctx context.Context, tx pgx.Tx, id int64) (int64, error) {
	var sp int64
	err := tx.QueryRow(ctx, `SELECT service_point_id FROM devices WHERE id = $1`, id).Scan(&sp)
	return sp, err
}
