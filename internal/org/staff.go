package org

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// SubjectStaff is the access-log subject kind of a staff record.
const SubjectStaff = "staff"

// Member is a staff member as the set-up screens show them.
type Member struct {
	ID        int64
	Email     string
	Name      string
	Languages []string
	Locale    string
	Active    bool
	Grants    []auth.Grant
}

// Errors of a staff change that the person can fix in the form.
var (
	// ErrEmailInUse is returned when an address already has an account anywhere.
	ErrEmailInUse = errors.New("org: e-mail address already has an account")
	// ErrOwnAdmin guards against lock-out: nobody removes their own admin role.
	ErrOwnAdmin = errors.New("org: you cannot remove your own admin role")
	// ErrOwnAccount guards against lock-out: nobody switches off their own account.
	ErrOwnAccount = errors.New("org: you cannot switch off your own account")
	// ErrBadGrant is a role that cannot exist: an unknown role, an admin
	// role narrowed to a service point (auth reads every admin grant as
	// municipality-wide), or a service point outside the municipality.
	ErrBadGrant = errors.New("org: no such role")
)

// Staff is the staff an actor may administer, with the municipality's
// service points to name their roles by.
type Staff struct {
	Members []Member
	Points  []ServicePoint
}

// Staff lists the staff the actor may administer: an admin sees the whole
// municipality, a lead those holding a role in a service point they manage.
func (s *Service) Staff(ctx context.Context, actor auth.Principal) (Staff, error) {
	var out Staff
	err := s.authorized(ctx, actor, actor.IsLeadAnywhere(), func(tx sqldb.Tx) error {
		var err error
		if out.Members, err = listMembersFor(ctx, tx, actor); err != nil {
			return err
		}
		out.Points, err = ListServicePoints(ctx, tx)
		return err
	})
	return out, err
}

func listMembersFor(ctx context.Context, tx sqldb.Tx, actor auth.Principal) ([]Member, error) {
	scope, all := actor.ServicePointScope(auth.RoleLead)
	if scope == nil {
		scope = []int64{}
	}
	rows, err := tx.Query(ctx, `SELECT s.id, s.email, s.name, s.languages, s.locale, s.active FROM staff s
		WHERE $1 OR EXISTS (SELECT 1 FROM staff_roles r WHERE r.staff_id = s.id AND r.service_point_id = ANY($2))
		ORDER BY s.name, s.id`, all, scope)
	if err != nil {
		return nil, err
	}
	members, err := sqldb.CollectRows(rows, func(r sqldb.Row) (Member, error) {
		var m Member
		err := r.Scan(&m.ID, &m.Email, &m.Name, &m.Languages, &m.Locale, &m.Active)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	for i := range members {
		if members[i].Grants, err = grants(ctx, tx, members[i].ID); err != nil {
			return nil, err
		}
	}
	return members, nil
}

// MemberForm is a staff record for the staff form, with the municipality's
// service points to lay out the role boxes.
type MemberForm struct {
	Member Member
	Points []ServicePoint
}

// MemberForm reads what the staff form shows: for id 0 a new record, which
// any lead or admin may start; else the record of someone the actor may
// administer. logRead says the record is shown as stored, a read of
// personal data that is written to the access log in the same
// transaction; without it the record is being changed, and the change is
// logged when saved. A refusal is a *Refusal, logged too.
func (s *Service) MemberForm(ctx context.Context, actor auth.Principal, id int64, logRead bool) (MemberForm, error) {
	var out MemberForm
	action := audit.ActionUpdate
	if logRead {
		action = audit.ActionRead
	}
	err := s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		var err error
		switch {
		case id == 0:
			if err := auth.Authorize(ctx, tx, actor, actor.IsLeadAnywhere()); err != nil {
				return err
			}
			out.Member = Member{Active: true}
		default:
			if out.Member, err = memberFor(ctx, tx, actor, id, action); err != nil {
				return err
			}
			if logRead {
				if err := logOK(ctx, tx, actor, SubjectStaff, id, action); err != nil {
					return err
				}
			}
		}
		out.Points, err = ListServicePoints(ctx, tx)
		return err
	})
	return out, err
}

