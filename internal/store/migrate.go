package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/koto-portal/portal/internal/sqldb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the append-only list of schema changes.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrationFiles, "migrations")
	return sub
}

// withProvider opens a short-lived connection as the schema owner (the user
// in the URL, not AppRole) for goose to work through.
func withProvider(ctx context.Context, url string, fn func(*goose.Provider) error) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(),
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(riverMigrations(url)...))
	if err != nil {
		return err
	}
	return fn(p)
}

// Migrate brings the schema up to date; instances starting together take
// turns through an advisory lock.
func Migrate(ctx context.Context, url string) (applied int, err error) {
	err = withProvider(ctx, url, func(p *goose.Provider) error {
		res, err := p.Up(ctx)
		applied = len(res)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
	return applied, err
}

// SchemaVersion reports the database's schema version and the newest this
// binary knows.
func SchemaVersion(ctx context.Context, url string) (current, target int64, err error) {
	err = withProvider(ctx, url, func(p *goose.Provider) error {
		current, target, err = p.GetVersions(ctx)
		return err
	})
	return current, target, err
}

// CurrentVersion reads the applied schema version through the app pool, for
// the readiness check.
func (db *DB) CurrentVersion(ctx context.Context) (int64, error) {
	var v int64
	err := db.Pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, err
}

// CheckSchema answers nil when the database is reachable and its schema is
// the one this binary carries, sqldb.ErrSchemaBehind when it needs
// `portal migrate`, and the failure to reach it otherwise.
func (db *DB) CheckSchema(ctx context.Context) error {
	v, err := db.CurrentVersion(ctx)
	if err != nil {
		return unavailable(err)
	}
	if v < LatestVersion() {
		return fmt.Errorf("%w: at %d of %d", sqldb.ErrSchemaBehind, v, LatestVersion())
	}
	return nil
}

// LatestVersion is the newest migration this binary carries, SQL or River.
func LatestVersion() int64 {
	entries, _ := fs.ReadDir(Migrations(), ".")
	var latest int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil {
			latest = max(latest, v)
		}
	}
	for _, step := range riverSteps {
		latest = max(latest, step.version)
	}
	return latest
}

var _ = stdlib.GetDefaultDriver
