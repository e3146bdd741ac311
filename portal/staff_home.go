package portal

import (
	"github.com/gofiber/fiber/v2"
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
	actor := principal(c)
	points, err := s.org.WorkPlaces(c.UserContext(), actor)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("staff.home")
	links := make([]pointLink, 0, len(points))
	for _, sp := range points {
		links = append(links, pointLink{Slug: sp.Slug, Name: sp.Names.In(p.T.Lang.Code), CanWork: true, CanSetUp: actor.CanManage(sp.ID)})
	}
	return s.render(c, "staff_home", staffHomePage{Page: p, Points: links})
}
