// Package testdb gives tests a real PostgreSQL: one private cluster per test
// binary (the embedded default, in a temporary folder) and a fresh, migrated
// database per test, cloned from a template so each costs milliseconds.
package testdb

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/devdb"
	"github.com/koto-portal/portal/internal/store"
)

const template = "koto_template"

var (
	once    sync.Once
	server  *devdb.Server
	tmpDir  string
	initErr error
	counter atomic.Int64
)

// Unavailable ends the test when there is no database: a failure under CI
// (where a skipped test would hide a broken machine), a skip elsewhere.
func Unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL is required under CI: %v", err)
	}
	t.Skipf("no PostgreSQL for this test: %v", err)
}

func start() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpDir, initErr = os.MkdirTemp("", "koto-testdb-")
	if initErr != nil {
		return
	}
	// The database user must be able to reach the folder when we are root.
	_ = os.Chmod(tmpDir, 0o755)
	server, initErr = devdb.Start(ctx, devdb.Options{DataDir: filepath.Join(tmpDir, "pg")})
	if initErr != nil {
		return
	}
	if initErr = server.EnsureDatabase(ctx, template); initErr != nil {
		return
	}
	if _, initErr = store.Migrate(ctx, server.URL(template)); initErr != nil {
		return
	}
	_, initErr = store.EnableAppLogin(ctx, server.URL(template))
}

// AppURL is the URL the application role logs in with to the database
// behind ownerURL.
func AppURL(ownerURL string) string {
	u, err := url.Parse(ownerURL)
	if err != nil {
		return ownerURL
	}
	u.User = url.User(store.AppRole)
	return u.String()
}

// Server returns the shared cluster, starting it on first use.
func Server(t testing.TB) *devdb.Server {
	t.Helper()
	once.Do(start)
	if initErr != nil {
		Unavailable(t, initErr)
	}
	return server
}

// NewURL creates a fresh migrated database and returns its owner URL. The
// database is dropped when the test ends.
func NewURL(t testing.TB) string {
	t.Helper()
	srv := Server(t)
	ctx := context.Background()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	admin, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, srv.URL("postgres"))
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return srv.URL(name)
}

// New returns an app pool (running as the application role) on a fresh
// database, and the owner URL for set-up that the app may not do.
func New(t testing.TB) (*store.DB, string) {
	t.Helper()
	owner := NewURL(t)
	db, err := store.Open(context.Background(), AppURL(owner), 20)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	return db, owner
}

// Main wraps testing.M so the cluster is stopped after the package's tests.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	if server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = server.Stop(ctx)
		cancel()
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	return code
}

// Restartable starts a cluster of the test's own, for a test that restarts
// PostgreSQL under a running portal (the shared cluster serves the other
// tests meanwhile), and returns the owner URL of a migrated database on it
// and a function that restarts the server on the same files and address.
// The cluster is stopped and removed when the test ends.
func Restartable(t testing.TB) (ownerURL string, restart func()) {
	t.Helper()
	if _, err := devdb.FindBinaries(); err != nil {
		Unavailable(t, err)
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "koto-restart-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) // the database user must reach it when we are root
	srv, err := devdb.Start(ctx, devdb.Options{DataDir: filepath.Join(dir, "pg")})
	if err != nil {
		_ = os.RemoveAll(dir)
		Unavailable(t, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Stop(ctx)
		_ = os.RemoveAll(dir)
	})
	if err := srv.EnsureDatabase(ctx, "koto"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Migrate(ctx, srv.URL("koto")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.EnableAppLogin(ctx, srv.URL("koto")); err != nil {
		t.Fatal(err)
	}
	return srv.URL("koto"), func() {
		t.Helper()
		if err := srv.Restart(ctx); err != nil {
			t.Fatalf("restart PostgreSQL: %v", err)
		}
	}
}
