// Package sqldb is the database as the domain packages see it: a
// transaction scoped to a municipality, and the rows it reads. It names no
// driver, so the web layer, which calls the domain packages, never depends
// on one; internal/store implements it on pgx.
package sqldb

import (
	"context"
	"errors"

	"github.com/riverqueue/river"
)

// Row is one row a query returned.
type Row interface {
	Scan(dest ...any) error
}

// Rows are the rows a query returned, read one at a time.
type Rows interface {
	Row
	Next() bool
	Err() error
	Close()
}

// Result is what a statement that returns no rows tells.
type Result interface {
	RowsAffected() int64
}

// Tx is a transaction: every statement of a domain call runs in one.
type Tx interface {
	Exec(ctx context.Context, sql string, args ...any) (Result, error)
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) Row
	// Last runs sql as the transaction's last statement and commits with
	// it in one round trip, for a statement that locks a row many requests
	// update: the lock is then held only while the database works, not
	// while the portal reads the answer and sends the commit. Scanning its
	// row commits; after it no statement runs and fn must return nil.
	Last(ctx context.Context, sql string, args ...any) Row
}

// DB opens transactions. InTenant scopes one to a municipality, which
// row-level security then enforces; Tx sets none, so only cross-tenant
// tables and the lookups by a secret are visible.
//
// InTenantOf is InTenant for a caller who knows only a secret (a device's
// credential, a service point's address): lookup is an SQL expression over
// $1 = arg, evaluated before any tenant is set, that yields the tenant or
// NULL (then ErrNoTenant).
type DB interface {
	Tx(ctx context.Context, fn func(Tx) error) error
	InTenant(ctx context.Context, tenant int64, fn func(Tx) error) error
	InTenantOf(ctx context.Context, lookup string, arg any, fn func(Tx) error) error
}

// Conn is a connection of its own (not from the pool) that listens for
// notifications: the live layer's one LISTEN session per instance.
type Conn interface {
	Listen(ctx context.Context, channel string) error
	// WaitForNotification returns the next notification's payload; an
	// error that wraps context.DeadlineExceeded means none came in time.
	WaitForNotification(ctx context.Context) (payload string, err error)
	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}

// Connector opens a Conn, named application in the server's view of its
// sessions.
type Connector func(ctx context.Context, application string) (Conn, error)

// JobQueue is River's client on this database, as the job queue uses it:
// jobs are inserted in the caller's transaction.
type JobQueue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	InsertManyTx(ctx context.Context, tx Tx, params []river.InsertManyParams) error
}

var (
	// ErrNoRows is what Row.Scan returns when the query found nothing.
	ErrNoRows = errors.New("no rows in result set")
	// ErrNotFound is returned when a row asked for does not exist (or is
	// not visible to the tenant, which is the same thing to the caller).
	ErrNotFound = errors.New("not found")
	// ErrStale is returned by a change made to a version of a row that is
	// no longer the current one (an ETag's If-Match, a form read before
	// someone else saved).
	ErrStale = errors.New("the row changed since it was read")
	// ErrUnavailable wraps every failure to reach the database (down,
	// restarting, the connection cut): a passing fault, not a bug.
	ErrUnavailable = errors.New("database unavailable")
	// ErrSchemaBehind says the database needs migrating before this
	// binary can serve it.
	ErrSchemaBehind = errors.New("the schema is behind: run portal migrate")
	// ErrNoTenant is returned by InTenantOf when the lookup names no
	// tenant: the secret it was given belongs to nobody.
	ErrNoTenant = errors.New("the lookup names no tenant")
)

// NotFound maps ErrNoRows to ErrNotFound.
func NotFound(err error) error {
	if errors.Is(err, ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// IsUniqueViolation tells a duplicate key apart from other failures.
func IsUniqueViolation(err error) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && e.SQLState() == "23505"
}

// CollectRows reads every row through fn and closes rows.
func CollectRows[T any](rows Rows, fn func(Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := fn(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RowTo reads a row of one column.
func RowTo[T any](row Row) (T, error) {
	var v T
	err := row.Scan(&v)
	return v, err
}

// CollectExactlyOneRow reads the one row a query must return; none is
// ErrNoRows.
func CollectExactlyOneRow[T any](rows Rows, fn func(Row) (T, error)) (T, error) {
	all, err := CollectRows(rows, fn)
	var zero T
	switch {
	case err != nil:
		return zero, err
	case len(all) == 0:
		return zero, ErrNoRows
	case len(all) > 1:
		return zero, errors.New("sqldb: more than one row")
	}
	return all[0], nil
}

// ForEachRow scans each row into scans and calls fn, then closes rows; it
// returns how many rows it read.
func ForEachRow(rows Rows, scans []any, fn func() error) (n int64, err error) {
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(scans...); err != nil {
			return n, err
		}
		if err := fn(); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
