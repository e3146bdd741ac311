package org_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/hours"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// fixture is the demo municipality, a second service point in it, and a
// second municipality, with principals built from what is stored.
type fixture struct {
	db                     *store.DB
	owner                  *pgx.Conn
	tenant, sp, sp2        int64
	otherTenant, otherSP   int64
	admin, lead, expert    auth.Principal
	otherAdmin             auth.Principal
	deskID, topicID, refID int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, ownerURL := testdb.New(t)
	if err := demo.Seed(ctx, ownerURL, "org tests password"); err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = owner.Close(context.Background()) })
	f := &fixture{db: db, owner: owner}
	if err := owner.QueryRow(ctx, `SELECT municipality_id, id FROM service_points WHERE slug = 'demo'`).Scan(&f.tenant, &f.sp); err != nil {
		t.Fatal(err)
	}
	f.scan(t, `INSERT INTO service_points (municipality_id, slug) VALUES ($1, 'toinen') RETURNING id`, &f.sp2, f.tenant)
	f.scan(t, `INSERT INTO municipalities (slug, name) VALUES ('muu', 'Muu') RETURNING id`, &f.otherTenant)
	f.scan(t, `INSERT INTO service_points (municipality_id, slug) VALUES ($1, 'muualla') RETURNING id`, &f.otherSP, f.otherTenant)
	var otherAdmin int64
	f.scan(t, `INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, 'admin@muu.example', 'Muu Admin', 'x') RETURNING id`, &otherAdmin, f.otherTenant)
	f.exec(t, `INSERT INTO staff_roles (municipality_id, staff_id, role) VALUES ($1, $2, 'admin')`, f.otherTenant, otherAdmin)
	f.admin = f.principal(t, demo.AdminEmail)
	f.lead = f.principal(t, demo.LeadEmail)
	f.expert = f.principal(t, demo.ExpertEmail)
	f.otherAdmin = auth.Principal{StaffID: otherAdmin, Tenant: f.otherTenant, Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	f.scan(t, `SELECT min(id) FROM desks WHERE service_point_id = $1`, &f.deskID, f.sp)
	f.scan(t, `SELECT min(id) FROM topics WHERE service_point_id = $1`, &f.topicID, f.sp)
	f.scan(t, `SELECT min(id) FROM referral_services WHERE service_point_id = $1`, &f.refID, f.sp)
	return f
}

