package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/koto-portal/portal/internal/sqldb"
)

// riverSteps are our migrations that bring River's tables (the durable job
// queue of internal/jobs) to a version of River's own schema. River's SQL is
// River's: its migrator applies it, one River version per transaction, and
// keeps its own list in river_migration. Pinning each step to a version
// keeps `portal migrate` the one way to change the schema and makes a
// database at our version N the same everywhere; a River upgrade that needs
// a newer schema adds a step here (TestRiverSchemaIsCurrent says so).
var riverSteps = []struct {
	version      int64 // ours
	riverVersion int   // River's
}{
	{version: 7, riverVersion: 8},
}

// riverMigrations turns riverSteps into goose migrations that work through
// their own pool on the owner's URL: River's migrator speaks pgx, goose
// hands out database/sql. goose's advisory lock still keeps concurrent
// starts apart, as it is held for the whole run.
func riverMigrations(url string) []*goose.Migration {
	out := make([]*goose.Migration, 0, len(riverSteps))
	for _, step := range riverSteps {
		out = append(out, goose.NewGoMigration(step.version, &goose.GoFunc{
			RunDB: func(ctx context.Context, _ *sql.DB) error { return migrateRiver(ctx, url, step.riverVersion) },
		}, nil))
	}
	return out
}

func migrateRiver(ctx context.Context, url string, target int) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
		return fmt.Errorf("river schema %d: %w", target, err)
	}
	// The app role works the queue: the default privileges of the first
	// migration already gave it the job tables, as they give it every table
	// the owner makes. River's tables hold no tenant's rows (a job names its
	// tenant, the worker reads under it), so they carry no row-level
	// security. What the app role may not do is rewrite River's record of
	// its schema, as it cannot rewrite ours.
	_, err = pool.Exec(ctx, `REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON river_migration FROM `+AppRole)
	return err
}

// JobQueue opens River's client on the pool, for internal/jobs: the driver
// (pgx) stays behind this package.
func (db *DB) JobQueue(cfg *river.Config) (sqldb.JobQueue, error) {
	c, err := river.NewClient(riverpgxv5.New(db.Pool), cfg)
	if err != nil {
		return nil, err
	}
	return jobQueue{c}, nil
}

type jobQueue struct{ *river.Client[pgx.Tx] }

func (q jobQueue) InsertManyTx(ctx context.Context, tx sqldb.Tx, params []river.InsertManyParams) error {
	ptx, ok := tx.(pgTx)
	if !ok {
		return errors.New("store: a job inserted in a transaction this package did not open")
	}
	_, err := q.Client.InsertManyTx(ctx, ptx.tx, params)
	return err
}
