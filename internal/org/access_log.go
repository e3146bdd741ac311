package org

import (
	"context"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// AccessLog is one page of the access log with what its filter offers.
type AccessLog struct {
	People  []Member      // everyone of the municipality, for the staff filter
	Kinds   []string      // the subject kinds the log holds
	Entries []audit.Entry // newest first; none without a filter
}

// AccessLog reads the municipality's access log for an admin; nobody else
// may read who looked at what. A nil filter reads only what the filter
// offers, for a filter form that came back with errors.
func (s *Service) AccessLog(ctx context.Context, actor auth.Principal, f *audit.Filter) (AccessLog, error) {
	var out AccessLog
	err := s.authorized(ctx, actor, actor.IsAdmin(), func(tx sqldb.Tx) error {
		var err error
		if out.People, err = listMembersFor(ctx, tx, actor); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT subject_kind FROM access_log ORDER BY 1`)
		if err != nil {
			return err
		}
		if out.Kinds, err = sqldb.CollectRows(rows, sqldb.RowTo[string]); err != nil || f == nil {
			return err
		}
		out.Entries, err = audit.List(ctx, tx, *f)
		return err
	})
	return out, err
}
