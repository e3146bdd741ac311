package portal

import (
	"errors"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/outreach"
)

type enrolmentPage struct {
	Page
	ClientID int64
	Name     string
	URL      string
	QR       template.HTML
	Parts    []enrolmentPart
}

// enrolmentPart is the letter in one language: the client's, and Finnish.
type enrolmentPart struct {
	Page
	Until string
}

// submitEnrolment makes a one-time link that binds the client's phone and
// shows it once, as a QR code and a printable letter in the client's
// language and in Finnish.
func (s *Server) submitEnrolment(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	e, err := s.outreach.CreateEnrolment(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	page := s.page(c, "")
	ep := enrolmentPage{Page: page, ClientID: id, Name: e.ClientName, URL: s.cfg.PublicURL() + "/e/" + e.Token}
	for _, code := range letterLanguages(s, e.Language) {
		l, _ := s.catalog.Lookup(code)
		p := page
		p.T = s.catalog.For(l)
		ep.Parts = append(ep.Parts, enrolmentPart{Page: p, Until: l.FormatDate(e.ExpiresAt.In(org.Zone(e.TimeZone)))})
	}
	ep.Title = ep.T.Get("enrol.letter_title")
	if ep.QR, err = qrSVG(ep.URL, ep.Parts[0].T.Get("enrol.letter_title")); err != nil {
		return err
	}
	// The link is a secret shown once: nothing may keep a copy.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "enrolment_letter", ep)
}

// letterLanguages is the client's language (when the portal speaks it) and
// Finnish, in that order.
func letterLanguages(s *Server, client string) []string {
	if l, ok := s.catalog.Lookup(client); ok && l.Code != "fi" {
		return []string{l.Code, "fi"}
	}
	return []string{"fi"}
}

// submitEnrolmentRevoke ends the client's unused enrolment links.
func (s *Server) submitEnrolmentRevoke(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.outreach.RevokeEnrolments(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("enrol.revoked")
	return s.render(c, "enrolment_revoked", struct {
		Page
		ClientID int64
	}{p, id})
}

// enrolError maps what can go wrong with a link to what the phone shows.
func enrolError(err error) error {
	switch {
	case isNotFound(err):
		return newError(fiber.StatusNotFound, "client.gone")
	case errors.Is(err, outreach.ErrLinkUsed):
		return newError(fiber.StatusGone, "enrol.used")
	case errors.Is(err, outreach.ErrLinkExpired):
		return newError(fiber.StatusGone, "enrol.expired")
	case errors.Is(err, outreach.ErrClientErased):
		return newError(fiber.StatusNotFound, "client.gone")
	}
	return err
}

// showEnrol is the phone's first page: a button, so that a link preview
// that fetches the address does not use the one-time link up.
func (s *Server) showEnrol(c *fiber.Ctx) error {
	p := s.page(c, "")
	p.Title = p.T.Get("enrol.title")
	p.Body = "client"
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "client_enrol", struct {
		Page
		Token string
	}{p, c.Params("token")})
}

// submitEnrol binds this phone to the client and opens the client's page.
func (s *Server) submitEnrol(c *fiber.Ctx) error {
	cred, err := s.outreach.Enrol(c.UserContext(), c.Params("token"))
	if err != nil {
		return enrolError(err)
	}
	return c.Redirect("/c/"+cred, fiber.StatusSeeOther)
}