func (f *fixture) scan(t *testing.T, sql string, dst any, args ...any) {
	t.Helper()
	if err := f.owner.QueryRow(context.Background(), sql, args...).Scan(dst); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.owner.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) principal(t *testing.T, email string) auth.Principal {
	t.Helper()
	p := auth.Principal{Tenant: f.tenant, Email: email}
	f.scan(t, `SELECT id FROM staff WHERE email = $1`, &p.StaffID, email)
	rows, err := f.owner.Query(context.Background(), `SELECT role, coalesce(service_point_id, 0) FROM staff_roles WHERE staff_id = $1`, p.StaffID)
	if err != nil {
		t.Fatal(err)
	}
	p.Grants, err = pgx.CollectRows(rows, pgx.RowToStructByPos[auth.Grant])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// snapshot is everything the set-up can change, to prove a refusal
// changed nothing.
func (f *fixture) snapshot(t *testing.T) string {
	t.Helper()
	var s string
	f.scan(t, `SELECT concat_ws('|',
		(SELECT string_agg(concat_ws(':', id, slug, names, time_zone, opening_hours, target_wait_minutes), ',' ORDER BY id) FROM service_points),
		(SELECT string_agg(concat_ws(':', id, name, active), ',' ORDER BY id) FROM desks),
		(SELECT string_agg(concat_ws(':', id, labels, prefix, active), ',' ORDER BY id) FROM topics),
		(SELECT string_agg(concat_ws(':', id, names, active), ',' ORDER BY id) FROM referral_services),
		(SELECT string_agg(concat_ws(':', id, name, pair_code_hash IS NULL, token_hash IS NULL, revoked_at IS NULL), ',' ORDER BY id) FROM devices),
		(SELECT string_agg(concat_ws(':', id, name, locale, active, languages), ',' ORDER BY id) FROM staff),
		(SELECT string_agg(concat_ws(':', staff_id, service_point_id, role), ',' ORDER BY id) FROM staff_roles))`, &s)
	return s
}

// fakePairing stands in for auth's code issuing, to see whether org called it.
type fakePairing struct{ issued, revoked int }

func (p *fakePairing) IssuePairCode(context.Context, sqldb.Tx, int64) (string, error) {
	p.issued++
	return "1234-5678", nil
}

func (p *fakePairing) Revoke(context.Context, sqldb.Tx, int64) error {
	p.revoked++
	return nil
}

func TestEveryChangeChecksTheActor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before := f.snapshot(t)
	pairing := &fakePairing{}
	svc := org.New(f.db, pairing)
	demoDevice := int64(0)
	f.scan(t, `SELECT min(id) FROM devices WHERE service_point_id = $1`, &demoDevice, f.sp)
	expertID := f.expert.StaffID
	changes := map[string]func(actor auth.Principal) error{
		"create service point": func(a auth.Principal) error {
			return svc.CreateServicePoint(ctx, a, &org.ServicePoint{Slug: "uusi", TimeZone: "UTC", TargetWaitMinutes: 5})
		},
		"update service point": func(a auth.Principal) error {
			return svc.UpdateServicePoint(ctx, a, "demo", &org.ServicePoint{Names: org.Labels{"fi": "X"}, TimeZone: "UTC", TargetWaitMinutes: 5})
		},
		"save desk": func(a auth.Principal) error {
			return svc.SaveDesk(ctx, a, "demo", &org.Desk{ID: f.deskID, Name: "X"})
		},
		"add desk": func(a auth.Principal) error {
			return svc.SaveDesk(ctx, a, "demo", &org.Desk{Name: "X"})
		},
		"save topic": func(a auth.Principal) error {
			return svc.SaveTopic(ctx, a, "demo", &org.Topic{ID: f.topicID, Labels: org.Labels{"fi": "X"}, Pictogram: "other", Prefix: "X"})
		},
		"save referral": func(a auth.Principal) error {
			return svc.SaveReferral(ctx, a, "demo", &org.Referral{ID: f.refID, Names: org.Labels{"fi": "X"}})
		},
		"create device": func(a auth.Principal) error {
			_, _, err := svc.CreateDevice(ctx, a, "demo", auth.KindKiosk, "X")
			return err
		},
		"issue code": func(a auth.Principal) error {
			_, _, err := svc.IssueDeviceCode(ctx, a, "demo", demoDevice)
			return err
		},
		"revoke device": func(a auth.Principal) error {
			return svc.RevokeDevice(ctx, a, "demo", demoDevice)
		},
		"create member": func(a auth.Principal) error {
			return svc.CreateMember(ctx, a, &org.Member{Email: "x@example.org", Name: "X", Locale: "fi", Active: true,
				Grants: []auth.Grant{{Role: auth.RoleAdmin}}}, "hash")
		},
		"update member": func(a auth.Principal) error {
			return svc.UpdateMember(ctx, a, &org.Member{ID: expertID, Name: "X", Locale: "fi", Active: true,
				Grants: []auth.Grant{{Role: auth.RoleAdmin}}})
		},
		"read access log": func(a auth.Principal) error {
			_, err := svc.AccessLog(ctx, a, &audit.Filter{})
			return err
		},
	}
	// Who may not: an expert anything; a lead the municipality's things;
	// nobody at all; and another municipality's admin, whose transaction
	// is their own municipality's, where this one's rows do not exist.
	lead := map[string]bool{"create service point": true, "create member": true, "update member": true, "read access log": true}
	ownMunicipality := map[string]bool{"create service point": true, "create member": true, "read access log": true}
	for name, change := range changes {
		for who, actor := range map[string]auth.Principal{"expert": f.expert, "nobody": {Tenant: f.tenant}, "other admin": f.otherAdmin, "lead": f.lead} {
			if who == "lead" && !lead[name] || who == "other admin" && ownMunicipality[name] {
				continue
			}
			err := change(actor)
			if !errors.Is(err, org.ErrForbidden) && !(who == "other admin" && errors.Is(err, sqldb.ErrNotFound)) {
				t.Errorf("%s by %s: %v, want ErrForbidden", name, who, err)
			}
		}
	}
	if pairing.issued+pairing.revoked != 0 {
		t.Error("a refused actor reached the pairing service")
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("refusals changed the set-up:\n%s\n%s", before, after)
	}
	// The lead of one service point is not the lead of another.
	if err := svc.SaveDesk(ctx, f.lead, "toinen", &org.Desk{Name: "X"}); !errors.Is(err, org.ErrForbidden) {
		t.Errorf("lead of demo added a desk to another service point: %v", err)
	}
	// And what they may do works.
	if err := svc.SaveDesk(ctx, f.lead, "demo", &org.Desk{Name: "Uusi", Active: true}); err != nil {
		t.Errorf("the lead's own desk: %v", err)
	}
	if _, code, err := svc.IssueDeviceCode(ctx, f.lead, "demo", demoDevice); err != nil || pairing.issued != 1 || code.Code == "" {
		t.Errorf("the lead's own device code: %v (issued %d)", err, pairing.issued)
	}
}

