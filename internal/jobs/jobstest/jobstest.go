// Package jobstest runs a real job queue for a domain package's tests: on
// the test's database, with the services' workers, stopped when the test
// ends.
package jobstest

import (
	"context"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
)

// Registrar is a domain service whose workers and periodic jobs go on a
// job queue, with the message catalog for what they send.
type Registrar interface {
	Register(j *jobs.Service, catalog *i18n.Catalog)
}

// Start registers the services on a new job queue and starts it. Jobs are
// polled for every 200 ms unless opts says otherwise, so that a test sees
// a job soon also when the insert notification is missed.
func Start(t testing.TB, db jobs.Database, opts jobs.Options, services ...Registrar) *jobs.Service {
	t.Helper()
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 200 * time.Millisecond
	}
	j := jobs.New(db, opts)
	for _, s := range services {
		s.Register(j, catalog)
	}
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := j.Stop(ctx); err != nil {
			t.Errorf("stop jobs: %v", err)
		}
	})
	return j
}