// memberFor reads a staff record the actor may administer; a refusal
// names action for the access log.
func memberFor(ctx context.Context, tx sqldb.Tx, actor auth.Principal, id int64, action string) (Member, error) {
	if err := auth.Authorize(ctx, tx, actor, actor.IsLeadAnywhere()); err != nil {
		return Member{}, refuse(actor, SubjectStaff, id, action)
	}
	m, err := getStaff(ctx, tx, id)
	if err != nil {
		return Member{}, err
	}
	if !mayAdminister(actor, m) {
		return Member{}, refuse(actor, SubjectStaff, id, action)
	}
	return m, nil
}

// CanGrant tells whether the actor may give or take g: an admin any role
// that can exist, a lead an expert or lead role in a service point they
// manage. Forms use it to offer only what will be accepted.
func CanGrant(actor auth.Principal, g auth.Grant) bool {
	if actor.IsAdmin() {
		switch g.Role {
		case auth.RoleAdmin:
			return g.ServicePointID == 0
		case auth.RoleExpert, auth.RoleLead:
			return g.ServicePointID >= 0
		}
		return false
	}
	return mayGrant(actor, g)
}

// CreateMember adds a staff account with its roles. An admin may create
// anyone; a lead only experts of service points they manage. The creation
// is written to the access log in the same transaction.
func (s *Service) CreateMember(ctx context.Context, actor auth.Principal, m *Member, passwordHash string) error {
	return s.inTenant(ctx, actor, func(tx sqldb.Tx) error { return createMember(ctx, tx, actor, m, passwordHash) })
}

func createMember(ctx context.Context, tx sqldb.Tx, actor auth.Principal, m *Member, passwordHash string) error {
	allowed := actor.IsAdmin() || len(m.Grants) > 0
	for _, g := range m.Grants {
		if !actor.IsAdmin() && (g.Role != auth.RoleExpert || !mayGrant(actor, g)) {
			allowed = false
		}
	}
	if err := auth.Authorize(ctx, tx, actor, allowed); err != nil {
		return refuse(actor, SubjectStaff, 0, audit.ActionCreate)
	}
	if err := checkGrants(ctx, tx, m.Grants); err != nil {
		return err
	}
	err := tx.QueryRow(ctx, `INSERT INTO staff (municipality_id, email, name, password_hash, languages, locale, active)
		VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id`,
		m.Email, m.Name, passwordHash, nonNil(m.Languages), m.Locale, m.Active).Scan(&m.ID)
	if sqldb.IsUniqueViolation(err) {
		return ErrEmailInUse
	} else if err != nil {
		return err
	}
	for _, g := range m.Grants {
		if err := setGrant(ctx, tx, m.ID, g, true); err != nil {
			return err
		}
	}
	return logOK(ctx, tx, actor, SubjectStaff, m.ID, audit.ActionCreate)
}

// UpdateMember changes a staff member's name, languages, interface language,
// whether the account works, and their roles: m.Grants is the new set of
// the roles the actor may give, while the roles the actor may not change
// stay as they are. A lead changes only expert and lead roles in service
// points they manage, and someone's details only when every role they hold
// is such; an admin changes anything but their own admin role and account.
// The change is written to the access log in the same transaction.
func (s *Service) UpdateMember(ctx context.Context, actor auth.Principal, m *Member) error {
	return s.inTenant(ctx, actor, func(tx sqldb.Tx) error { return updateMember(ctx, tx, actor, m) })
}

