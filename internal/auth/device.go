package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// PairCodeLifetime is how long a pairing code shown to a lead works.
const PairCodeLifetime = 10 * time.Minute

// Device kinds.
const (
	KindKiosk   = "kiosk"
	KindDisplay = "display"
)

// Device is a paired kiosk or display.
type Device struct {
	ID, Tenant, ServicePointID int64
	Kind, Name, ServicePoint   string // ServicePoint is the slug
}

// NewPairCode makes a code of eight digits, shown as 1234-5678: easy to
// type on a touch screen, and with attempts limited per client, hard to guess
// in ten minutes.
func NewPairCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err)
	}
	s := fmt.Sprintf("%08d", n.Int64())
	return s[:4] + "-" + s[4:]
}

// NormalizePairCode keeps the digits of what was typed.
func NormalizePairCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if len(d) != 8 {
		return ""
	}
	return d[:4] + "-" + d[4:]
}

// IssuePairCode gives a device (new or re-paired) a fresh code; its old
// credential stops working, since the device is being paired anew.
func (s *Service) IssuePairCode(ctx context.Context, tx sqldb.Tx, deviceID int64) (string, error) {
	code := NewPairCode()
	tag, err := tx.Exec(ctx, `UPDATE devices SET pair_code_hash = $2, pair_expires_at = $3, token_hash = NULL, revoked_at = NULL
		WHERE id = $1`, deviceID, Hash(code), s.now().Add(PairCodeLifetime))
	if err != nil {
		return "", err
	}
	if tag.RowsAffected() == 0 {
		return "", sqldb.ErrNotFound
	}
	return code, nil
}

// Pair exchanges a pairing code typed on a device of the given kind for the
// device's long-lived credential. The code works once.
func (s *Service) Pair(ctx context.Context, code, kind, clientKey string) (token string, d Device, err error) {
	keys := []throttleKey{{"pair:" + clientKey, pairRule}}
	if err := s.countAttempt(ctx, keys); err != nil {
		return "", d, err
	}
	code = NormalizePairCode(code)
	var tenant *int64
	if code != "" {
		if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
			return tx.QueryRow(ctx, `SELECT koto_pair_code_tenant($1)`, Hash(code)).Scan(&tenant)
		}); err != nil {
			return "", d, err
		}
	}
	if tenant == nil {
		return "", d, ErrBadPairCode
	}
	token = NewToken()
	err = s.db.InTenant(ctx, *tenant, func(tx sqldb.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE devices d SET token_hash = $2, paired_at = $3, pair_code_hash = NULL, pair_expires_at = NULL
			FROM service_points sp
			WHERE d.pair_code_hash = $1 AND d.kind = $4 AND d.pair_expires_at > $3 AND sp.id = d.service_point_id
			RETURNING d.id, d.municipality_id, d.service_point_id, d.kind, d.name, sp.slug`,
			Hash(code), Hash(token), s.now(), kind).Scan(&d.ID, &d.Tenant, &d.ServicePointID, &d.Kind, &d.Name, &d.ServicePoint)
		return err
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return "", Device{}, ErrBadPairCode
	} else if err != nil {
		return "", Device{}, err
	}
	return token, d, s.forgive(ctx, keys)
}

// DeviceByToken finds the paired, unrevoked device holding a credential.
func (s *Service) DeviceByToken(ctx context.Context, token string) (Device, error) {
	var d Device
	if token == "" || len(token) > 100 {
		return d, ErrNoSession
	}
	h := Hash(token)
	var tenant *int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_device_tenant($1)`, h).Scan(&tenant)
	}); err != nil {
		return d, err
	}
	if tenant == nil {
		return d, ErrNoSession
	}
	err := s.db.InTenant(ctx, *tenant, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT d.id, d.municipality_id, d.service_point_id, d.kind, d.name, sp.slug
			FROM devices d JOIN service_points sp ON sp.id = d.service_point_id
			WHERE d.token_hash = $1 AND d.revoked_at IS NULL`, h).
			Scan(&d.ID, &d.Tenant, &d.ServicePointID, &d.Kind, &d.Name, &d.ServicePoint)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return d, ErrNoSession
	}
	return d, err
}

// Revoke ends a device's credential and any pending code.
func (s *Service) Revoke(ctx context.Context, tx sqldb.Tx, deviceID int64) error {
	tag, err := tx.Exec(ctx, `UPDATE devices SET revoked_at = $2, token_hash = NULL, pair_code_hash = NULL, pair_expires_at = NULL
		WHERE id = $1`, deviceID, s.now())
	if err == nil && tag.RowsAffected() == 0 {
		return sqldb.ErrNotFound
	}
	return err
}
