package appointments

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// fixture is a municipality with two service points, an expert at each,
// and a client of the first; other is a second municipality's admin.
type fixture struct {
	t           *testing.T
	ctx         context.Context
	owner       *testdb.Owner
	db          *store.DB
	svc         *Service
	now         time.Time
	tenant      int64
	sp, sp2     int64
	desk, topic int64
	expert      auth.Principal // works at sp
	colleague   auth.Principal // works at sp
	stranger    auth.Principal // works at sp2 only
	other       auth.Principal // another municipality's admin
	client      int64
}

func newFixture(t *testing.T) *fixture {
	db, url := testdb.New(t)
	f := &fixture{t: t, ctx: context.Background(), owner: testdb.NewOwner(t, url), db: db,
		now: time.Date(2030, 3, 6, 9, 0, 0, 0, helsinki)}
	f.svc = New(db, func() time.Time { return f.now })
	f.tenant = f.owner.Municipality()
	f.sp = f.owner.ServicePoint(f.tenant)
	f.sp2 = f.owner.ServicePoint(f.tenant)
	f.desk = f.owner.ID(`INSERT INTO desks (municipality_id, service_point_id, name) VALUES ($1, $2, '3') RETURNING id`, f.tenant, f.sp)
	f.topic = f.owner.ID(`INSERT INTO topics (municipality_id, service_point_id, pictogram, prefix) VALUES ($1, $2, 'x', 'A') RETURNING id`,
		f.tenant, f.sp)
	f.expert = f.staff(f.tenant, f.sp, auth.RoleExpert)
	f.colleague = f.staff(f.tenant, f.sp, auth.RoleExpert)
	f.stranger = f.staff(f.tenant, f.sp2, auth.RoleExpert)
	f.other = f.staff(f.owner.Municipality(), 0, auth.RoleAdmin)
	f.client = f.owner.Client(f.tenant, f.sp, 0, "ar")
	return f
}

var staffNames atomic.Int64

// staff adds an active staff member with one role (spID 0: municipality-wide).
func (f *fixture) staff(tenant, spID int64, role string) auth.Principal {
	f.t.Helper()
	id := f.owner.Staff(tenant, fmt.Sprintf("Expert %d", staffNames.Add(1)))
	f.owner.Grant(tenant, id, spID, role)
	g := auth.Grant{Role: role, ServicePointID: spID}
	return auth.Principal{StaffID: id, Tenant: tenant, Grants: []auth.Grant{g}}
}

func (f *fixture) booking(at time.Time) Booking {
	return Booking{ClientID: f.client, ServicePointID: f.sp, StaffID: f.expert.StaffID, Channel: InPerson, DeskID: f.desk,
		TopicID: f.topic, StartsAt: at, Minutes: 45, InterpreterLanguage: "ar"}
}

// logged counts the access-log rows about the client with action and result.
func (f *fixture) logged(staff int64, action, result string) int {
	f.t.Helper()
	return f.owner.Count(`SELECT count(*) FROM access_log WHERE subject_kind = 'client' AND subject_id = $1 AND staff_id = $2
		AND action = $3 AND result = $4 AND purpose = $5`, f.client, staff, action, result, Purpose)
}

var codeShape = regexp.MustCompile(`^[0-9]{8}$`)

func TestBookWarnsOfADoubleBookingAndLogs(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2030, 3, 7, 10, 0, 0, 0, helsinki)
	a, err := f.svc.Book(f.ctx, f.expert, f.booking(at))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != Booked || !codeShape.MatchString(a.Code) || a.ClientName != "Amina Hassan" || a.DeskName != "3" {
		t.Errorf("booked %+v, want booked with an eight-digit code, the client's name and desk 3", a)
	}
	if n := f.logged(f.expert.StaffID, "create", "ok"); n != 1 {
		t.Errorf("%d create rows in the access log, want 1", n)
	}

	// Half an hour later meets the first: a warning, nothing booked.
	b := f.booking(at.Add(30 * time.Minute))
	_, err = f.svc.Book(f.ctx, f.colleague, b)
	var dbl *DoubleBooking
	if !errors.As(err, &dbl) || len(dbl.With) != 1 || dbl.With[0].ID != a.ID {
		t.Fatalf("overlapping booking: %v, want a warning naming the first", err)
	}
	b.AllowOverlap = true
	second, err := f.svc.Book(f.ctx, f.colleague, b)
	if err != nil || second.Code == a.Code {
		t.Fatalf("booking anyway: %v (codes %s and %s)", err, a.Code, second.Code)
	}
	// Right after the first is free; by phone there is no code or desk.
	b = f.booking(at.Add(2 * time.Hour))
	b.Channel = Phone
	phone, err := f.svc.Book(f.ctx, f.expert, b)
	if err != nil || phone.Code != "" || phone.DeskID != nil {
		t.Fatalf("phone booking: %v, code %q desk %v, want none", err, phone.Code, phone.DeskID)
	}

	day, err := f.svc.ExpertDay(f.ctx, f.expert, 0, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(day.Items) != 3 || !day.Overlapping[a.ID] || !day.Overlapping[second.ID] || day.Overlapping[phone.ID] {
		t.Errorf("expert's day: %d items, overlapping %v, want 3 with the first two marked", len(day.Items), day.Overlapping)
	}
	if n := f.logged(f.expert.StaffID, "read", "ok"); n != 1 {
		t.Errorf("the day view wrote %d read rows for its one client, want 1", n)
	}
}

