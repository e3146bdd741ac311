package live

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

// admin connects as the superuser to the maintenance database, from where
// a test database can be closed and its sessions cut.
func admin(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testdb.Server(t).URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

func dbName(t *testing.T, db *store.DB) string {
	t.Helper()
	var name string
	if err := db.Pool.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// terminateListeners cuts the listeners' sessions from the server side, the
// way a failover or an administrator would, and returns how many it cut.
func terminateListeners(t *testing.T, adm *pgx.Conn, dbname string) int {
	t.Helper()
	var n int
	err := adm.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
		FROM pg_stat_activity
		WHERE application_name = $1 AND datname = $2`, ApplicationName, dbname).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListenerReconnectsAndResyncs(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, func(l *Listener) { l.minBackoff = 20 * time.Millisecond })
	c := dial(t, in.server, "q")
	publish(t, db, "q", "before", nil)
	c.expectEvent("q", 1, "before")

	if n := terminateListeners(t, admin(t), dbName(t, db)); n != 1 {
		t.Fatalf("terminated %d listener sessions, want 1", n)
	}
	// Events may have been lost while it was away: the screens must resync.
	c.expectResync()
	st := in.listener.Stats()
	if st.Sessions != 2 || !st.Listening {
		t.Fatalf("stats after reconnect %+v, want 2 sessions and listening", st)
	}
	publish(t, db, "q", "after", nil)
	c.expectEvent("q", 2, "after")
}

// While the database is unreachable the listener keeps trying (with backoff)
// and does not give up; it recovers as soon as it can connect.
func TestListenerRetriesWhileDatabaseRefuses(t *testing.T) {
	db, url := testdb.New(t)
	ctx := context.Background()
	dbname := dbName(t, db)
	owner := admin(t)
	allow := func(ok bool) {
		t.Helper()
		if _, err := owner.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbname}.Sanitize()+` WITH ALLOW_CONNECTIONS `+map[bool]string{true: "true", false: "false"}[ok]); err != nil {
			t.Fatal(err)
		}
	}
	in := startInstance(t, url, Options{}, func(l *Listener) {
		l.minBackoff, l.maxBackoff = 10*time.Millisecond, 40*time.Millisecond
	})
	c := dial(t, in.server, "q")
	allow(false)
	t.Cleanup(func() { allow(true) })
	if n := terminateListeners(t, owner, dbname); n != 1 {
		t.Fatalf("terminated %d listener sessions, want 1", n)
	}
	waitFor(t, "the listener to notice", func() bool { return !in.listener.Listening() })
	time.Sleep(300 * time.Millisecond) // several refused attempts
	if in.listener.Listening() || in.listener.Stats().Sessions != 1 {
		t.Fatalf("listener claims a session while connections are refused: %+v", in.listener.Stats())
	}
	allow(true)
	c.expectResync()
	publish(t, db, "q", "back", nil)
	c.expectEvent("q", 1, "back")
}

// A quiet session is health-checked rather than trusted forever; the check
// must not disturb a healthy session.
func TestListenerHealthCheckKeepsQuietSession(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, func(l *Listener) { l.healthEvery = 20 * time.Millisecond })
	c := dial(t, in.server, "q")
	time.Sleep(200 * time.Millisecond) // about ten timed-out waits and pings
	for i := int64(1); i <= 3; i++ {
		publish(t, db, "q", "tick", nil)
		c.expectEvent("q", i, "tick")
		time.Sleep(50 * time.Millisecond)
	}
	if st := in.listener.Stats(); st.Sessions != 1 || st.Notifications != 3 {
		t.Fatalf("stats %+v, want one session and three notifications", st)
	}
}

func TestListenerDropsMalformedNotifications(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	c := dial(t, in.server, "q")
	ctx := context.Background()
	for _, p := range []string{`not json`, `{"type":"x"}`, `{"channel":"q","seq":0}`} {
		if _, err := db.Pool.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, p); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, db, "q", "good", nil)
	c.expectEvent("q", 1, "good")
	if st := in.listener.Stats(); st.Malformed != 3 || st.Notifications != 4 {
		t.Fatalf("stats %+v, want 3 malformed of 4", st)
	}
	// The same figures reach Prometheus.
	want := `
# HELP koto_live_listener_listening 1 while this instance's LISTEN session is up, else 0.
# TYPE koto_live_listener_listening gauge
koto_live_listener_listening 1
# HELP koto_live_notifications_malformed_total Notifications that were not events, and were dropped.
# TYPE koto_live_notifications_malformed_total counter
koto_live_notifications_malformed_total 3
# HELP koto_live_notifications_total Notifications the listener received.
# TYPE koto_live_notifications_total counter
koto_live_notifications_total 4
`
	if err := testutil.CollectAndCompare(Collector(nil, in.listener), strings.NewReader(want),
		"koto_live_listener_listening", "koto_live_notifications_total", "koto_live_notifications_malformed_total"); err != nil {
		t.Error(err)
	}
}
