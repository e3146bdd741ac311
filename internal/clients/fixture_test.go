package clients

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var serial atomic.Int64

// fixture is two municipalities: the first with service points one and two
// and staff (an expert at each, a lead of one, an admin), the second with
// a service point and an admin of its own.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	db    *store.DB
	owner *testdb.Owner
	svc   *Service

	tenant, sp1, sp2        int64
	expert1, expert2, lead1 auth.Principal
	admin                   auth.Principal
	other, otherSP          int64
	otherAdmin              auth.Principal
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, url := testdb.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, owner: testdb.NewOwner(t, url), svc: New(db, nil)}
	f.tenant = f.owner.Municipality()
	f.sp1 = f.addServicePoint(f.tenant)
	f.sp2 = f.addServicePoint(f.tenant)
	f.expert1 = f.addStaff(f.tenant, "Eeva Expert", auth.Grant{Role: auth.RoleExpert, ServicePointID: f.sp1})
	f.expert2 = f.addStaff(f.tenant, "Erkki Expert", auth.Grant{Role: auth.RoleExpert, ServicePointID: f.sp2})
	f.lead1 = f.addStaff(f.tenant, "Liisa Lead", auth.Grant{Role: auth.RoleLead, ServicePointID: f.sp1})
	f.admin = f.addStaff(f.tenant, "Aino Admin", auth.Grant{Role: auth.RoleAdmin})
	f.other = f.owner.Municipality()
	f.otherSP = f.addServicePoint(f.other)
	f.otherAdmin = f.addStaff(f.other, "Other Admin", auth.Grant{Role: auth.RoleAdmin})
	return f
}

func (f *fixture) addServicePoint(tenant int64) int64 {
	slug := fmt.Sprintf("sp%d", serial.Add(1))
	return f.owner.ID(`INSERT INTO service_points (municipality_id, slug, names) VALUES ($1, $2, jsonb_build_object('fi', $2::text)) RETURNING id`, tenant, slug)
}

func (f *fixture) addStaff(tenant int64, name string, grants ...auth.Grant) auth.Principal {
	id := f.owner.Staff(tenant, name)
	for _, g := range grants {
		f.owner.Grant(tenant, id, g.ServicePointID, g.Role)
	}
	return auth.Principal{StaffID: id, Tenant: tenant, Name: name, Grants: grants}
}

// logged counts access-log rows about client id (0: searches).
func (f *fixture) logged(actor auth.Principal, id int64, action, result string) int {
	f.t.Helper()
	return f.owner.Count(`SELECT count(*) FROM access_log WHERE staff_id = $1 AND subject_kind = 'client'
		AND coalesce(subject_id, 0) = $2 AND action = $3 AND result = $4`, actor.StaffID, id, action, result)
}

// create registers a client at sp1 as expert1.
func (f *fixture) create(first, last string) Client {
	f.t.Helper()
	c, err := f.svc.Create(f.ctx, f.expert1, Input{ServicePointID: f.sp1, FirstNames: first, LastName: last, Language: "fi"})
	if err != nil {
		f.t.Fatalf("create %s %s: %v", first, last, err)
	}
	return c
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
