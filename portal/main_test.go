package portal_test

import (
	"os"
	"testing"

	"github.com/koto-portal/portal/internal/testdb"
)

// TestMain stops the package's private PostgreSQL cluster (started on first
// use by testdb) after the tests, so no postgres process outlives go test.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
