package portal

import "github.com/gofiber/fiber/v2"

// showStartPage lets a person pick their language and shows where to go.
func (s *Server) showStartPage(c *fiber.Ctx) error {
	p := s.page(c, "")
	p.Title = p.T.Get("start.title")
	return s.render(c, "start", p)
}
