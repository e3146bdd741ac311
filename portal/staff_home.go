package portal

import (
	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/org"
)

type staffHomePage struct {
	Page
	Points []pointLink
}

type pointLink struct {
	Slug, Name        string
	CanWork, CanSetUp bool
}

// showStaffHome lists the service points the staff member works at, with
// what they may do at each.
func (s *Server) showStaffHome(c *fiber.Ctx) error {
	sess, _ := session(c)
	p := s.page(c, "")
	p.Title = p.T.Get("staff.home")
	var links []pointLink
	err := s.db.InTenant(c.UserContext(), sess.Principal.Tenant, func(tx pgx.Tx) error {
		points, err := org.ListServicePoints(c.UserContext(), tx)
		for _, sp := range points {
			if sess.Principal.CanWork(sp.ID) {
				links = append(links, pointLink{Slug: sp.Slug, Name: sp.Names.In(p.T.Lang.Code),
					CanWork: true, CanSetUp: sess.Principal.CanManage(sp.ID)})
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	return s.render(c, "staff_home", staffHomePage{Page: p, Points: links})
}
