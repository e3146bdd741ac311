package tasks

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// fixture is one municipality with two service points, two experts at the
// first (one of them responsible for a client), an expert at the second and
// a lead, plus the owner pool for set-up and checks.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *store.DB
	owner  *testdb.Owner
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
	f := &fixture{t: t, ctx: context.Background(), db: db, owner: testdb.NewOwner(t, url), svc: NewService(db, nil)}
	f.tenant = f.owner.Municipality()
	f.sp = f.owner.ServicePoint(f.tenant)
	f.sp2 = f.owner.ServicePoint(f.tenant)
	f.anna = f.addStaff(f.tenant, f.sp, auth.RoleExpert, "Anna")
	f.ben = f.addStaff(f.tenant, f.sp, auth.RoleExpert, "Ben")
	f.cecil = f.addStaff(f.tenant, f.sp2, auth.RoleExpert, "Cecil")
	f.lea = f.addStaff(f.tenant, f.sp, auth.RoleLead, "Lea")
	f.client = f.addClient(f.tenant, f.sp, f.anna)
	return f
}

// The tests' short names for the owner's methods.
func (f *fixture) id(sql string, args ...any) int64 { f.t.Helper(); return f.owner.ID(sql, args...) }
func (f *fixture) exec(sql string, args ...any)     { f.t.Helper(); f.owner.Run(sql, args...) }
func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	return f.owner.Count(sql, args...)
}
func (f *fixture) addTenant() int64 { f.t.Helper(); return f.owner.Municipality() }
func (f *fixture) addServicePoint(tenant int64) int64 {
	f.t.Helper()
	return f.owner.ServicePoint(tenant)
}

// addClient adds a client whose language is the default, Finnish.
func (f *fixture) addClient(tenant, sp, expert int64) int64 {
	f.t.Helper()
	return f.owner.Client(tenant, sp, expert, "fi")
}

func (f *fixture) addStaff(tenant, sp int64, role, name string) int64 {
	id := f.owner.Staff(tenant, name)
	f.owner.Grant(tenant, id, sp, role)
	return id
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

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}
