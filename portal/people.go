package portal

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

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
	actor := principal(c)
	if !actor.IsLeadAnywhere() {
		return errForbidden
	}
	page := peoplePage{Page: s.page(c, ""), Saved: c.Query("saved") != ""}
	page.Body = "staff setup"
	page.Title = page.T.Get("people.title")
	err := s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		members, err := org.ListMembersFor(ctx, tx, actor)
		if err != nil {
			return err
		}
		names, err := servicePointNames(ctx, tx, page.T.Lang.Code)
		if err != nil {
			return err
		}
		for _, m := range members {
			page.People = append(page.People, personRow{Member: m, Roles: describeGrants(page.T, m.Grants, names)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.render(c, "people", page)
}

// servicePointNames maps the tenant's service points to their names.
func servicePointNames(ctx context.Context, tx pgx.Tx, lang string) (map[int64]string, error) {
	points, err := org.ListServicePoints(ctx, tx)
	names := make(map[int64]string, len(points))
	for _, sp := range points {
		names[sp.ID] = spName(sp, lang)
	}
	return names, err
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
