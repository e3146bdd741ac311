package portal

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
)

// Password limits: the minimum is auth's; the maximum keeps hashing cheap.
const (
	minPasswordLen = 10
	maxPasswordLen = 200
)

type personInput struct {
	Name, Email, Password, Locale string
	Languages                     []string
	Active                        bool
	Grants                        []auth.Grant
}

// spokenCodes are the languages a staff member may speak; staffCodes those
// they may use the staff pages in.
var spokenCodes, staffCodes = codes(i18n.SpokenLanguages()), codes(i18n.StaffLanguages())

func codes(langs []i18n.Language) []string {
	out := make([]string, len(langs))
	for i, l := range langs {
		out[i] = l.Code
	}
	return out
}

// decodePersonForm reads the staff form. E-mail and the first password are
// given once, when the account is made. Roles come as "role:servicePoint"
// (0: the whole municipality) and must name a service point the form
// offers; whether the actor may grant them is the domain's call.
func decodePersonForm(v url.Values, isNew bool, offered func(servicePointID int64) bool) (personInput, forms.Errors) {
	f := forms.New(v)
	in := personInput{Name: f.Text("name", true, maxNameLen)}
	if isNew {
		in.Email = f.Email("email", true)
		in.Password = decodePassword(f, "password")
	}
	in.Languages = f.Choices("languages", spokenCodes...)
	in.Locale = f.Choice("locale", true, staffCodes...)
	in.Active = f.Bool("active")
	in.Grants = decodeGrants(f, "role", offered)
	return in, f.Errors
}

// decodePassword reads a new password as typed: not trimmed, since spaces
// may be part of it, but one line of printable characters.
func decodePassword(f *forms.Form, field string) string {
	s := f.Values.Get(field)
	switch {
	case s == "":
		f.Fail(field, "form.required")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		f.Fail(field, "form.invalid_text")
	case utf8.RuneCountInString(s) < minPasswordLen:
		f.Fail(field, "people.password_short")
	case utf8.RuneCountInString(s) > maxPasswordLen:
		f.Fail(field, "form.too_long")
	default:
		return s
	}
	return ""
}

func decodeGrants(f *forms.Form, field string, offered func(int64) bool) []auth.Grant {
	var out []auth.Grant
	for _, raw := range f.Values[field] {
		role, sp, ok := strings.Cut(raw, ":")
		id, err := strconv.ParseInt(sp, 10, 64)
		switch {
		case !ok || err != nil || id < 0 || strconv.FormatInt(id, 10) != sp:
		case role != auth.RoleExpert && role != auth.RoleLead && role != auth.RoleAdmin:
		case id != 0 && !offered(id):
		case role == auth.RoleAdmin && id != 0: // an admin role is always municipality-wide
		default:
			if g := (auth.Grant{Role: role, ServicePointID: id}); !slices.Contains(out, g) {
				out = append(out, g)
			}
			continue
		}
		f.Fail(field, "form.invalid_choice")
		return nil
	}
	return out
}

func grantValue(g auth.Grant) string { return g.Role + ":" + strconv.FormatInt(g.ServicePointID, 10) }

func personValues(m org.Member) url.Values {
	v := url.Values{"name": {m.Name}, "email": {m.Email}, "locale": {m.Locale}, "active": {boolValue(m.Active)},
		"languages": slices.Clone(m.Languages)}
	for _, g := range m.Grants {
		v.Add("role", grantValue(g))
	}
	return v
}

// roleGroup is one service point's (or the municipality's) role boxes.
type roleGroup struct {
	ID, Legend string
	Boxes      []roleBox
}

type roleBox struct{ ID, Value, Label string }

type personPage struct {
	Page
	New       bool
	ID        int64
	Email     string
	Form      formView
	Languages []i18n.Language // the languages a person can speak
	Locales   []i18n.Language // the languages of the staff pages
	Groups    []roleGroup
	Other     []string // roles this actor sees but may not change
	Saved     bool
	Factors   string // what removing the second factors did, once
}

// offeredBy tells in which service points the form offers the actor some
// role: those where they may give one, which their roles alone decide.
func offeredBy(actor auth.Principal) func(int64) bool {
	return func(id int64) bool { return org.CanGrant(actor, auth.Grant{Role: auth.RoleExpert, ServicePointID: id}) }
}

