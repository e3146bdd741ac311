package auth_test

import (
	"slices"
	"testing"

	"github.com/koto-portal/portal/internal/auth"
)

// Roles rank expert < lead < admin. A grant at a service point covers only
// that one; a municipality-wide grant (service point 0) covers all; an admin
// grant covers the whole municipality.
func TestPrincipalRoles(t *testing.T) {
	const sp1, sp2 = 11, 22
	type rights struct {
		work1, work2, manage1, manage2, admin, leadAnywhere bool
		workScope                                           []int64
		workAll                                             bool
	}
	cases := []struct {
		name   string
		grants []auth.Grant
		want   rights
	}{
		{"nobody", nil, rights{}},
		{"expert at sp1", []auth.Grant{{auth.RoleExpert, sp1}},
			rights{work1: true, workScope: []int64{sp1}}},
		{"expert municipality-wide", []auth.Grant{{auth.RoleExpert, 0}},
			rights{work1: true, work2: true, workAll: true}},
		{"lead at sp1", []auth.Grant{{auth.RoleLead, sp1}},
			rights{work1: true, manage1: true, leadAnywhere: true, workScope: []int64{sp1}}},
		{"lead municipality-wide", []auth.Grant{{auth.RoleLead, 0}},
			rights{work1: true, work2: true, manage1: true, manage2: true, leadAnywhere: true, workAll: true}},
		{"admin", []auth.Grant{{auth.RoleAdmin, 0}},
			rights{work1: true, work2: true, manage1: true, manage2: true, admin: true, leadAnywhere: true, workAll: true}},
		{"expert at sp1, lead at sp2", []auth.Grant{{auth.RoleExpert, sp1}, {auth.RoleLead, sp2}},
			rights{work1: true, work2: true, manage2: true, leadAnywhere: true, workScope: []int64{sp1, sp2}}},
		{"expert at both", []auth.Grant{{auth.RoleExpert, sp1}, {auth.RoleExpert, sp2}},
			rights{work1: true, work2: true, workScope: []int64{sp1, sp2}}},
		{"unknown role", []auth.Grant{{"owner", 0}}, rights{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := auth.Principal{StaffID: 1, Tenant: 1, Grants: c.grants}
			got := rights{
				work1: p.CanWork(sp1), work2: p.CanWork(sp2),
				manage1: p.CanManage(sp1), manage2: p.CanManage(sp2),
				admin: p.IsAdmin(), leadAnywhere: p.IsLeadAnywhere(),
			}
			got.workScope, got.workAll = p.ServicePointScope(auth.RoleExpert)
			if got.work1 != c.want.work1 || got.work2 != c.want.work2 || got.manage1 != c.want.manage1 ||
				got.manage2 != c.want.manage2 || got.admin != c.want.admin || got.leadAnywhere != c.want.leadAnywhere ||
				got.workAll != c.want.workAll || !slices.Equal(got.workScope, c.want.workScope) {
				t.Errorf("grants %v:\n got %+v\nwant %+v", c.grants, got, c.want)
			}
			// A request naming no service point (0) is never a scoped one.
			if c.want.workAll != p.CanWork(0) {
				t.Errorf("CanWork(0) = %v, want %v (only a municipality-wide grant)", p.CanWork(0), c.want.workAll)
			}
		})
	}
}
