package portal

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

type resetLinkPage struct {
	Page
	ID      int64
	Email   string
	Link    string
	Expires string
}

// submitResetLink makes a one-time link with which a staff member sets a
// new password, and shows it once for the admin to pass on.
func (s *Server) submitResetLink(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	link, err := s.org.IssueResetLink(c.UserContext(), principal(c), id, time.Now())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	p := s.page(c, "")
	p.Title = p.T.Get("reset.title")
	return s.render(c, "reset_link", resetLinkPage{Page: p, ID: id, Email: link.Email,
		Link: s.cfg.PublicURL() + "/password/" + link.Token, Expires: link.Expires.In(helsinki).Format("15:04")})
}

// submitClearFactors removes a staff member's second factors, for someone
// who lost the phone or key they sign in with, and says on their page
// whether there were any.
func (s *Server) submitClearFactors(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	cleared, err := s.org.ClearSecondFactors(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	result := "none"
	if cleared {
		result = "cleared"
	}
	return c.Redirect("/staff/people/"+strconv.FormatInt(id, 10)+"?factors="+result, fiber.StatusSeeOther)
}
