package queue

import (
	"context"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Watch is what a staff member's live queue socket may follow: the service
// point's id and municipality, after the one check that they work there.
func (s *Service) Watch(ctx context.Context, e Expert) (tenant, spID int64, err error) {
	err = s.atWork(ctx, e, func(_ sqldb.Tx, sp servicePoint) error {
		tenant, spID = sp.tenant, sp.id
		return nil
	})
	return tenant, spID, err
}
