package portal

import "github.com/gofiber/fiber/v2"

// Walk-in pages not built yet answer 404.
func (s *Server) showKiosk(c *fiber.Ctx) error          { return errNotFound }
func (s *Server) submitTicket(c *fiber.Ctx) error       { return errNotFound }
func (s *Server) showDisplay(c *fiber.Ctx) error        { return errNotFound }
func (s *Server) showTicketFollow(c *fiber.Ctx) error   { return errNotFound }
func (s *Server) submitTicketCancel(c *fiber.Ctx) error { return errNotFound }
func (s *Server) submitTicketPush(c *fiber.Ctx) error   { return errNotFound }
func (s *Server) apiTicketSnapshot(c *fiber.Ctx) error  { return errNotFound }
func (s *Server) apiQueueSnapshot(c *fiber.Ctx) error   { return errNotFound }
func (s *Server) upgradeWebsocket(c *fiber.Ctx) error   { return errNotFound }
func (s *Server) serveWebsocket() fiber.Handler         { return func(c *fiber.Ctx) error { return errNotFound } }
func (s *Server) showQueue(c *fiber.Ctx) error          { return errNotFound }
func (s *Server) submitCallNext(c *fiber.Ctx) error     { return errNotFound }
func (s *Server) submitTicketAction(c *fiber.Ctx) error { return errNotFound }
func (s *Server) showVisitForm(c *fiber.Ctx) error      { return errNotFound }
func (s *Server) submitVisit(c *fiber.Ctx) error        { return errNotFound }
func (s *Server) showStats(c *fiber.Ctx) error          { return errNotFound }
func (s *Server) exportStats(c *fiber.Ctx) error        { return errNotFound }
