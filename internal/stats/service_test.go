package stats

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// The visit form is for the ticket's service point, the named one, or the
// expert's only one; anything the expert does not work at is refused, and
// the expert of several service points is asked to choose.
func TestVisitFormChoosesItsServicePoint(t *testing.T) {
	f := newFixture(t)
	svc := New(f.db, tasks.NewService(f.db, nil))
	slug := func(sp int64) string {
		var s string
		if err := f.owner.QueryRow(f.ctx, `SELECT slug FROM service_points WHERE id = $1`, sp).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	ticket := f.doneTicket()
	both := expertAt(f.tenant, f.sp1)
	both.Grants = append(both.Grants, auth.Grant{Role: auth.RoleExpert, ServicePointID: f.sp2})
	cases := []struct {
		name  string
		actor auth.Principal
		req   FormRequest
		point int64 // 0: the actor chooses
		err   error
	}{
		{"the only service point", expertAt(f.tenant, f.sp1), FormRequest{}, f.sp1, nil},
		{"the ticket's", both, FormRequest{TicketID: ticket}, f.sp1, nil},
		{"the named one", both, FormRequest{Slug: slug(f.sp2)}, f.sp2, nil},
		{"several: choose", both, FormRequest{}, 0, nil},
		{"a ticket elsewhere", expertAt(f.tenant, f.sp2), FormRequest{TicketID: ticket}, 0, ErrForbidden},
		{"a service point elsewhere", expertAt(f.tenant, f.sp1), FormRequest{Slug: slug(f.sp2)}, 0, ErrForbidden},
		{"another municipality's", expertAt(f.tenant, f.sp1), FormRequest{Slug: slug(f.otherSP)}, 0, sqldb.ErrNotFound},
		{"no such ticket", both, FormRequest{TicketID: 987654}, 0, ErrUnknownTicket},
		{"no service point at all", auth.Principal{StaffID: 104, Tenant: f.tenant}, FormRequest{}, 0, ErrForbidden},
	}
	for _, tc := range cases {
		form, err := svc.VisitForm(f.ctx, tc.actor, tc.req)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		switch {
		case tc.point == 0 && form.Point != nil:
			t.Errorf("%s: form for %d, want a choice", tc.name, form.Point.ID)
		case tc.point != 0 && (form.Point == nil || form.Point.ID != tc.point):
			t.Errorf("%s: form for %v, want %d", tc.name, form.Point, tc.point)
		case tc.point == f.sp1 && (len(form.Topics) != 3 || len(form.Referrals) != 2):
			t.Errorf("%s: %d topics and %d referral services", tc.name, len(form.Topics), len(form.Referrals))
		}
	}
	// Recording through the service names the service point by its address.
	if _, err := svc.Record(f.ctx, expertAt(f.tenant, f.sp1), slug(f.sp1),
		Visit{TicketID: ticket, TopicIDs: []int64{f.topicA}, Language: "ar"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Record(f.ctx, expertAt(f.tenant, f.sp2), slug(f.sp1),
		Visit{Channel: ChannelPhone, TopicIDs: []int64{f.topicA}, Language: "fi"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("recording where one does not work: %v", err)
	}
	// Statistics: a lead reads their own service points only.
	points, report, err := svc.Statistics(f.ctx, leadAt(f.tenant, f.sp1), func(ps []org.ServicePoint) (Filter, bool) {
		if len(ps) != 1 || ps[0].ID != f.sp1 {
			t.Errorf("readable points %v", ps)
		}
		today := DayOf(time.Now())
		return Filter{ServicePointIDs: []int64{f.sp1, f.sp2}, From: today, To: today}, true
	})
	if !errors.Is(err, ErrForbidden) || points != nil || report != nil {
		t.Fatalf("a lead reading another service point's figures: %v", err)
	}
	if _, _, err := svc.Statistics(f.ctx, expertAt(f.tenant, f.sp1), nil); !errors.Is(err, ErrForbidden) {
		t.Fatalf("an expert reading statistics: %v", err)
	}
}
