package queue

import (
	"context"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Summary reads a service point's queue, by id, for an actor who may work
// there (an API key narrowed to it, say). One the municipality does not
// have is ErrNotFound.
func (s *Service) Summary(ctx context.Context, actor auth.Principal, spID int64) (State, error) {
	var st State
	err := s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		sp, err := s.loadServicePoint(ctx, tx, spID)
		if err != nil {
			return sqldb.NotFound(err)
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(spID)); err != nil {
			return err
		}
		st, err = s.snapshot(ctx, tx, sp)
		return err
	})
	return st, err
}
