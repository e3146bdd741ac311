package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

var helsinki = mustZone("Europe/Helsinki")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// fakeClock is a settable clock shared by the service and the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// futureWednesday is a Wednesday at hh:mm Helsinki time at least two days
// ahead of the real clock: follow tokens expire at the end of the fake day,
// and the database checks them against its own clock too.
func futureWednesday(hh, mm int) time.Time {
	d := time.Now().In(helsinki).AddDate(0, 0, 8)
	for d.Weekday() != time.Wednesday {
		d = d.AddDate(0, 0, -1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, helsinki)
}

var slugs atomic.Int64

// fixture is one tenant with one service point, three topics (A and C share
// the prefix "A"), two desks, two experts and a kiosk, plus the owner pool
// for set-up and for checking what the application role cannot see.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	db     *store.DB
	owner  *testdb.Owner
	clock  *fakeClock
	svc    *Service
	tenant int64
	sp     int64
	topicA int64
	topicB int64
	topicC int64
	desk1  int64
	desk2  int64
	staff1 int64
	staff2 int64
	kiosk  int64
}

func newFixture(t testing.TB, hours string, now time.Time) *fixture {
	t.Helper()
	db, url := testdb.New(t)
	f := &fixture{t: t, ctx: context.Background(), db: db, owner: testdb.NewOwner(t, url), clock: &fakeClock{t: now}}
	f.svc = New(db, f.clock.Now)
	f.tenant = f.addTenant()
	f.sp = f.addServicePoint(f.tenant, hours)
	f.topicA = f.addTopic(f.tenant, f.sp, "A", true)
	f.topicB = f.addTopic(f.tenant, f.sp, "B", true)
	f.topicC = f.addTopic(f.tenant, f.sp, "A", true)
	f.desk1 = f.addDesk(f.tenant, f.sp, "1")
	f.desk2 = f.addDesk(f.tenant, f.sp, "2")
	f.staff1 = f.addStaff(f.tenant)
	f.staff2 = f.addStaff(f.tenant)
	f.kiosk = f.addKiosk(f.tenant, f.sp)
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

func (f *fixture) addServicePoint(tenant int64, hours string) int64 {
	n := slugs.Add(1)
	return f.id(`INSERT INTO service_points (municipality_id, slug, opening_hours, max_recalls)
		VALUES ($1, $2, $3, 2) RETURNING id`, tenant, fmt.Sprintf("sp%d", n), hours)
}

func (f *fixture) addTopic(tenant, sp int64, prefix string, active bool) int64 {
	return f.id(`INSERT INTO topics (municipality_id, service_point_id, pictogram, prefix, active)
		VALUES ($1, $2, 'x', $3, $4) RETURNING id`, tenant, sp, prefix, active)
}

func (f *fixture) addDesk(tenant, sp int64, name string) int64 {
	return f.id(`INSERT INTO desks (municipality_id, service_point_id, name) VALUES ($1, $2, $3) RETURNING id`,
		tenant, sp, name)
}

// addStaff adds a staff member with no role: a test hands the service its
// grants in the principal it builds (see expert).
func (f *fixture) addStaff(tenant int64) int64 { f.t.Helper(); return f.owner.Staff(tenant, "x") }

// addKiosk pairs a kiosk to a service point; its credential is kioskToken(id).
func (f *fixture) addKiosk(tenant, sp int64) int64 {
	id := f.id(`INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES ($1, $2, 'kiosk', 'k') RETURNING id`,
		tenant, sp)
	f.exec(`UPDATE devices SET token_hash = $2 WHERE id = $1`, id, auth.Hash(kioskToken(id)))
	return id
}

func kioskToken(deviceID int64) string { return fmt.Sprintf("kiosk-credential-%d", deviceID) }

// kioskOf is how the web layer names a kiosk: its service point's address
// and its credential.
func (f *fixture) kioskOf(deviceID int64) Device {
	var slug string
	if err := f.owner.QueryRow(f.ctx, `SELECT sp.slug FROM devices d JOIN service_points sp ON sp.id = d.service_point_id
		WHERE d.id = $1`, deviceID).Scan(&slug); err != nil {
		f.t.Fatal(err)
	}
	return Device{Kind: auth.KindKiosk, Slug: slug, Token: kioskToken(deviceID)}
}

// tap is a kiosk's tap with a fresh one-time key.
func (f *fixture) tap(deviceID, topic int64, lang string, interpreter bool) (Taken, error) {
	_, out, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(deviceID),
		TakeRequest{TopicID: topic, Language: lang, Interpreter: interpreter, Key: NewTakeKey()})
	return out, err
}

// takeAt takes a ticket at a service point with no kiosk (so no flood
// limit), the way tests fill a queue.
func (f *fixture) takeAt(tenant, sp, topic int64, lang string) (Ticket, string, error) {
	var out Taken
	err := f.db.InTenant(f.ctx, tenant, func(tx sqldb.Tx) error {
		p, err := f.svc.loadServicePoint(f.ctx, tx, sp)
		if err != nil {
			return err
		}
		out, err = f.svc.take(f.ctx, tx, p, 0, TakeRequest{TopicID: topic, Language: lang}, true, false)
		return err
	})
	return out.Ticket, out.Token, err
}

// expert is a staff member working at a service point's desk (0: none).
func (f *fixture) expert(tenant, sp, desk, staff int64, languages []string) Expert {
	f.t.Helper()
	var slug string
	if err := f.owner.QueryRow(f.ctx, `SELECT slug FROM service_points WHERE id = $1`, sp).Scan(&slug); err != nil {
		f.t.Fatal(err)
	}
	actor := auth.Principal{StaffID: staff, Tenant: tenant, Languages: languages,
		Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: sp}}}
	return Expert{Actor: actor, Slug: slug, Desk: desk}
}

// take takes a ticket for topic at the clock's time, with no kiosk.
func (f *fixture) take(topic int64, lang string) (Ticket, string) {
	f.t.Helper()
	t, tok, err := f.takeAt(f.tenant, f.sp, topic, lang)
	if err != nil {
		f.t.Fatalf("take: %v", err)
	}
	return t, tok
}

// takeAfter moves the clock by step first, so tickets have distinct arrivals.
func (f *fixture) takeAfter(step time.Duration, topic int64, lang string) Ticket {
	f.t.Helper()
	f.clock.Advance(step)
	t, _ := f.take(topic, lang)
	return t
}

func (f *fixture) state(ticketID int64) TicketState {
	f.t.Helper()
	var s string
	if err := f.owner.QueryRow(f.ctx, `SELECT state FROM tickets WHERE id = $1`, ticketID).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return TicketState(s)
}

// seq reads a live channel's sequence as the owner sees it.
func (f *fixture) seq(channel string) int64 {
	f.t.Helper()
	var n int64
	err := f.owner.QueryRow(f.ctx, `SELECT coalesce((SELECT seq FROM live_channels WHERE channel = $1), 0)`, channel).Scan(&n)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
