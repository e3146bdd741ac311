package outreach

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// fixture is one municipality with two service points, an expert at each
// (Anna at the first is the client's responsible expert), and a client of
// the first; the clock can be moved.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *store.DB
	owner  *testdb.Owner
	svc    *Service
	now    time.Time
	tenant int64
	sp     int64
	sp2    int64
	anna   int64
	ben    int64 // expert at sp too, not responsible
	cecil  int64 // expert at sp2
	client int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, url := testdb.New(t)
	return fixtureOn(t, db, url)
}

// fixtureOn is newFixture on a database of the test's own choosing.
func fixtureOn(t testing.TB, db *store.DB, url string) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), db: db, owner: testdb.NewOwner(t, url), now: time.Now().Truncate(time.Second)}
	clock := func() time.Time { return f.now }
	f.svc = New(db, tasks.NewService(db, clock), clock)
	f.tenant = f.owner.Municipality()
	f.sp = f.owner.ServicePoint(f.tenant)
	f.sp2 = f.owner.ServicePoint(f.tenant)
	f.anna = f.addStaff(f.sp, "Anna")
	f.ben = f.addStaff(f.sp, "Ben")
	f.cecil = f.addStaff(f.sp2, "Cecil")
	f.client = f.owner.Client(f.tenant, f.sp, f.anna, "so")
	return f
}

// addStaff adds an expert at sp.
func (f *fixture) addStaff(sp int64, name string) int64 {
	id := f.owner.Staff(f.tenant, name)
	f.owner.Grant(f.tenant, id, sp, auth.RoleExpert)
	return id
}

// stranger is an expert of another municipality in the same database, and
// an appointment of that municipality's own client.
func (f *fixture) stranger() (auth.Principal, int64) {
	tenant := f.owner.Municipality()
	sp := f.owner.ServicePoint(tenant)
	staff := f.owner.Staff(tenant, "Stranger")
	f.owner.Grant(tenant, staff, sp, auth.RoleExpert)
	client := f.owner.ID(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name) VALUES ($1, $2, 'Other', 'Client') RETURNING id`,
		tenant, sp)
	appt := f.owner.ID(`INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, starts_at, duration_minutes)
		VALUES ($1, $2, $3, $4, 'phone', $5, 30) RETURNING id`, tenant, client, sp, staff, f.now.Add(time.Hour))
	return auth.Principal{StaffID: staff, Tenant: tenant, Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: sp}}}, appt
}

// actor is a staff member as the web layer hands them over.
func (f *fixture) actor(staffID int64) auth.Principal {
	var sp int64
	if err := f.owner.QueryRow(f.ctx, `SELECT service_point_id FROM staff_roles WHERE staff_id = $1`, staffID).Scan(&sp); err != nil {
		f.t.Fatal(err)
	}
	return auth.Principal{StaffID: staffID, Tenant: f.tenant, Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: sp}}}
}

// appointment books the client with an expert at sp, starting in.
func (f *fixture) appointment(staff int64, in time.Duration, code string) int64 {
	return f.owner.ID(`INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, starts_at, duration_minutes, code)
		VALUES ($1, $2, $3, $4, 'in_person', $5, 30, nullif($6, '')) RETURNING id`, f.tenant, f.client, f.sp, staff, f.now.Add(in), code)
}

// phone enrols a phone for the client and returns its credential.
func (f *fixture) phone() string {
	f.t.Helper()
	e, err := f.svc.CreateEnrolment(f.ctx, f.actor(f.anna), f.client)
	if err != nil {
		f.t.Fatal(err)
	}
	cred, err := f.svc.Enrol(f.ctx, e.Token)
	if err != nil {
		f.t.Fatal(err)
	}
	return cred
}
