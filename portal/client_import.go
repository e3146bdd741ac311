package portal

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
)

// importShown bounds the refused lines listed on the report page: a file
// saved in the wrong encoding refuses every line, and ten thousand rows of
// the same problem help nobody more than the first few hundred.
const importShown = 500

type clientImportPage struct {
	Page
	Form      formView
	Required  []string
	Optional  []string
	MaxRows   int
	MaxMB     int
	Report    *clients.ImportReport
	Problems  []clients.ImportProblem // those shown
	Hidden    int                     // problems beyond them
	FileError string                  // a refused file, in the page's language
}

// mayImport is who sees the import: leads and admins, as the register
// itself decides (clients.Service.Import).
func mayImport(c *fiber.Ctx) bool {
	actor := principal(c)
	return actor.IsLeadAnywhere() || actor.IsAdmin()
}

// showClientImport shows the form to upload a file of clients.
func (s *Server) showClientImport(c *fiber.Ctx) error {
	if !mayImport(c) {
		return errForbidden
	}
	return s.renderClientImport(c, fiber.StatusOK, clientImportPage{})
}

// submitClientImport imports an uploaded file and shows what became of
// each line. The page is the answer itself rather than a redirect: the
// report is not stored, and sending the same file again (a reload)
// changes nothing.
func (s *Server) submitClientImport(c *fiber.Ctx) error {
	if !mayImport(c) {
		return errForbidden
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return s.renderClientImport(c, fiber.StatusUnprocessableEntity,
			clientImportPage{Form: formView{Errors: forms.Errors{"file": "clients.import.no_file"}}})
	}
	file, err := fh.Open()
	if err != nil {
		return err
	}
	defer file.Close()
	rep, err := s.clients.Import(c.UserContext(), principal(c), file, nil)
	if fe := (*clients.FileError)(nil); errors.As(err, &fe) {
		return s.renderClientImport(c, fiber.StatusUnprocessableEntity,
			clientImportPage{FileError: s.translator(c).Get(fe.Message, "Column", fe.Column, "MB", clients.MaxImportBytes>>20,
				"Rows", clients.MaxImportRows)})
	}
	if err != nil {
		return err
	}
	page := clientImportPage{Report: &rep, Problems: rep.Problems}
	if len(page.Problems) > importShown {
		page.Problems, page.Hidden = page.Problems[:importShown], len(page.Problems)-importShown
	}
	return s.renderClientImport(c, fiber.StatusOK, page)
}

// renderClientImport fills in what every state of the page shows.
func (s *Server) renderClientImport(c *fiber.Ctx, status int, page clientImportPage) error {
	page.Page = s.page(c, "")
	page.Body = "staff clients"
	page.Title = page.T.Get("clients.import.title")
	page.Form = newFormView(page.T, "", nil, page.Form.Errors)
	page.Required, page.Optional = clients.ImportRequiredColumns, clients.ImportOptionalColumns()
	page.MaxRows, page.MaxMB = clients.MaxImportRows, clients.MaxImportBytes>>20
	return s.renderStatus(c, status, "client_import", page)
}
