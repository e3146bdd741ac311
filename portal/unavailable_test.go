package portal_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/portal/portaltest"
)

// TestDatabaseOutageIsAPassingFault: while the database refuses the portal,
// a page that needs it answers 503 "try again shortly" in the page's
// language, not 500; once it is back the same request works again.
func TestDatabaseOutageIsAPassingFault(t *testing.T) {
	in := portaltest.Start(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, in.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := owner.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	var db string
	if err := owner.QueryRow(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	// A well-formed follow token that names no ticket: finding that out
	// needs the database.
	page := in.URL + "/t/AAAAAAAAAAAAAAAAAAAAAA?lang=en"
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, _ := get(); code != http.StatusNotFound {
		t.Fatalf("before the outage: %d, want 404", code)
	}

	// The outage: no new connection for the app role, and the pooled ones cut.
	exec(`ALTER DATABASE "` + db + `" CONNECTION LIMIT 0`)
	exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND usename = 'koto_app'`)
	for i := 0; i < 3; i++ { // a cut pooled connection first, then refused new ones
		code, body := get()
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily unavailable") {
			t.Fatalf("during the outage, try %d: %d, want 503 with the English message; body %.300s", i, code, body)
		}
	}

	exec(`ALTER DATABASE "` + db + `" CONNECTION LIMIT -1`)
	if code, _ := get(); code != http.StatusNotFound {
		t.Fatalf("after the outage: %d, want 404 again", code)
	}
}
