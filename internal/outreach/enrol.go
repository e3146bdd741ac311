package outreach

import (
	"context"
	"errors"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// CreateEnrolment makes a one-time link that binds one phone to the
// client, valid for EnrolmentLifetime. Its secret is returned once and
// stored only hashed.
func (s *Service) CreateEnrolment(ctx context.Context, actor auth.Principal, clientID int64) (Enrolment, error) {
	var e Enrolment
	err := s.asStaff(ctx, actor, clientID, audit.ActionCreate, func(tx sqldb.Tx, c client) error {
		token, hash := newSecret()
		e = Enrolment{Token: token, ExpiresAt: s.clock().Add(EnrolmentLifetime),
			FirstNames: c.firstNames, ClientName: c.name, Language: c.language, TimeZone: c.timeZone}
		_, err := tx.Exec(ctx, `INSERT INTO client_enrolments (municipality_id, client_id, token_hash, created_by, created_at, expires_at)
			VALUES (koto_tenant(), $1, $2, $3, $4, $5)`,
			c.id, hash, actor.StaffID, s.clock(), e.ExpiresAt)
		return err
	})
	return e, err
}

// RevokeEnrolments ends every unused enrolment link of the client, for a
// letter that went astray.
func (s *Service) RevokeEnrolments(ctx context.Context, actor auth.Principal, clientID int64) error {
	return s.asStaff(ctx, actor, clientID, audit.ActionUpdate, func(tx sqldb.Tx, c client) error {
		_, err := tx.Exec(ctx, `UPDATE client_enrolments SET revoked_at = $2
			WHERE client_id = $1 AND used_at IS NULL AND revoked_at IS NULL`, c.id, s.clock())
		return err
	})
}

// Devices lists the client's phones, the newest first, removed ones too.
func (s *Service) Devices(ctx context.Context, actor auth.Principal, clientID int64) ([]Device, error) {
	var out []Device
	err := s.asStaff(ctx, actor, clientID, audit.ActionRead, func(tx sqldb.Tx, c client) error {
		var err error
		out, err = devices(ctx, tx, c.id, "DESC")
		return err
	})
	return out, err
}

// RevokeDevice lets one of the client's phones go: its credential stops
// opening the client's page and nothing more is sent to it.
func (s *Service) RevokeDevice(ctx context.Context, actor auth.Principal, clientID, deviceID int64) error {
	return s.asStaff(ctx, actor, clientID, audit.ActionUpdate, func(tx sqldb.Tx, c client) error {
		tag, err := tx.Exec(ctx, `UPDATE client_devices SET revoked_at = $3, revoked_by = 'staff', push_subscription = NULL
			WHERE id = $1 AND client_id = $2 AND revoked_at IS NULL`, deviceID, c.id, s.clock())
		if err == nil && tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return err
	})
}

// Enrol binds the phone that opened an enrolment link to its client and
// returns the phone's credential. The link works once; a client with
// MaxDevices phones already lets the longest unseen one go.
func (s *Service) Enrol(ctx context.Context, token string) (credential string, err error) {
	hash, err := parseSecret(token)
	if err != nil {
		return "", err
	}
	err = s.db.InTenantOf(ctx, `SELECT koto_enrolment_tenant($1)`, hash, func(tx sqldb.Tx) error {
		var id, clientID int64
		var used, expired, erased bool
		err := tx.QueryRow(ctx, `SELECT e.id, e.client_id, e.used_at IS NOT NULL OR e.revoked_at IS NOT NULL, e.expires_at <= $2,
			c.erased_at IS NOT NULL
			FROM client_enrolments e JOIN clients c ON c.id = e.client_id WHERE e.token_hash = $1 FOR UPDATE OF e`,
			hash, s.clock()).Scan(&id, &clientID, &used, &expired, &erased)
		switch {
		case err != nil:
			return sqldb.NotFound(err)
		case used:
			return ErrLinkUsed
		case expired:
			return ErrLinkExpired
		case erased:
			return ErrClientErased
		}
		now := s.clock()
		if _, err := tx.Exec(ctx, `UPDATE client_enrolments SET used_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		// The oldest phones beyond the cap go, so a client who changes
		// phones now and then never gets stuck.
		if _, err := tx.Exec(ctx, `UPDATE client_devices SET revoked_at = $2, revoked_by = 'staff', push_subscription = NULL
			WHERE id IN (SELECT id FROM client_devices WHERE client_id = $1 AND revoked_at IS NULL
			             ORDER BY last_seen_at DESC, id DESC OFFSET $3)`, clientID, now, MaxDevices-1); err != nil {
			return err
		}
		var cred []byte
		credential, cred = newSecret()
		_, err = tx.Exec(ctx, `INSERT INTO client_devices (municipality_id, client_id, enrolment_id, credential_hash, created_at, last_seen_at)
			VALUES (koto_tenant(), $1, $2, $3, $4, $4)`, clientID, id, cred, now)
		return err
	})
	if errors.Is(err, sqldb.ErrNoTenant) {
		return "", ErrNotFound
	}
	return credential, err
}