func updateMember(ctx context.Context, tx sqldb.Tx, actor auth.Principal, m *Member) error {
	old, err := memberFor(ctx, tx, actor, m.ID, audit.ActionUpdate)
	if err != nil {
		return err
	}
	for _, g := range old.Grants {
		if !CanGrant(actor, g) && !slices.Contains(m.Grants, g) {
			m.Grants = append(m.Grants, g)
		}
	}
	added, removed := diffGrants(old.Grants, m.Grants)
	for _, g := range append(slices.Clone(added), removed...) {
		if !actor.IsAdmin() && !mayGrant(actor, g) {
			return refuse(actor, SubjectStaff, m.ID, audit.ActionUpdate)
		}
	}
	profileChanged := old.Name != m.Name || old.Locale != m.Locale || old.Active != m.Active || !sameSet(old.Languages, m.Languages)
	if profileChanged && !actor.IsAdmin() {
		for _, g := range old.Grants {
			if !mayGrant(actor, g) {
				return refuse(actor, SubjectStaff, m.ID, audit.ActionUpdate)
			}
		}
	}
	if m.ID == actor.StaffID {
		if hasAdmin(old.Grants) && !hasAdmin(m.Grants) {
			return ErrOwnAdmin
		}
		if !m.Active {
			return ErrOwnAccount
		}
	}
	if err := checkGrants(ctx, tx, added); err != nil {
		return err
	}
	if err := execOne(ctx, tx, `UPDATE staff SET name = $2, languages = $3, locale = $4, active = $5 WHERE id = $1`,
		m.ID, m.Name, nonNil(m.Languages), m.Locale, m.Active); err != nil {
		return err
	}
	// Switching an account off also ends its sessions.
	if !m.Active {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1`, m.ID); err != nil {
			return err
		}
	}
	for _, g := range removed {
		if err := setGrant(ctx, tx, m.ID, g, false); err != nil {
			return err
		}
	}
	for _, g := range added {
		if err := setGrant(ctx, tx, m.ID, g, true); err != nil {
			return err
		}
	}
	m.Email = old.Email
	return logOK(ctx, tx, actor, SubjectStaff, m.ID, audit.ActionUpdate)
}

// mayGrant tells whether a lead may give or take g: an expert or lead role
// in a service point they manage. (An admin may give any valid grant.)
func mayGrant(actor auth.Principal, g auth.Grant) bool {
	return (g.Role == auth.RoleExpert || g.Role == auth.RoleLead) && g.ServicePointID != 0 && actor.CanManage(g.ServicePointID)
}

// mayAdminister tells whether the actor may open m's record: an admin any,
// a lead someone holding a role in a service point they manage.
func mayAdminister(actor auth.Principal, m Member) bool {
	if actor.IsAdmin() {
		return true
	}
	for _, g := range m.Grants {
		if g.ServicePointID != 0 && actor.CanManage(g.ServicePointID) {
			return true
		}
	}
	return false
}

func hasAdmin(gs []auth.Grant) bool {
	return slices.ContainsFunc(gs, func(g auth.Grant) bool { return g.Role == auth.RoleAdmin })
}

// diffGrants returns what is in want but not in have, and the reverse.
func diffGrants(have, want []auth.Grant) (added, removed []auth.Grant) {
	for _, g := range want {
		if !slices.Contains(have, g) && !slices.Contains(added, g) {
			added = append(added, g)
		}
	}
	for _, g := range have {
		if !slices.Contains(want, g) {
			removed = append(removed, g)
		}
	}
	return added, removed
}

// checkGrants refuses roles that cannot exist. The service point is looked
// up under row-level security: the foreign key alone would accept another
// municipality's service point, since key checks bypass row policies.
func checkGrants(ctx context.Context, tx sqldb.Tx, gs []auth.Grant) error {
	var ids []int64
	for _, g := range gs {
		switch {
		case g.Role != auth.RoleExpert && g.Role != auth.RoleLead && g.Role != auth.RoleAdmin:
			return ErrBadGrant
		case g.Role == auth.RoleAdmin && g.ServicePointID != 0:
			return ErrBadGrant
		case g.ServicePointID < 0:
			return ErrBadGrant
		case g.ServicePointID > 0 && !slices.Contains(ids, g.ServicePointID):
			ids = append(ids, g.ServicePointID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM service_points WHERE id = ANY($1)`, ids).Scan(&n); err != nil {
		return err
	}
	if n != len(ids) {
		return ErrBadGrant
	}
	return nil
}

// sameSet compares two lists as sets: the order languages were ticked in
// is not a change.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// getStaff reads a staff record without checks or logging; only memberFor
// and the checked functions call it.
func getStaff(ctx context.Context, tx sqldb.Tx, id int64) (Member, error) {
	var m Member
	err := tx.QueryRow(ctx, `SELECT id, email, name, languages, locale, active FROM staff WHERE id = $1`, id).
		Scan(&m.ID, &m.Email, &m.Name, &m.Languages, &m.Locale, &m.Active)
	if err != nil {
		return m, sqldb.NotFound(err)
	}
	m.Grants, err = grants(ctx, tx, id)
	return m, err
}

