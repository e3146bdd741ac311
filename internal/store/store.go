// Package store owns the connection to PostgreSQL: the pool the portal works
// through, the schema migrations, and the transaction helpers that set the
// tenant for row-level security.
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koto-portal/portal/internal/sqldb"
)

// AppRole is the role every pooled connection switches to: not the tables'
// owner, not superuser, not BYPASSRLS, so row-level security always applies.
const AppRole = "koto_app"

// DB is the portal's handle on the database.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects a pool whose every connection runs as AppRole.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// Logged in as the app role itself, nothing is needed. Logged in as the
	// owner, each connection switches down to it; the stronger setting is a
	// separate login for the app role (DATABASE_APP_URL, or EnableAppLogin on
	// a private cluster), since a switched connection could RESET ROLE.
	if cfg.ConnConfig.User != AppRole {
		cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
			_, err := c.Exec(ctx, "SET ROLE "+AppRole)
			return err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Tx runs fn in a transaction with no tenant set: row-level security then
// shows no tenant rows, so only cross-tenant tables and the SECURITY DEFINER
// entry points (lookups by a secret) are usable.
func (db *DB) Tx(ctx context.Context, fn func(sqldb.Tx) error) error {
	return unavailable(db.run(ctx, "", func(tx pgTx) error { return fn(tx) }))
}

// InTenant runs fn in a transaction scoped to one municipality. The setting
// is transaction-local, so a pooled connection never carries it further.
func (db *DB) InTenant(ctx context.Context, tenant int64, fn func(sqldb.Tx) error) error {
	if tenant <= 0 {
		return errors.New("store: no tenant given")
	}
	// The tenant is a number, so it is written into the BEGIN's own
	// simple-protocol query: one round trip opens and scopes the transaction.
	begin := fmt.Sprintf("BEGIN; SELECT set_config('app.tenant', '%d', true)", tenant)
	return unavailable(db.run(ctx, begin, func(tx pgTx) error { return fn(tx) }))
}

// InTenantOf is InTenant for a caller who knows only a secret (a device's
// credential, a service point's address): lookup is an SQL expression over
// $1 = arg, evaluated before any tenant is set (so through a SECURITY
// DEFINER function), that yields the tenant or NULL. Finding the tenant and working in it share
// one transaction, so a request that needs both pays for one.
func (db *DB) InTenantOf(ctx context.Context, lookup string, arg any, fn func(sqldb.Tx) error) error {
	return unavailable(db.run(ctx, "", func(tx pgTx) error {
		var ok bool
		err := tx.tx.QueryRow(ctx, `SELECT set_config('app.tenant', t::text, true) IS NOT NULL
			FROM (SELECT (`+lookup+`)::bigint AS t) l WHERE t IS NOT NULL`, arg).Scan(&ok)
		if errors.Is(err, pgx.ErrNoRows) {
			return sqldb.ErrNoTenant
		}
		if err != nil {
			return err
		}
		return fn(tx)
	}))
}

// unavailable marks a failure to reach the database (refused, cut, timed
// out, the server shutting down) as sqldb.ErrUnavailable, so callers tell a
// passing fault from an error in what they asked without knowing pgx.
func unavailable(err error) error {
	if err == nil || errors.Is(err, sqldb.ErrUnavailable) {
		return err
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), pgconn.Timeout(err),
		errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "57P"): // class 57P: shutting down, not yet accepting
		return fmt.Errorf("%w: %w", sqldb.ErrUnavailable, err)
	}
	return err
}

// EnableAppLogin lets the app role log in by itself on a cluster the portal
// runs privately (trust authentication on its own socket), and returns the
// URL to log in with. Run as the superuser, after migrating.
func EnableAppLogin(ctx context.Context, ownerURL string) (string, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ALTER ROLE "+AppRole+" WITH LOGIN"); err != nil {
		return "", fmt.Errorf("let %s log in: %w", AppRole, err)
	}
	u, err := url.Parse(ownerURL)
	if err != nil {
		return "", err
	}
	u.User = url.User(AppRole)
	return u.String(), nil
}
