package org

import (
	"context"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// ErrForbidden is returned when the acting staff member lacks the role for
// a change. It is auth's value, so the web layer maps a single error.
var ErrForbidden = auth.ErrForbidden

// PurposeAdministration is the access-log purpose of the set-up screens.
const PurposeAdministration = "administration"

func refuse(actor auth.Principal, kind string, subject int64, action string) error {
	return &audit.Refusal{Err: ErrForbidden, Entry: actor.Audit(kind, subject, action, PurposeAdministration, audit.ResultDenied)}
}

func logOK(ctx context.Context, tx sqldb.Tx, actor auth.Principal, kind string, subject int64, action string) error {
	return audit.Write(ctx, tx, actor.Audit(kind, subject, action, PurposeAdministration, audit.ResultOK))
}