func grants(ctx context.Context, tx sqldb.Tx, staffID int64) ([]auth.Grant, error) {
	rows, err := tx.Query(ctx, `SELECT role, coalesce(service_point_id, 0) FROM staff_roles WHERE staff_id = $1 ORDER BY service_point_id NULLS FIRST, role`, staffID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (auth.Grant, error) {
		var g auth.Grant
		err := r.Scan(&g.Role, &g.ServicePointID)
		return g, err
	})
}

// setGrant gives or takes a role in a service point (0: municipality-wide).
func setGrant(ctx context.Context, tx sqldb.Tx, staffID int64, g auth.Grant, on bool) error {
	var sp *int64
	if g.ServicePointID != 0 {
		sp = &g.ServicePointID
	}
	if on {
		_, err := tx.Exec(ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role)
			VALUES (koto_tenant(), $1, $2, $3) ON CONFLICT DO NOTHING`, staffID, sp, g.Role)
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM staff_roles WHERE staff_id = $1 AND service_point_id IS NOT DISTINCT FROM $2 AND role = $3`, staffID, sp, g.Role)
	return err
}

// PurposeClearFactors is the access-log purpose of an admin removing a
// staff member's second factors.
const PurposeClearFactors = "clear_factors"

// ClearSecondFactors removes staff member id's second factors and ends
// their sessions, for the admin of someone who lost the phone or key they
// sign in with; admins only. It reports whether there was anything to
// remove; only a removal is logged, since nothing else changed.
func (s *Service) ClearSecondFactors(ctx context.Context, actor auth.Principal, id int64) (bool, error) {
	var cleared bool
	err := s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
			return refuse(actor, SubjectStaff, id, audit.ActionDelete)
		}
		if _, err := getStaff(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if cleared, err = auth.ClearFactors(ctx, tx, id); err != nil || !cleared {
			return err
		}
		return audit.Write(ctx, tx, actor.Audit(SubjectStaff, id, audit.ActionDelete, PurposeClearFactors, audit.ResultOK))
	})
	return cleared, err
}

// ResetLinkValidity is how long an admin's reset link works: long enough
// to be passed on and opened, short enough that a forgotten one is dead.
const ResetLinkValidity = time.Hour

// PurposeResetLink is the access-log purpose of sending a reset link.
const PurposeResetLink = "reset_link"

// ErrProviderAccount: the account signs in through the municipality's
// provider, which keeps its password; the portal has none to reset.
var ErrProviderAccount = errors.New("org: the account signs in through the provider")

// ResetLink is a one-time password link made for a staff member.
type ResetLink struct {
	Token   string
	Email   string
	Expires time.Time
}

// IssueResetLink makes a one-time link with which staff member id sets a
// new password; admins only. Any earlier unused link stops working, and
// when the link is used every session of the account ends.
func (s *Service) IssueResetLink(ctx context.Context, actor auth.Principal, id int64, now time.Time) (ResetLink, error) {
	var out ResetLink
	err := s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, actor.IsAdmin()); err != nil {
			return refuse(actor, SubjectStaff, id, audit.ActionUpdate)
		}
		m, err := getStaff(ctx, tx, id)
		if err != nil {
			return err
		}
		var provider bool
		if err := tx.QueryRow(ctx, `SELECT password_hash = '' FROM staff WHERE id = $1`, id).Scan(&provider); err != nil {
			return err
		}
		if provider {
			return ErrProviderAccount
		}
		out = ResetLink{Email: m.Email, Expires: now.Add(ResetLinkValidity)}
		if out.Token, err = auth.IssuePasswordLink(ctx, tx, actor.Tenant, id, out.Expires); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Entry{Tenant: actor.Tenant, StaffID: actor.StaffID, SubjectKind: SubjectStaff,
			SubjectID: id, Action: audit.ActionCreate, Purpose: PurposeResetLink, Result: audit.ResultOK})
	})
	return out, err
}