func TestBookingIsRefused(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2030, 3, 7, 10, 0, 0, 0, helsinki)
	cases := []struct {
		name  string
		actor auth.Principal
		edit  func(*Booking)
		want  error
	}{
		{"an expert of another service point", f.stranger, nil, ErrForbidden},
		{"another municipality", f.other, nil, ErrNotFound},
		{"in the past", f.expert, func(b *Booking) { b.StartsAt = f.now.Add(-time.Minute) }, ErrInPast},
		{"an expert who does not work there", f.expert, func(b *Booking) { b.StaffID = f.stranger.StaffID }, ErrUnknownExpert},
		{"another service point's desk", f.expert, func(b *Booking) { b.ServicePointID = f.sp2 }, ErrForbidden},
		{"too long", f.expert, func(b *Booking) { b.Minutes = MaxMinutes + 1 }, ErrBadBooking},
	}
	for _, tc := range cases {
		b := f.booking(at)
		if tc.edit != nil {
			tc.edit(&b)
		}
		if _, err := f.svc.Book(f.ctx, tc.actor, b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := f.owner.ID(`SELECT count(*) FROM appointments`); n != 0 {
		t.Errorf("%d appointments after refused bookings, want 0", n)
	}
	if n := f.logged(f.stranger.StaffID, "create", "denied"); n != 1 {
		t.Errorf("%d denied rows for the other service point's expert, want 1", n)
	}
}

func TestStatusChangesAndWhoMaySee(t *testing.T) {
	f := newFixture(t)
	a, err := f.svc.Book(f.ctx, f.expert, f.booking(time.Date(2030, 3, 7, 10, 0, 0, 0, helsinki)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(f.ctx, f.stranger, a.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("another service point's expert reads it: %v", err)
	}
	if _, err := f.svc.Get(f.ctx, f.other, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another municipality reads it: %v", err)
	}
	if _, err := f.svc.SetStatus(f.ctx, f.colleague, a.ID, CheckedIn, 0); !errors.Is(err, ErrWrongState) {
		t.Errorf("checked in by hand: %v, want the kiosk's alone", err)
	}
	got, err := f.svc.SetStatus(f.ctx, f.colleague, a.ID, Confirmed, 0)
	if err != nil || got.Status != Confirmed || got.Code != a.Code {
		t.Fatalf("confirm: %v, %s code %q", err, got.Status, got.Code)
	}
	got, err = f.svc.SetStatus(f.ctx, f.colleague, a.ID, CancelledByClient, 0)
	if err != nil || got.Status != CancelledByClient || got.Code != "" {
		t.Fatalf("cancel: %v, %s code %q, want the code given up", err, got.Status, got.Code)
	}
	if _, err := f.svc.SetStatus(f.ctx, f.colleague, a.ID, Attended, 0); !errors.Is(err, ErrWrongState) {
		t.Errorf("attended after a cancellation: %v", err)
	}
	if n := f.logged(f.colleague.StaffID, "update", "ok"); n != 2 {
		t.Errorf("%d update rows, want 2", n)
	}
	day, err := f.svc.PointDay(f.ctx, f.stranger, "nope", f.now)
	if !errors.Is(err, ErrNotFound) || len(day.Items) != 0 {
		t.Errorf("an unknown service point's day: %v", err)
	}
	// The other service point's expert sees the expert's day without the
	// appointments of a service point they do not work at.
	day, err = f.svc.ExpertDay(f.ctx, f.stranger, f.expert.StaffID, a.StartsAt)
	if err != nil || len(day.Items) != 0 {
		t.Errorf("another service point's expert sees %d of the expert's appointments (%v), want 0", len(day.Items), err)
	}
}

func TestEraseClientKeepsNoPersonalData(t *testing.T) {
	f := newFixture(t)
	ahead, err := f.svc.Book(f.ctx, f.expert, f.booking(time.Date(2030, 3, 7, 10, 0, 0, 0, helsinki)))
	if err != nil {
		t.Fatal(err)
	}
	past, err := f.svc.Book(f.ctx, f.expert, f.booking(time.Date(2030, 3, 7, 12, 0, 0, 0, helsinki)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetStatus(f.ctx, f.expert, past.ID, Attended, 0); err != nil {
		t.Fatal(err)
	}
	part := ClientPart()
	var exported any
	err = f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
		var err error
		exported, err = part.Export(f.ctx, tx, f.client)
		return err
	})
	if got, ok := exported.([]Exported); err != nil || !ok || len(got) != 2 || got[1].Status != Attended {
		t.Fatalf("export: %v, %#v, want both appointments", err, exported)
	}
	if err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error { return part.Erase(f.ctx, tx, f.client) }); err != nil {
		t.Fatal(err)
	}
	if n := f.owner.ID(`SELECT count(*) FROM appointments WHERE id = $1`, ahead.ID); n != 0 {
		t.Error("an appointment still ahead survived the erasure")
	}
	if n := f.owner.ID(`SELECT count(*) FROM appointments WHERE id = $1 AND client_id IS NULL AND code IS NULL
		AND interpreter_language = ''`, past.ID); n != 1 {
		t.Error("the attended appointment still names the client")
	}
}
