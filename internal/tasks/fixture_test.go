package tasks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var slugs atomic.Int64

// fixture is one municipality with two service points, two experts at the
// first (one of them responsible for a client), an expert at the second and
// a lead, plus the owner pool for set-up and checks.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *store.DB
	owner  *pgxpool.Pool
	svc    *Service
	tenant int64
	sp     int64
	sp2    int64
	anna   int64 // expert at sp, responsible for client
	ben    int64 // expert at sp
	cecil  int64 // expert at sp2
	lea    int64 // lead at sp
	client int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, url := testdb.New(t)
	ctx := context.Background()
	owner, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	f := &fixture{t: t, ctx: ctx, db: db, owner: owner, svc: NewService(db, nil)}
	f.tenant = f.addTenant()
	f.sp = f.addServicePoint(f.tenant)
	f.sp2 = f.addServicePoint(f.tenant)
	f.anna = f.addStaff(f.tenant, f.sp, auth.RoleExpert, "Anna")
	f.ben = f.addStaff(f.tenant, f.sp, auth.RoleExpert, "Ben")
	f.cecil = f.addStaff(f.tenant, f.sp2, auth.RoleExpert, "Cecil")
	f.lea = f.addStaff(f.tenant, f.sp, auth.RoleLead, "Lea")
	f.client = f.addClient(f.tenant, f.sp, f.anna)
	return f
}

func (f *fixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	var id int64
	if err := f.owner.QueryRow(f.ctx, sql, args...).Scan(&id); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
	return id
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	if _, err := f.owner.Exec(f.ctx, sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) addTenant() int64 {
	return f.id(`INSERT INTO municipalities (slug, name) VALUES ($1, $1) RETURNING id`, fmt.Sprintf("m%d", slugs.Add(1)))
}

func (f *fixture) addServicePoint(tenant int64) int64 {
	return f.id(`INSERT INTO service_points (municipality_id, slug) VALUES ($1, $2) RETURNING id`,
		tenant, fmt.Sprintf("sp%d", slugs.Add(1)))
}

func (f *fixture) addStaff(tenant, sp int64, role, name string) int64 {
	id := f.id(`INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, $2, $3, 'x') RETURNING id`,
		tenant, fmt.Sprintf("s%d@example.org", slugs.Add(1)), name)
	f.exec(`INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, $4)`,
		tenant, id, sp, role)
	return id
}

func (f *fixture) addClient(tenant, sp, expert int64) int64 {
	return f.id(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, responsible_staff_id)
		VALUES ($1, $2, 'Amina', 'Hassan', nullif($3, 0)) RETURNING id`, tenant, sp, expert)
}

// actor is a staff member of the fixture as the web layer hands them over.
func (f *fixture) actor(staffID int64) auth.Principal {
	f.t.Helper()
	p := auth.Principal{StaffID: staffID, Tenant: f.tenant}
	rows, err := f.owner.Query(f.ctx, `SELECT role, coalesce(service_point_id, 0) FROM staff_roles WHERE staff_id = $1`, staffID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var g auth.Grant
		if err := rows.Scan(&g.Role, &g.ServicePointID); err != nil {
			f.t.Fatal(err)
		}
		p.Grants = append(p.Grants, g)
	}
	return p
}

// create runs Create in a transaction of its own, as another domain
// package would inside its own.
func (f *fixture) create(n New) (Task, bool, error) {
	var t Task
	var created bool
	err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
		var err error
		t, created, err = f.svc.Create(f.ctx, tx, n)
		return err
	})
	return t, created, err
}

func (f *fixture) mustCreate(n New) Task {
	f.t.Helper()
	t, _, err := f.create(n)
	if err != nil {
		f.t.Fatalf("create %+v: %v", n, err)
	}
	return t
}

func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	return int(f.id(sql, args...))
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}
