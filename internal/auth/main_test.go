package auth_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// fakeClock is the injectable now: tests move it instead of waiting.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Microsecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testPassword = "correct horse battery"

// env is one fresh database with a municipality, two service points and one
// active expert at the first, plus a service on a clock the test moves.
type env struct {
	ctx      context.Context
	db       *store.DB
	owner    *pgx.Conn
	clock    *fakeClock
	svc      *auth.Service
	tenant   int64
	sp, sp2  int64
	staffID  int64
	email    string
	password string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, ownerURL := testdb.New(t)
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close(ctx) })
	e := &env{ctx: ctx, db: db, owner: owner, clock: newClock(), email: "expert@muni.example", password: testPassword}
	e.svc = auth.New(db, e.clock.Now)
	if err := owner.QueryRow(ctx, `INSERT INTO municipalities (slug, name) VALUES ('muni', 'Muni') RETURNING id`).Scan(&e.tenant); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		slug string
		id   *int64
	}{{"muni-1", &e.sp}, {"muni-2", &e.sp2}} {
		if err := owner.QueryRow(ctx, `INSERT INTO service_points (municipality_id, slug) VALUES ($1, $2) RETURNING id`, e.tenant, p.slug).Scan(p.id); err != nil {
			t.Fatal(err)
		}
	}
	e.staffID = e.addStaff(t, e.email, testPassword, auth.RoleExpert, e.sp)
	return e
}

// addStaff creates an active account holding role at sp (0: municipality-wide).
func (e *env) addStaff(t *testing.T, email, password, role string, sp int64) int64 {
	t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := e.owner.QueryRow(e.ctx, `INSERT INTO staff (municipality_id, email, name, password_hash, languages, locale)
		VALUES ($1, $2, 'Test Person', $3, '{fi,en}', 'en') RETURNING id`, e.tenant, email, hash).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var scope *int64
	if sp != 0 {
		scope = &sp
	}
	if _, err := e.owner.Exec(e.ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, $4)`,
		e.tenant, id, scope, role); err != nil {
		t.Fatal(err)
	}
	return id
}

// sessionRows counts the stored sessions with a token's hash.
func (e *env) sessionRows(t *testing.T, token string) int {
	t.Helper()
	var n int
	if err := e.owner.QueryRow(e.ctx, `SELECT count(*) FROM sessions WHERE id_hash = $1`, auth.Hash(token)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// login authenticates the fixture's expert and starts a session.
func (e *env) login(t *testing.T) auth.Session {
	t.Helper()
	st, err := e.svc.Authenticate(e.ctx, e.email, e.password, "client-login")
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	sess, err := e.svc.Login(e.ctx, st, "")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return sess
}
