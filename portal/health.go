package portal

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/sqldb"
)

// showHealth answers while the process can answer at all.
func (s *Server) showHealth(c *fiber.Ctx) error {
	return c.SendString("ok")
}

// showReadiness answers 200 only when the database is reachable and its
// schema is the one this binary expects, so a load balancer holds traffic
// back from an instance that cannot serve it.
func (s *Server) showReadiness(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	err := s.db.CheckSchema(ctx)
	switch {
	case errors.Is(err, sqldb.ErrSchemaBehind):
		return c.Status(fiber.StatusServiceUnavailable).SendString("schema is behind: run portal migrate")
	case err != nil:
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unreachable")
	}
	return c.SendString("ready")
}
