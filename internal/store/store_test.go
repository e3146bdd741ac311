package store_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// The pool must never run with more power than the application role.
func TestAppRoleIsUnprivileged(t *testing.T) {
	db, _ := testdb.New(t)
	var user string
	var super, bypass bool
	err := db.Pool.QueryRow(context.Background(),
		`SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &bypass)
	if err != nil {
		t.Fatal(err)
	}
	if user != store.AppRole || super || bypass {
		t.Fatalf("pool runs as %s (super=%v bypassrls=%v), want %s unprivileged", user, super, bypass, store.AppRole)
	}
	var owned int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user`).Scan(&owned); err != nil {
		t.Fatal(err)
	}
	if owned != 0 {
		t.Fatalf("application role owns %d tables", owned)
	}
}

func TestSchemaIsCurrentAfterMigrate(t *testing.T) {
	db, url := testdb.New(t)
	ctx := context.Background()
	cur, target, err := store.SchemaVersion(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if cur != target || target != store.LatestVersion() {
		t.Fatalf("schema %d, target %d, latest %d", cur, target, store.LatestVersion())
	}
	v, err := db.CurrentVersion(ctx)
	if err != nil || v != target {
		t.Fatalf("CurrentVersion = %d, %v", v, err)
	}
	// Migrating again applies nothing.
	n, err := store.Migrate(ctx, url)
	if err != nil || n != 0 {
		t.Fatalf("second migrate applied %d, %v", n, err)
	}
}

// A tenant set inside one transaction must not follow the pooled connection
// into the next one.
func TestTenantDoesNotLeakAcrossTransactions(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, testdb.NewURL(t), 1) // one connection, so both transactions share it
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.InTenant(ctx, 42, func(tx sqldb.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var got *int64
	if err := db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_tenant()`).Scan(&got)
	}); err != nil {
		t.Fatal(err)
	}
	if got != nil {
		t.Fatalf("tenant leaked: %d", *got)
	}
}

// Logged in as the app role itself, a connection has no owner to go back
// to: RESET ROLE leaves it the app role.
func TestAppLoginCannotResetRole(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	var session, current string
	err := db.Tx(ctx, func(tx sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `RESET ROLE`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT session_user, current_user`).Scan(&session, &current)
	})
	if err != nil {
		t.Fatal(err)
	}
	if session != store.AppRole || current != store.AppRole {
		t.Fatalf("after RESET ROLE: session_user %s, current_user %s", session, current)
	}
}

// River's tables come with `portal migrate`, at the schema version the River
// this binary is built with expects; the app role works the queue but cannot
// rewrite River's record of its schema.
func TestRiverSchemaIsCurrent(t *testing.T) {
	db, url := testdb.New(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("River's schema is behind the River this binary uses (%v): add a step to riverSteps in river.go", res.Messages)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, max_attempts, state) VALUES ('probe', '{}', 'default', 1, 'available')`); err != nil {
		t.Errorf("app role cannot insert a job: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `DELETE FROM river_migration`); err == nil {
		t.Error("app role may delete River's migration records")
	}
}

// Last commits with its statement; a statement after it is refused, and a
// Last that fails commits nothing, not even what ran before it, and leaves
// the pooled connection fit for the next transaction.
func TestLastCommitsWithItsStatement(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, testdb.NewURL(t), 1) // one connection: each transaction gets the one before's
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seqOf := func(channel string) (seq int64) {
		t.Helper()
		err := db.Tx(ctx, func(tx sqldb.Tx) error {
			return tx.QueryRow(ctx, `SELECT coalesce((SELECT seq FROM live_channels WHERE channel = $1), 0)`, channel).Scan(&seq)
		})
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}

	var after error
	err = db.Tx(ctx, func(tx sqldb.Tx) error {
		var seq int64
		if err := tx.Last(ctx, `INSERT INTO live_channels (channel, seq) VALUES ('test:last', 7) RETURNING seq`).Scan(&seq); err != nil {
			return err
		}
		_, after = tx.Exec(ctx, `SELECT 1`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after == nil {
		t.Error("a statement after Last ran")
	}
	if got := seqOf("test:last"); got != 7 {
		t.Fatalf("seq after Last: %d, want 7 (committed)", got)
	}

	err = db.Tx(ctx, func(tx sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO live_channels (channel, seq) VALUES ('test:before', 1)`); err != nil {
			return err
		}
		var n int64
		return tx.Last(ctx, `SELECT 1 / (seq - 7) FROM live_channels WHERE channel = 'test:last'`).Scan(&n)
	})
	if err == nil {
		t.Fatal("a Last that divides by zero succeeded")
	}
	if got := seqOf("test:before"); got != 0 {
		t.Fatalf("the statement before a failed Last was committed (seq %d)", got)
	}
}
