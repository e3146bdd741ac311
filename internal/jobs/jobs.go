// Package jobs owns the portal's durable work: a job queue in PostgreSQL
// (River) that every instance shares, the periodic jobs that must run once
// across all of them, and the sending of notifications (Web Push) with the
// retry, give-up and forget rules every notifying feature follows. Domain
// packages own what their jobs say and to whom: they register their
// workers here and enqueue in their own transaction, so a job exists
// exactly when the change that asked for it committed.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Defaults of the Options.
const (
	// DefaultWorkers bounds the jobs one instance works at once; most are
	// short HTTP posts to a push service.
	DefaultWorkers = 16
	// DefaultRescueAfter is how long a job may stay running before another
	// instance takes it as abandoned (its instance was killed). Longer than
	// River's one-minute job timeout; short enough that a ticket push, whose
	// news is stale after ten minutes, is still worth sending.
	DefaultRescueAfter = 2 * time.Minute
)

// Options configure a Service; the zero value works.
type Options struct {
	Logger *slog.Logger
	// Sender sends Web Push; nil means push is off and Pushing reports false.
	Sender *push.Sender
	// Workers bounds the jobs worked at once; 0 means DefaultWorkers.
	Workers int
	// InsertOnly makes a Service that enqueues but never works a job, for
	// a process that only hands work to the others.
	InsertOnly bool
	// PollInterval is how often an instance looks for due jobs besides the
	// notification every insert sends; 0 means River's default (1 s).
	PollInterval time.Duration
	// RescueAfter: see DefaultRescueAfter; 0 means that.
	RescueAfter time.Duration
}

// Database is what the job queue needs: transactions, and River's client
// on the same database, whose driver only the database layer knows.
type Database interface {
	sqldb.DB
	JobQueue(cfg *river.Config) (sqldb.JobQueue, error)
}

// Service is one instance's handle on the job queue. Register workers and
// periodic jobs, then Start; enqueue with InsertTx.
type Service struct {
	db      Database
	opts    Options
	logger  *slog.Logger
	workers *river.Workers
	kinds   int

	mu       sync.Mutex
	periodic []*river.PeriodicJob
	client   sqldb.JobQueue

	metrics *metrics
}

// New prepares a Service on db's pool; nothing runs until Start.
func New(db Database, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = DefaultRescueAfter
	}
	return &Service{db: db, opts: opts, logger: opts.Logger, workers: river.NewWorkers(), metrics: newMetrics(db)}
}

// AddWorker registers the worker of one job kind; call it before Start.
func AddWorker[T river.JobArgs](s *Service, w river.Worker[T]) {
	river.AddWorker(s.workers, w)
	s.kinds++
}

// Every schedules args to be enqueued every interval, by one instance of
// all that share the database (River's elected leader), and once as that
// instance starts leading. At most one such job is enqueued per interval,
// so a change of leader cannot double it. Call it before Start.
func (s *Service) Every(interval time.Duration, args river.JobArgs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.periodic = append(s.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		}, &river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true}))
}

// Periodic registers T, a job without arguments, to run work every
// interval on one instance of all (see Every). T keeps its own kind, so
// each periodic job has its own name in River's table and in the metrics.
// Call it before Start.
func Periodic[T river.JobArgs](s *Service, interval time.Duration, work func(context.Context) error) {
	AddWorker(s, &periodicWorker[T]{work: work})
	var args T
	s.Every(interval, args)
}

type periodicWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	work func(context.Context) error
}

func (w *periodicWorker[T]) Work(ctx context.Context, _ *river.Job[T]) error { return w.work(ctx) }

// Start connects the queue and, unless InsertOnly, starts working jobs
// until Stop.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return errors.New("jobs: started twice")
	}
	cfg := &river.Config{
		Logger:               s.logger,
		Workers:              s.workers,
		FetchPollInterval:    s.opts.PollInterval,
		RescueStuckJobsAfter: s.opts.RescueAfter,
	}
	if !s.opts.InsertOnly && s.kinds > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: s.opts.Workers}}
		cfg.PeriodicJobs = s.periodic
	}
	client, err := s.db.JobQueue(cfg)
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if cfg.Queues != nil {
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("jobs: start: %w", err)
		}
	}
	s.client = client
	return nil
}

// Stop lets the jobs in hand finish (until ctx ends, then cancels them:
// River puts them back to be worked again) and stops working.
func (s *Service) Stop(ctx context.Context) error {
	s.mu.Lock()
	client := s.client
	s.mu.Unlock()
	if client == nil || s.opts.InsertOnly || s.kinds == 0 {
		return nil
	}
	err := client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return client.StopAndCancel(context.Background())
	}
	return err
}

// ErrNotStarted is returned by InsertTx before Start.
var ErrNotStarted = errors.New("jobs: not started")

// InsertTx enqueues jobs in the caller's transaction: they exist exactly
// when it commits, and no instance sees them before.
func (s *Service) InsertTx(ctx context.Context, tx sqldb.Tx, args ...river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	s.mu.Lock()
	client := s.client
	s.mu.Unlock()
	if client == nil {
		return ErrNotStarted
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	return client.InsertManyTx(ctx, tx, params)
}

// Logger is where workers report what they did.
func (s *Service) Logger() *slog.Logger { return s.logger }

// Pushing reports whether Web Push is configured, so that features do not
// enqueue pushes nobody can send.
func (s *Service) Pushing() bool { return s.opts.Sender != nil }
