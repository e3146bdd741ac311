package portal

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
)

type personRow struct {
	org.Member
	Roles string
}

type peoplePage struct {
	Page
	People []personRow
	Saved  bool
}

// showPeople lists the staff the lead or admin may administer.
func (s *Server) showPeople(c *fiber.Ctx) error {
	staff, err := s.org.Staff(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	page := peoplePage{Page: s.page(c, ""), Saved: c.Query("saved") != ""}
	page.Body = "staff setup"
	page.Title = page.T.Get("people.title")
	names := servicePointNames(staff.Points, page.T.Lang.Code)
	for _, m := range staff.Members {
		page.People = append(page.People, personRow{Member: m, Roles: describeGrants(page.T, m.Grants, names)})
	}
	return s.render(c, "people", page)
}

// servicePointNames maps service points to their names in lang.
func servicePointNames(points []org.ServicePoint, lang string) map[int64]string {
	names := make(map[int64]string, len(points))
	for _, sp := range points {
		names[sp.ID] = spName(sp, lang)
	}
	return names
}

// describeGrant says a role in words: "Lead – Demo service point".
func describeGrant(t *i18n.T, g auth.Grant, names map[int64]string) string {
	where := t.Get("people.scope_municipality")
	if g.ServicePointID != 0 {
		where = names[g.ServicePointID]
	}
	return t.Get("people.role_"+g.Role) + " – " + where
}

func describeGrants(t *i18n.T, gs []auth.Grant, names map[int64]string) string {
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, describeGrant(t, g, names))
	}
	return strings.Join(out, "; ")
}