// roleGroups lays out the role boxes the actor may tick: an admin every
// role everywhere, a lead expert (and, for someone existing, lead) roles
// in the service points they manage.
func roleGroups(t *i18n.T, actor auth.Principal, points []org.ServicePoint, isNew bool) []roleGroup {
	var groups []roleGroup
	add := func(legend string, sp int64, roles ...string) {
		g := roleGroup{ID: "roles-" + strconv.FormatInt(sp, 10), Legend: legend}
		for _, r := range roles {
			gr := auth.Grant{Role: r, ServicePointID: sp}
			if !org.CanGrant(actor, gr) || (isNew && !actor.IsAdmin() && r != auth.RoleExpert) {
				continue
			}
			g.Boxes = append(g.Boxes, roleBox{ID: "role-" + r + "-" + strconv.FormatInt(sp, 10), Value: grantValue(gr),
				Label: t.Get("people.role_" + r)})
		}
		if len(g.Boxes) > 0 {
			groups = append(groups, g)
		}
	}
	add(t.Get("people.scope_municipality"), 0, auth.RoleExpert, auth.RoleLead, auth.RoleAdmin)
	for _, sp := range points {
		add(spName(sp, t.Lang.Code), sp.ID, auth.RoleExpert, auth.RoleLead)
	}
	return groups
}

// showPersonForm shows a staff member's record (the read is logged), or the
// form for a new one.
func (s *Server) showPersonForm(c *fiber.Ctx) error {
	return s.renderPersonPage(c, fiber.StatusOK, nil, nil)
}

// submitPerson saves the staff form.
func (s *Server) submitPerson(c *fiber.Ctx) error {
	actor := principal(c)
	id, _, err := rowParam(c, "person")
	if err != nil {
		return err
	}
	isNew := id == 0
	v := formValues(c)
	in, errs := decodePersonForm(v, isNew, offeredBy(actor))
	if len(errs) > 0 {
		return s.renderPersonPage(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	m := org.Member{ID: id, Email: in.Email, Name: in.Name, Languages: in.Languages, Locale: in.Locale,
		Active: in.Active, Grants: in.Grants}
	if isNew {
		// Hashing takes a moment and much memory: done before the
		// transaction so no connection waits on it.
		hash, herr := auth.HashPassword(in.Password)
		if herr != nil {
			return herr
		}
		err = s.org.CreateMember(c.UserContext(), actor, &m, hash)
	} else {
		err = s.org.UpdateMember(c.UserContext(), actor, &m)
	}
	if fieldError(errs, err) {
		return s.renderPersonPage(c, fiber.StatusUnprocessableEntity, v, errs)
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/people?saved=1", fiber.StatusSeeOther)
}

// renderPersonPage shows the staff form: what was typed when typed is not
// nil (the record is then read for its other roles, unlogged, as part of
// the change being made), else the stored record, whose reading is logged.
func (s *Server) renderPersonPage(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors) error {
	actor := principal(c)
	id, _, err := rowParam(c, "person")
	if err != nil {
		return err
	}
	form, err := s.org.MemberForm(c.UserContext(), actor, id, typed == nil)
	if err != nil {
		return err
	}
	m := form.Member
	page := personPage{Page: s.page(c, ""), New: id == 0, ID: id, Languages: i18n.SpokenLanguages(),
		Locales: i18n.StaffLanguages(), Saved: c.Query("saved") != "" && typed == nil}
	page.Body = "staff setup"
	t := page.T
	if typed == nil {
		switch c.Query("factors") {
		case "cleared":
			page.Factors = t.Get("factors_clear.done")
		case "none":
			page.Factors = t.Get("factors_clear.none")
		}
	}
	page.Groups = roleGroups(t, actor, form.Points, page.New)
	names := servicePointNames(form.Points, t.Lang.Code)
	for _, g := range m.Grants {
		if !org.CanGrant(actor, g) {
			page.Other = append(page.Other, describeGrant(t, g, names))
		}
	}
	page.Email = m.Email
	if page.Title = m.Name; page.New {
		page.Title = t.Get("people.new")
		m.Locale = i18n.Default
	}
	stored := personValues(m)
	if typed != nil {
		stored = typed
	}
	// A password is never sent back into a page.
	stored.Del("password")
	page.Form = newFormView(t, "", stored, errs)
	return s.renderStatus(c, status, "people_form", page)
}
