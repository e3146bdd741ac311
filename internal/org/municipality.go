package org

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// ErrMunicipalityExists is returned when the slug (short name) already names a
// municipality.
var ErrMunicipalityExists = errors.New("org: a municipality with this short name already exists")

// PurposeOperations is the access-log purpose of what the deployment's
// operator does from the command line.
const PurposeOperations = "operations"

// Founding is what starting a municipality takes: its slug (short name) and
// name, and who its first admin is. The fields are checked by the caller.
type Founding struct {
	Slug, Name                         string
	AdminEmail, AdminName, AdminLocale string
	LinkValidity                       time.Duration
}

// Founded is what starting a municipality made. LinkToken is the secret of
// the admin's one-time password link: shown once, stored only hashed.
type Founded struct {
	Tenant, AdminID int64
	LinkToken       string
	LinkExpires     time.Time
}

// FoundMunicipality starts a municipality with its first admin, who has no
// password until they set one through the returned one-time link. No
// municipality's staff may create another municipality, so this runs as the
// schema owner (owner opens its transaction, past row-level security), in
// one transaction: a failure leaves nothing.
func FoundMunicipality(ctx context.Context, owner func(context.Context, func(sqldb.Tx) error) error, f Founding, now time.Time) (Founded, error) {
	if f.LinkValidity <= 0 {
		return Founded{}, errors.New("org: a password link must be valid for some time")
	}
	// Nobody knows this password: the account opens only through the link.
	placeholder, err := auth.HashPassword(auth.NewToken())
	if err != nil {
		return Founded{}, err
	}
	var out Founded
	err = owner(ctx, func(tx sqldb.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO municipalities (slug, name) VALUES ($1, $2) RETURNING id`, f.Slug, f.Name).Scan(&out.Tenant)
		if sqldb.IsUniqueViolation(err) {
			return ErrMunicipalityExists
		} else if err != nil {
			return err
		}
		// The tenant set, the rest reads and writes as any tenant transaction.
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant', $1, true)`, fmt.Sprint(out.Tenant)); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash, locale)
			VALUES (koto_tenant(), $1, $2, $3, $4) RETURNING id`, f.AdminEmail, f.AdminName, placeholder, f.AdminLocale).Scan(&out.AdminID)
		if sqldb.IsUniqueViolation(err) {
			return ErrEmailInUse
		} else if err != nil {
			return err
		}
		if err := setGrant(ctx, tx, out.AdminID, auth.Grant{Role: auth.RoleAdmin}, true); err != nil {
			return err
		}
		out.LinkExpires = now.Add(f.LinkValidity)
		if out.LinkToken, err = auth.IssuePasswordLink(ctx, tx, out.Tenant, out.AdminID, out.LinkExpires); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Tenant: out.Tenant, SubjectKind: SubjectStaff, SubjectID: out.AdminID,
			Action: audit.ActionCreate, Purpose: PurposeOperations, Result: audit.ResultOK})
	})
	if err != nil {
		return Founded{}, err
	}
	return out, nil
}
