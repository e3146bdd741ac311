package auth

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/sqldb"
)

// sweepEvery is how often ended sessions are deleted. A socket resting on
// a session that timed out stays open at most this long after the limit.
const sweepEvery = time.Minute

// SweepSessions deletes every session, of every municipality, that ran past
// its idle or absolute limit without its cookie coming back. Deleting the
// row is what tells every instance to close the sockets resting on it.
func (s *Service) SweepSessions(ctx context.Context) (ended int64, err error) {
	err = s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_sweep_sessions($1, $2)`, s.now(), IdleTimeout).Scan(&ended)
	})
	return ended, err
}

// Register gives auth its periodic job, the session sweep, run by one
// instance of all. Call it before j starts.
func (s *Service) Register(j *jobs.Service) {
	jobs.Periodic[SweepSessions](j, sweepEvery, func(ctx context.Context) error {
		_, err := s.SweepSessions(ctx)
		return err
	})
}

// SweepSessions is the periodic job that ends timed-out sessions.
type SweepSessions struct{}

// Kind names the job in River's table.
func (SweepSessions) Kind() string { return "sweep_sessions" }
