package org

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
)

// ListAccessLog reads the municipality's access log for an admin, newest
// first; nobody else may read who looked at what.
func ListAccessLog(ctx context.Context, tx pgx.Tx, actor auth.Principal, f audit.Filter) ([]audit.Entry, error) {
	if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
		return nil, err
	}
	return audit.List(ctx, tx, f)
}

// AccessLogKinds lists the subject kinds the municipality's log holds, for
// the filter; an admin's only, like the log.
func AccessLogKinds(ctx context.Context, tx pgx.Tx, actor auth.Principal) ([]string, error) {
	if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT DISTINCT subject_kind FROM access_log ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
