package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/koto-portal/portal/internal/config"
)

// TestDemoPasswordIsKeptAcrossStarts: every start sets the demo accounts'
// password, so a second start (or a second instance on the same data) must
// use the one the first printed, not a new one.
func TestDemoPasswordIsKeptAcrossStarts(t *testing.T) {
	cfg := config.Config{DataDir: t.TempDir()}
	first, shown, err := demoPassword(cfg)
	if err != nil || !shown || len(first) < 12 {
		t.Fatalf("first start: %q shown=%v err=%v", first, shown, err)
	}
	again, _, err := demoPassword(cfg)
	if err != nil || again != first {
		t.Fatalf("second start: %q (err %v), want the first one %q", again, err, first)
	}
	fi, err := os.Stat(filepath.Join(cfg.DataDir, "demo-password"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("kept password file has mode %v, want 0600", fi.Mode().Perm())
	}
	cfg.DemoPassword = "chosen-by-operator"
	if p, shown, _ := demoPassword(cfg); p != "chosen-by-operator" || shown {
		t.Fatalf("PORTAL_DEMO_PASSWORD gave %q shown=%v", p, shown)
	}
}
