package queue

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
)

// closeDaysEvery is how often the service days that are over are closed.
const closeDaysEvery = 5 * time.Minute

// Register gives the queue its durable jobs: the ticket pushes (rendered in
// the ticket's language from catalog), which calls enqueue from now on, and
// the day closing, run every closeDaysEvery by one instance of all. Call
// it before j starts.
func (s *Service) Register(j *jobs.Service, catalog *i18n.Catalog) {
	s.jobs = j
	jobs.AddWorker(j, &ticketPushWorker{q: s, jobs: j, catalog: catalog})
	jobs.Periodic[CloseDays](j, closeDaysEvery, func(ctx context.Context) error {
		n, err := s.CloseAllDue(ctx)
		if n > 0 {
			j.Logger().Info("closed tickets left at closing time", "tickets", n)
		}
		return err
	})
}

// CloseDays is the periodic job that closes the service days that are over.
type CloseDays struct{}

// Kind names the job in River's table.
func (CloseDays) Kind() string { return "close_service_days" }
