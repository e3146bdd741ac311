package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Account is what a staff member's own account page shows.
type Account struct {
	Principal
	HasPassword          bool // false: the account signs in through the municipality's provider
	SecondFactorRequired bool
	TOTP                 bool
	Passkeys             []Passkey
	RecoveryCodesLeft    int
	Sessions             []SessionInfo
}

// Passkey is one registered WebAuthn credential.
type Passkey struct {
	ID       int64
	Name     string
	Created  time.Time
	LastUsed *time.Time
}

// SessionInfo is one of the account's signed-in sessions.
type SessionInfo struct {
	Current  bool
	Browser  string
	Created  time.Time
	LastSeen time.Time
}

// Account reads the signed-in staff member's own account.
func (s *Service) Account(ctx context.Context, sess Session) (Account, error) {
	p := sess.Principal
	a := Account{Principal: p}
	err := s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT s.password_hash <> '',
				coalesce((SELECT second_factor_required FROM signin_settings), false) AND EXISTS (SELECT FROM staff_roles WHERE staff_id = s.id),
				EXISTS (SELECT FROM totp_factors WHERE staff_id = s.id AND confirmed_at IS NOT NULL),
				(SELECT count(*) FROM recovery_codes WHERE staff_id = s.id AND used_at IS NULL)
			FROM staff s WHERE s.id = $1`, p.StaffID).Scan(&a.HasPassword, &a.SecondFactorRequired, &a.TOTP, &a.RecoveryCodesLeft); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, name, created_at, last_used_at FROM webauthn_credentials WHERE staff_id = $1 ORDER BY created_at, id`, p.StaffID)
		if err != nil {
			return err
		}
		if a.Passkeys, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Passkey, error) {
			var k Passkey
			return k, r.Scan(&k.ID, &k.Name, &k.Created, &k.LastUsed)
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id_hash = $2, user_agent, created_at, last_seen_at FROM sessions
			WHERE staff_id = $1 AND stage = 'full' AND expires_at > $3 AND last_seen_at > $4 ORDER BY last_seen_at DESC`,
			p.StaffID, Hash(sess.Token), s.now(), s.now().Add(-IdleTimeout))
		if err != nil {
			return err
		}
		a.Sessions, err = sqldb.CollectRows(rows, func(r sqldb.Row) (SessionInfo, error) {
			var i SessionInfo
			return i, r.Scan(&i.Current, &i.Browser, &i.Created, &i.LastSeen)
		})
		return err
	})
	return a, err
}

// ChangePassword sets a new password when the current one is right. Every
// other session of the account ends: whoever else held the old password
// is out. Wrong current passwords count against the account like failed
// sign-ins.
func (s *Service) ChangePassword(ctx context.Context, sess Session, current, next, clientKey string) error {
	p := sess.Principal
	if sess.Stage != StageFull {
		return ErrForbidden
	}
	release, err := s.hashSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	account := fmt.Sprintf("acct:%x", Hash(strings.ToLower(p.Email)))
	keys := []throttleKey{{account, accountRule}, {account + ":" + clientKey, accountClientRule}}
	if err := s.countAttempt(ctx, keys); err != nil {
		return err
	}
	var old string
	if err := s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, true); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT password_hash FROM staff WHERE id = $1`, p.StaffID).Scan(&old)
	}); err != nil {
		return err
	}
	if old == "" {
		return ErrNoPassword
	}
	if ok, err := s.compare(current, old); err != nil || !ok {
		s.logFailure(ctx, Staff{ID: p.StaffID, Tenant: p.Tenant}, PurposePassword)
		return ErrBadCredentials
	}
	if err := s.forgive(ctx, keys); err != nil {
		return err
	}
	// Hashed in the slot, and only once the current password is right: a
	// wrong guess costs no second 64 MiB, and the slots' memory cap holds.
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	return s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		// Only the hash read above is replaced: of two changes racing,
		// the second finds the hash moved and fails as a wrong password.
		n, err := tx.Exec(ctx, `UPDATE staff SET password_hash = $2 WHERE id = $1 AND password_hash = $3`, p.StaffID, hash, old)
		if err != nil {
			return err
		}
		if n.RowsAffected() != 1 {
			return ErrBadCredentials
		}
		if err := endOtherSessions(ctx, tx, p.StaffID, sess.Token); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionUpdate, PurposePassword)
	})
}

func endOtherSessions(ctx context.Context, tx sqldb.Tx, staffID int64, keep string) error {
	_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1 AND id_hash <> $2`, staffID, Hash(keep))
	return err
}

// EndOtherSessions signs the account out everywhere but here.
func (s *Service) EndOtherSessions(ctx context.Context, sess Session) error {
	p := sess.Principal
	return s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull); err != nil {
			return err
		}
		if err := endOtherSessions(ctx, tx, p.StaffID, sess.Token); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionDelete, PurposeSessions)
	})
}

// SetLanguage sets the language the portal speaks to the account holder;
// the caller has checked that the portal has it.
func (s *Service) SetLanguage(ctx context.Context, sess Session, code string) error {
	p := sess.Principal
	return s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE staff SET locale = $2 WHERE id = $1`, p.StaffID, code); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionUpdate, PurposeLanguage)
	})
}