func TestRowsOfAnotherServicePointOrTenantAreNotFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var foreignDevice int64
	f.scan(t, `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES ($1, $2, 'kiosk', 'Vieras') RETURNING id`, &foreignDevice, f.tenant, f.sp2)
	pairing := &fakePairing{}
	svc := org.New(f.db, pairing)
	before := f.snapshot(t)
	if _, err := svc.ServicePointSetup(ctx, f.admin, "muualla"); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("another municipality's service point: %v", err)
	}
	// An admin may manage sp2, but the desk named is sp's.
	if err := svc.SaveDesk(ctx, f.admin, "toinen", &org.Desk{ID: f.deskID, Name: "X"}); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("desk of another service point: %v", err)
	}
	if err := svc.SaveTopic(ctx, f.admin, "toinen", &org.Topic{ID: f.topicID, Pictogram: "other", Prefix: "X"}); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("topic of another service point: %v", err)
	}
	if err := svc.SaveReferral(ctx, f.admin, "toinen", &org.Referral{ID: f.refID}); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("referral service of another service point: %v", err)
	}
	if _, _, err := svc.IssueDeviceCode(ctx, f.admin, "demo", foreignDevice); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("device of another service point: %v", err)
	}
	if err := svc.RevokeDevice(ctx, f.admin, "demo", foreignDevice); !errors.Is(err, sqldb.ErrNotFound) {
		t.Errorf("revoke a device of another service point: %v", err)
	}
	// A role in another municipality's service point cannot be given:
	// the foreign key alone would take it.
	err := svc.CreateMember(ctx, f.admin, &org.Member{Email: "y@example.org", Name: "Y", Locale: "fi", Active: true,
		Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: f.otherSP}}}, "hash")
	if !errors.Is(err, org.ErrBadGrant) {
		t.Errorf("role in another municipality: %v", err)
	}
	if pairing.issued+pairing.revoked != 0 {
		t.Fatalf("issued %d, revoked %d", pairing.issued, pairing.revoked)
	}
	if after := f.snapshot(t); after != before {
		t.Errorf("not-found changes changed the set-up:\n%s\n%s", before, after)
	}
}

