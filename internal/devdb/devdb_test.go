package devdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func folder(t *testing.T) string {
	t.Helper()
	if _, err := FindBinaries(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir, err := os.MkdirTemp("", "koto-devdb-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755) // the database's own user must reach it when we are root
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "pg")
}

func stop(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// A lock file left by a crash must not keep the next start from working,
// even when its pid now names a live process that is not a postgres (after
// a reboot pids are reused; PostgreSQL alone would refuse to start).
func TestStalePidFileDoesNotBlockStart(t *testing.T) {
	dir := folder(t)
	ctx := context.Background()
	s, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	stop(t, s)
	// Pid 1 is always alive and never a postgres of ours.
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte("1\n"+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatalf("start after a crash: %v", err)
	}
	defer stop(t, s)
	if err := s.EnsureDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
}

// Two portals on one data folder would fight over one cluster: the second
// is refused while the first runs.
func TestSecondStartOnTheSameFolderIsRefused(t *testing.T) {
	dir := folder(t)
	ctx := context.Background()
	s, err := Start(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, s)
	if _, err := Start(ctx, Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use by another running portal") {
		t.Fatalf("second start: %v", err)
	}
}

// A newcomer working as root clones into their home folder, which only root
// may enter (as /root is): the database's own user cannot reach a data
// folder there, so the cluster lives in a folder it can reach, the data
// folder links to it, and the data is still there after a restart.
func TestRootInAPrivateHomeFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the database as another user")
	}
	folder(t) // skips or fails without PostgreSQL
	home, err := os.MkdirTemp("", "koto-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	shared, err := os.MkdirTemp("", "koto-shared-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	dir := filepath.Join(home, "koto-portal", "data", "postgres")
	ctx := context.Background()
	start := func() *Server {
		t.Helper()
		s, err := Start(ctx, Options{DataDir: dir, SharedDir: shared})
		if err != nil {
			t.Fatalf("start in a mode-700 home folder: %v", err)
		}
		return s
	}

	s := start()
	if err := s.EnsureDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	execSQL(t, s, `CREATE TABLE notes (body text); INSERT INTO notes VALUES ('still here')`)
	stop(t, s)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil || !strings.HasPrefix(real, shared+string(filepath.Separator)) {
		t.Fatalf("%s leads to %q (%v), want a folder under %s", dir, real, err, shared)
	}
	if st, err := os.Stat(shared); err != nil || st.Mode().Perm() != 0o711 {
		t.Errorf("the shared folder's mode is %v (%v), want 0711: others' clusters must not be listed", st.Mode().Perm(), err)
	}

	s = start()
	defer stop(t, s)
	conn, err := pgx.Connect(ctx, s.URL("kept"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var body string
	if err := conn.QueryRow(ctx, `SELECT body FROM notes`).Scan(&body); err != nil || body != "still here" {
		t.Fatalf("after a restart: %q, %v", body, err)
	}
}

func execSQL(t *testing.T, s *Server, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL("kept"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
