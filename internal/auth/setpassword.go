package auth

import (
	"context"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Validity of password links. An operator's link to the first admin may
// wait a working day for its reader; later links are the caller's choice.
const FirstAdminLinkValidity = 24 * time.Hour

// PurposePassword is the access-log purpose of a staff member setting
// their own password.
const PurposePassword = "password"

// Why a password link does not open. Each has its own message, so that a
// person knows whether to ask for a new link or simply to sign in.
var (
	ErrLinkUnknown = errors.New("auth: unknown password link")
	ErrLinkExpired = errors.New("auth: password link has expired")
	ErrLinkUsed    = errors.New("auth: password link was already used")
)

// PasswordLink is the account a valid link sets the password of.
type PasswordLink struct {
	Tenant, StaffID     int64
	Email, Name, Locale string
	Expires             time.Time
}

// IssuePasswordLink makes a one-time link for staffID, valid until expires,
// in the caller's transaction (so the link exists exactly when what asked
// for it committed). An unused earlier link of the account stops working:
// only the newest one handed out is valid. The returned secret goes into
// the link and is never stored.
func IssuePasswordLink(ctx context.Context, tx sqldb.Tx, tenant, staffID int64, expires time.Time) (string, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM password_links WHERE staff_id = $1 AND used_at IS NULL`, staffID); err != nil {
		return "", err
	}
	token := NewToken()
	_, err := tx.Exec(ctx, `INSERT INTO password_links (id_hash, municipality_id, staff_id, expires_at) VALUES ($1, $2, $3, $4)`,
		Hash(token), tenant, staffID, expires)
	return token, err
}

// OpenPasswordLink tells whose password a link sets, without using it.
func (s *Service) OpenPasswordLink(ctx context.Context, token string) (PasswordLink, error) {
	tenant, err := s.passwordLinkTenant(ctx, token)
	if err != nil {
		return PasswordLink{}, err
	}
	var link PasswordLink
	err = s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		link, err = s.readPasswordLink(ctx, tx, tenant, token, false)
		return err
	})
	return link, err
}

// SetPasswordByLink sets the account's password through a link, uses the
// link up, ends every session the account had (whoever held the old
// password is out), records the change in the access log, and starts a new
// session for the person at the browser. previousSession is whatever
// session cookie the browser brought; it is ended too.
func (s *Service) SetPasswordByLink(ctx context.Context, token, password, previousSession string) (Session, error) {
	// Checked before hashing, so that a made-up link costs no hashing work.
	link, err := s.OpenPasswordLink(ctx, token)
	if err != nil {
		return Session{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return Session{}, err
	}
	err = s.db.InTenant(ctx, link.Tenant, func(tx sqldb.Tx) error {
		// Read again under a lock: of two submissions racing, one wins.
		if _, err := s.readPasswordLink(ctx, tx, link.Tenant, token, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE staff SET password_hash = $2 WHERE id = $1`, link.StaffID, hash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE password_links SET used_at = $2 WHERE id_hash = $1`, Hash(token), s.now()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1`, link.StaffID); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Tenant: link.Tenant, StaffID: link.StaffID, SubjectKind: "staff",
			SubjectID: link.StaffID, Action: audit.ActionUpdate, Purpose: PurposePassword, Result: audit.ResultOK})
	})
	if err != nil {
		return Session{}, err
	}
	return s.Login(ctx, Staff{ID: link.StaffID, Tenant: link.Tenant}, previousSession)
}

// passwordLinkTenant finds the municipality of a link from its secret.
func (s *Service) passwordLinkTenant(ctx context.Context, token string) (int64, error) {
	if token == "" || len(token) > 100 {
		return 0, ErrLinkUnknown
	}
	var tenant *int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_password_link_tenant($1)`, Hash(token)).Scan(&tenant)
	}); err != nil {
		return 0, err
	}
	if tenant == nil {
		return 0, ErrLinkUnknown
	}
	return *tenant, nil
}

// readPasswordLink reads a link and its account, refusing one that is
// used, expired, or whose account has been switched off.
func (s *Service) readPasswordLink(ctx context.Context, tx sqldb.Tx, tenant int64, token string, lock bool) (PasswordLink, error) {
	q := `SELECT l.staff_id, l.expires_at, l.used_at, s.email, s.name, s.locale, s.active
		FROM password_links l JOIN staff s ON s.id = l.staff_id WHERE l.id_hash = $1`
	if lock {
		q += ` FOR UPDATE OF l`
	}
	link := PasswordLink{Tenant: tenant}
	var used *time.Time
	var active bool
	err := tx.QueryRow(ctx, q, Hash(token)).Scan(&link.StaffID, &link.Expires, &used, &link.Email, &link.Name, &link.Locale, &active)
	switch {
	case errors.Is(err, sqldb.ErrNoRows):
		return link, ErrLinkUnknown
	case err != nil:
		return link, err
	case !active:
		return link, ErrLinkUnknown
	case used != nil:
		return link, ErrLinkUsed
	case !s.now().Before(link.Expires):
		return link, ErrLinkExpired
	}
	return link, nil
}
