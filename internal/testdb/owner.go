package testdb

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// seeds numbers the slugs and addresses of seeded rows, which must be unique
// in a test's database.
var seeds atomic.Int64

// Owner is the database owner's pool: tests set up rows the application role
// may not write, and check what row-level security hides from it. Its
// own methods end the test on any error.
type Owner struct {
	*pgxpool.Pool
	t   testing.TB
	ctx context.Context
}

// NewOwner opens a pool on the owner URL that New or NewURL returned,
// closed when the test ends.
func NewOwner(t testing.TB, url string) *Owner {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return &Owner{Pool: pool, t: t, ctx: ctx}
}

// ID runs sql and returns the one number it yields: a new row's id or a count.
func (o *Owner) ID(sql string, args ...any) int64 {
	o.t.Helper()
	var id int64
	if err := o.QueryRow(o.ctx, sql, args...).Scan(&id); err != nil {
		o.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

// Count is ID for a count(*).
func (o *Owner) Count(sql string, args ...any) int {
	o.t.Helper()
	return int(o.ID(sql, args...))
}

// Run executes sql that returns nothing. (The pool's own Exec stays
// reachable for tests that look at the error themselves.)
func (o *Owner) Run(sql string, args ...any) {
	o.t.Helper()
	if _, err := o.Exec(o.ctx, sql, args...); err != nil {
		o.t.Fatalf("%s: %v", sql, err)
	}
}

// Municipality adds a municipality whose slug is also its name.
func (o *Owner) Municipality() int64 {
	o.t.Helper()
	return o.ID(`INSERT INTO municipalities (slug, name) VALUES ($1, $1) RETURNING id`, fmt.Sprintf("m%d", seeds.Add(1)))
}

// ServicePoint adds a service point with nothing but a slug.
func (o *Owner) ServicePoint(tenant int64) int64 {
	o.t.Helper()
	return o.ID(`INSERT INTO service_points (municipality_id, slug) VALUES ($1, $2) RETURNING id`,
		tenant, fmt.Sprintf("sp%d", seeds.Add(1)))
}

// Staff adds a staff member with no role yet.
func (o *Owner) Staff(tenant int64, name string) int64 {
	o.t.Helper()
	return o.ID(`INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
		tenant, fmt.Sprintf("s%d@example.org", seeds.Add(1)), name)
}

// Grant gives a staff member a role at a service point (0: municipality-wide).
func (o *Owner) Grant(tenant, staff, servicePoint int64, role string) {
	o.t.Helper()
	o.Run(`INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, nullif($3::bigint, 0), $4)`,
		tenant, staff, servicePoint, role)
}

// Client adds the client Amina Hassan of a service point, speaking
// language, with a responsible expert (0: none).
func (o *Owner) Client(tenant, servicePoint, responsible int64, language string) int64 {
	o.t.Helper()
	return o.ID(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language, responsible_staff_id)
		VALUES ($1, $2, 'Amina', 'Hassan', $3, nullif($4::bigint, 0)) RETURNING id`, tenant, servicePoint, language, responsible)
}