func TestStaffRecordsAreLoggedAndGuarded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := org.New(f.db, &fakePairing{})
	logged := func(actor auth.Principal, subject int64, action, result string) int {
		var n int
		f.scan(t, `SELECT count(*) FROM access_log WHERE staff_id = $1 AND subject_kind = 'staff' AND subject_id = $2 AND action = $3 AND result = $4`,
			&n, actor.StaffID, subject, action, result)
		return n
	}
	// Reading writes an "ok" row in the same transaction.
	form, err := svc.MemberForm(ctx, f.lead, f.expert.StaffID, true)
	if err != nil || form.Member.Email != demo.ExpertEmail || logged(f.lead, f.expert.StaffID, "read", "ok") != 1 {
		t.Fatalf("read: %+v %v", form.Member, err)
	}
	// Opening a record to change it is not a read of its own: the change is
	// what gets logged.
	if _, err := svc.MemberForm(ctx, f.lead, f.expert.StaffID, false); err != nil || logged(f.lead, f.expert.StaffID, "read", "ok") != 1 {
		t.Fatalf("open for change: %v", err)
	}
	// A refused read rolls back, and the "denied" row is written after.
	_, err = svc.MemberForm(ctx, f.lead, f.admin.StaffID, true)
	var refusal *audit.Refusal
	if !errors.As(err, &refusal) || !errors.Is(err, org.ErrForbidden) {
		t.Fatalf("lead read the admin: %v", err)
	}
	if logged(f.lead, f.admin.StaffID, "read", "denied") != 1 {
		t.Error("the refusal was not logged")
	}

	update := func(actor auth.Principal, m org.Member) error { return svc.UpdateMember(ctx, actor, &m) }
	expert := org.Member{ID: f.expert.StaffID, Name: "Demo Expert", Locale: "fi", Active: true, Languages: []string{"en", "fi", "ar"},
		Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: f.sp}}}
	// Same languages in another order are no change of details.
	if err := update(f.lead, expert); err != nil {
		t.Fatalf("lead saves the expert unchanged: %v", err)
	}
	// A lead may not grant admin, nor a role elsewhere.
	for _, g := range []auth.Grant{{Role: auth.RoleAdmin}, {Role: auth.RoleExpert, ServicePointID: f.sp2}, {Role: auth.RoleLead}} {
		m := expert
		m.Grants = append([]auth.Grant{g}, expert.Grants...)
		if err := update(f.lead, m); !errors.Is(err, org.ErrForbidden) {
			t.Errorf("lead grants %+v: %v", g, err)
		}
	}
	// Someone who also works elsewhere: the lead changes their roles here,
	// and the role elsewhere, which the lead may not change, stays.
	f.exec(t, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, 'expert')`, f.tenant, f.expert.StaffID, f.sp2)
	shared := expert
	shared.Grants = []auth.Grant{{Role: auth.RoleExpert, ServicePointID: f.sp}, {Role: auth.RoleLead, ServicePointID: f.sp}}
	if err := update(f.lead, shared); err != nil {
		t.Errorf("lead promotes a shared expert in their own service point: %v", err)
	}
	var roles int
	f.scan(t, `SELECT count(*) FROM staff_roles WHERE staff_id = $1`, &roles, f.expert.StaffID)
	if roles != 3 {
		t.Errorf("the shared expert holds %d roles, want 3 (the one elsewhere kept)", roles)
	}
	// But not their details.
	shared.Active = false
	if err := update(f.lead, shared); !errors.Is(err, org.ErrForbidden) {
		t.Errorf("lead switched off someone who also works elsewhere: %v", err)
	}
	// Lock-out guards.
	self := org.Member{ID: f.admin.StaffID, Name: "Demo Admin", Locale: "fi", Active: true}
	if err := update(f.admin, self); !errors.Is(err, org.ErrOwnAdmin) {
		t.Errorf("admin dropped their own admin role: %v", err)
	}
	self.Grants = []auth.Grant{{Role: auth.RoleAdmin}}
	self.Active = false
	if err := update(f.admin, self); !errors.Is(err, org.ErrOwnAccount) {
		t.Errorf("admin switched off their own account: %v", err)
	}
	// An admin role narrowed to a service point does not exist.
	bad := expert
	bad.Grants = []auth.Grant{{Role: auth.RoleAdmin, ServicePointID: f.sp}}
	if err := update(f.admin, bad); !errors.Is(err, org.ErrBadGrant) {
		t.Errorf("admin role in a service point: %v", err)
	}
	if n := logged(f.admin, f.admin.StaffID, "update", "ok"); n != 0 {
		t.Errorf("%d refused updates were logged as done", n)
	}
	if n := logged(f.lead, f.expert.StaffID, "update", "ok"); n != 2 {
		t.Errorf("%d updates logged, want 2", n)
	}
}

// A service point with a lunch break keeps both openings of its day, and
// the queue closes over lunch and opens again by them: org stores the very
// hours the queue reads.
func TestLunchBreakOpensAndClosesTheQueue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := org.New(f.db, &fakePairing{})
	var week hours.Week
	for d := range 5 {
		week.Days[d] = []hours.Span{{From: 8 * 60, To: 11*60 + 30}, {From: 12*60 + 30, To: 15 * 60}}
	}
	sp := org.ServicePoint{Names: org.Labels{"fi": "Demo"}, TimeZone: "Europe/Helsinki", Hours: week, TargetWaitMinutes: 20, MaxRecalls: 2}
	if err := svc.UpdateServicePoint(ctx, f.lead, "demo", &sp); err != nil {
		t.Fatal(err)
	}
	setup, err := svc.ServicePointSetup(ctx, f.lead, "demo")
	if err != nil || !slices.Equal(setup.ServicePoint.Hours.Days[2], week.Days[2]) {
		t.Fatalf("stored hours %+v, %v", setup.ServicePoint.Hours, err)
	}
	helsinki, _ := time.LoadLocation("Europe/Helsinki")
	now := time.Date(2026, 12, 2, 11, 45, 0, 0, helsinki) // a Wednesday, at lunch
	q := queue.New(f.db, func() time.Time { return now })
	kiosk := queue.Device{Kind: auth.KindKiosk, Slug: "demo", DemoName: demo.KioskName}
	screen, err := q.KioskScreen(ctx, kiosk)
	if err != nil || screen.Open || screen.OpensAt == nil || !screen.OpensAt.Equal(time.Date(2026, 12, 2, 12, 30, 0, 0, helsinki)) {
		t.Fatalf("at 11:45: %+v, %v; want closed until 12:30", screen, err)
	}
	now = time.Date(2026, 12, 2, 12, 45, 0, 0, helsinki)
	if screen, err = q.KioskScreen(ctx, kiosk); err != nil || !screen.Open {
		t.Fatalf("at 12:45: %+v, %v; want open", screen, err)
	}
}

// Hours that could not be used are refused before anything is stored.
func TestUnusableHoursAreRefused(t *testing.T) {
	f := newFixture(t)
	svc := org.New(f.db, &fakePairing{})
	before := f.snapshot(t)
	var week hours.Week
	week.Days[0] = []hours.Span{{From: 8 * 60, To: 12 * 60}, {From: 11 * 60, To: 15 * 60}}
	sp := org.ServicePoint{Names: org.Labels{"fi": "Demo"}, TimeZone: "UTC", Hours: week, TargetWaitMinutes: 20}
	if err := svc.UpdateServicePoint(context.Background(), f.admin, "demo", &sp); !errors.Is(err, hours.ErrOverlap) {
		t.Fatalf("overlapping hours: %v", err)
	}
	if after := f.snapshot(t); after != before {
		t.Error("refused hours changed the service point")
	}
}
