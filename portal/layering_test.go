package portal_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestWebLayerNamesNoDriver keeps the shape the domain packages promise: a
// handler calls a service that owns its transaction, so nothing the web
// layer builds on, directly or through a domain package, may depend on the
// database driver.
func TestWebLayerNamesNoDriver(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var bad []string
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/jackc/") || strings.HasSuffix(p, "/internal/store") {
			bad = append(bad, p)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("portal depends on the driver or its store: %v", bad)
	}
}
