package portal

import "github.com/gofiber/fiber/v2"

// Set-up screens not built yet answer 404.
func (s *Server) showSetup(c *fiber.Ctx) error            { return errNotFound }
func (s *Server) showServicePointForm(c *fiber.Ctx) error { return errNotFound }
func (s *Server) submitServicePoint(c *fiber.Ctx) error   { return errNotFound }
func (s *Server) submitDesk(c *fiber.Ctx) error           { return errNotFound }
func (s *Server) showTopicForm(c *fiber.Ctx) error        { return errNotFound }
func (s *Server) submitTopic(c *fiber.Ctx) error          { return errNotFound }
func (s *Server) submitReferral(c *fiber.Ctx) error       { return errNotFound }
func (s *Server) showDevices(c *fiber.Ctx) error          { return errNotFound }
func (s *Server) submitDevice(c *fiber.Ctx) error         { return errNotFound }
func (s *Server) submitDeviceCode(c *fiber.Ctx) error     { return errNotFound }
func (s *Server) submitDeviceRevoke(c *fiber.Ctx) error   { return errNotFound }
func (s *Server) showPeople(c *fiber.Ctx) error           { return errNotFound }
func (s *Server) showPersonForm(c *fiber.Ctx) error       { return errNotFound }
func (s *Server) submitPerson(c *fiber.Ctx) error         { return errNotFound }
func (s *Server) showAccessLog(c *fiber.Ctx) error        { return errNotFound }
func (s *Server) showPairPage(c *fiber.Ctx) error         { return errNotFound }
func (s *Server) submitPairCode(c *fiber.Ctx) error       { return errNotFound }
