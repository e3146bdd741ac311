package stats

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var slugs atomic.Int64

// fixture is two municipalities: the first with service points one and
// two, each with topics and referral services, the second with one service
// point of its own. The owner pool sets things up and counts what the
// application role might not see.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	db    *store.DB
	owner *testdb.Owner

	tenant, sp1, sp2           int64
	topicA, topicB, topicC     int64 // of sp1
	topicX                     int64 // of sp2
	ref1, ref2, refOff, refSP2 int64 // ref1, ref2 and the inactive refOff of sp1; refSP2 of sp2

	other, otherSP, otherTopic int64 // the second municipality
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	db, url := testdb.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, owner: testdb.NewOwner(t, url)}
	f.tenant = f.owner.Municipality()
	f.sp1 = f.addServicePoint(f.tenant)
	f.sp2 = f.addServicePoint(f.tenant)
	f.topicA = f.addTopic(f.tenant, f.sp1, "A", "Asuminen", "Housing")
	f.topicB = f.addTopic(f.tenant, f.sp1, "B", "Kela", "Kela")
	f.topicC = f.addTopic(f.tenant, f.sp1, "C", "Kielikurssit", "Language courses")
	f.topicX = f.addTopic(f.tenant, f.sp2, "A", "Työ", "Work")
	f.ref1 = f.addReferral(f.tenant, f.sp1, "Kela", true)
	f.ref2 = f.addReferral(f.tenant, f.sp1, "TE-palvelut", true)
	f.refOff = f.addReferral(f.tenant, f.sp1, "Lakkautettu", false)
	f.refSP2 = f.addReferral(f.tenant, f.sp2, "Kela", true)
	f.other = f.owner.Municipality()
	f.otherSP = f.addServicePoint(f.other)
	f.otherTopic = f.addTopic(f.other, f.otherSP, "A", "Asuminen", "Housing")
	return f
}

// The tests' short names for the owner's methods.
func (f *fixture) id(sql string, args ...any) int64 { f.t.Helper(); return f.owner.ID(sql, args...) }
func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	return f.owner.Count(sql, args...)
}

func (f *fixture) addServicePoint(tenant int64) int64 {
	slug := fmt.Sprintf("sp%d", slugs.Add(1))
	return f.id(`INSERT INTO service_points (municipality_id, slug, names) VALUES ($1, $2, jsonb_build_object('fi', $2::text, 'en', $2::text)) RETURNING id`, tenant, slug)
}

func (f *fixture) addTopic(tenant, sp int64, prefix, fi, en string) int64 {
	return f.id(`INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix) VALUES ($1, $2, jsonb_build_object('fi', $4::text, 'en', $5::text), 'other', $3) RETURNING id`,
		tenant, sp, prefix, fi, en)
}

func (f *fixture) addReferral(tenant, sp int64, name string, active bool) int64 {
	return f.id(`INSERT INTO referral_services (municipality_id, service_point_id, names, active) VALUES ($1, $2, jsonb_build_object('fi', $3::text), $4) RETURNING id`,
		tenant, sp, name, active)
}

// ticketTimes are a ticket's life; zero times stay NULL.
type ticketSpec struct {
	tenant, sp, topic                  int64
	state                              string
	day                                time.Time
	created, called, serving, finished time.Time
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

var ticketNumbers atomic.Int64

func (f *fixture) addTicket(s ticketSpec) int64 {
	f.t.Helper()
	if s.created.IsZero() {
		s.created = time.Now()
	}
	if s.day.IsZero() {
		s.day = DayOf(s.created)
	}
	return f.id(`INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number, service_day,
			language, state, created_at, called_at, serving_at, finished_at)
		VALUES ($1, $2, $3, $3, 'A', $4, $5::date, 'ar', $6, $7, $8, $9, $10) RETURNING id`,
		s.tenant, s.sp, s.topic, ticketNumbers.Add(1), s.day.Format(time.DateOnly), s.state, s.created,
		nullTime(s.called), nullTime(s.serving), nullTime(s.finished))
}

// doneTicket is a served ticket of sp1 that arrived an hour ago.
func (f *fixture) doneTicket() int64 {
	now := time.Now().Truncate(time.Second)
	return f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp1, topic: f.topicA, state: "done",
		created: now.Add(-time.Hour), called: now.Add(-40 * time.Minute), serving: now.Add(-39 * time.Minute), finished: now.Add(-20 * time.Minute)})
}

func expertAt(tenant, sp int64) auth.Principal {
	return auth.Principal{StaffID: 101, Tenant: tenant, Name: "Expert", Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: sp}}}
}

func leadAt(tenant int64, sps ...int64) auth.Principal {
	p := auth.Principal{StaffID: 102, Tenant: tenant, Name: "Lead"}
	for _, sp := range sps {
		p.Grants = append(p.Grants, auth.Grant{Role: auth.RoleLead, ServicePointID: sp})
	}
	return p
}

func adminOf(tenant int64) auth.Principal {
	return auth.Principal{StaffID: 103, Tenant: tenant, Name: "Admin", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
}

// record runs record in the fixture's first municipality, as the web layer
// would: one transaction, rolled back on any error.
func (f *fixture) record(actor auth.Principal, v Visit) (int64, error) {
	var id int64
	err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
		var err error
		id, err = record(f.ctx, tx, actor, v)
		return err
	})
	return id, err
}

func (f *fixture) load(actor auth.Principal, filter Filter) (*Report, error) {
	var r *Report
	err := f.db.InTenant(f.ctx, actor.Tenant, func(tx sqldb.Tx) error {
		var err error
		r, err = load(f.ctx, tx, actor, filter)
		return err
	})
	return r, err
}
