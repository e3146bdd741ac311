package devdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
