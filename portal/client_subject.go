package portal

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
)

// exportClient sends everything about a client as a JSON file, for an
// admin answering the client's request.
func (s *Server) exportClient(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	out, err := s.clients.Export(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="client-`+strconv.FormatInt(id, 10)+`.json"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(out)
}

type clientAccessLogPage struct {
	Page
	clientView
	Client  clients.Client
	Entries []audit.Entry
}

// ActionName is an action in words.
func (p clientAccessLogPage) ActionName(a string) string {
	return accessLogPage{Page: p.Page}.ActionName(a)
}

// showClientAccessLog shows who has read or changed a client's record.
func (s *Server) showClientAccessLog(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	client, entries, err := s.clients.AccessLog(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	page := clientAccessLogPage{Page: p, clientView: clientView{p.T}, Client: client, Entries: entries}
	page.Body = "staff clients"
	page.Title = p.T.Get("clients.access_log_title", "Name", page.DisplayName(client))
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "client_access_log", page)
}

type erasePage struct {
	Page
	clientView
	Client clients.Client
	Form   formView
}

// showEraseClient asks an admin to confirm a client's erasure.
func (s *Server) showEraseClient(c *fiber.Ctx) error {
	return s.renderErasePage(c, fiber.StatusOK, nil)
}

// submitEraseClient erases a client once the admin has confirmed it.
func (s *Server) submitEraseClient(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	f := forms.New(formValues(c))
	err = s.clients.Erase(c.UserContext(), principal(c), id, f.Bool("confirm"))
	errs := forms.Errors{}
	if problems(errs, err) {
		return s.renderErasePage(c, fiber.StatusUnprocessableEntity, errs)
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/clients/"+strconv.FormatInt(id, 10), fiber.StatusSeeOther)
}

func (s *Server) renderErasePage(c *fiber.Ctx, status int, errs forms.Errors) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	client, err := s.clients.ForErasure(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	page := erasePage{Page: p, clientView: clientView{p.T}, Client: client, Form: newFormView(p.T, "", nil, errs)}
	page.Body = "staff clients"
	page.Title = p.T.Get("clients.erase_title", "Name", client.Name())
	return s.renderStatus(c, status, "client_erase", page)
}
