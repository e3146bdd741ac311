package portal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"html/template"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
)

// importShown bounds the refused lines listed on the report page: a file
// saved in the wrong encoding refuses every line, and ten thousand rows of
// the same problem help nobody more than the first few hundred.
const importShown = 500

// The page of a running import is drawn whole with these marks in it and
// sent in pieces: up to the first, the progress lines as the import goes,
// up to the second, the report, and the rest.
const (
	importProgressMark = "<!--koto:import-progress-->"
	importReportMark   = "<!--koto:import-report-->"
)

// importWriteTimeout is how long the page of a running import may take.
const importWriteTimeout = 5 * time.Minute

type clientImportPage struct {
	Page
	Form      formView
	Required  []string
	Optional  []string
	MaxRows   int
	MaxMB     int
	Running   bool // the page is streamed while the import runs
	Report    *clients.ImportReport
	Problems  []clients.ImportProblem // those shown
	Hidden    int                     // problems beyond them
	FileError string                  // a refused file, in the page's language
}

// ProgressMark and ReportMark place the streamed parts of a running
// import's page.
func (clientImportPage) ProgressMark() template.HTML { return importProgressMark }
func (clientImportPage) ReportMark() template.HTML   { return importReportMark }

// mayImport is who sees the import: leads and admins, as the register
// itself decides (clients.Service.ImportRows).
func mayImport(c *fiber.Ctx) bool {
	actor := principal(c)
	return actor.IsLeadAnywhere() || actor.IsAdmin()
}

// showClientImport shows the form to upload a file of clients.
func (s *Server) showClientImport(c *fiber.Ctx) error {
	if !mayImport(c) {
		return errForbidden
	}
	return s.render(c, "client_import", s.clientImportPage(c))
}

// clientImportPage is what every state of the page shows.
func (s *Server) clientImportPage(c *fiber.Ctx) clientImportPage {
	page := clientImportPage{Page: s.page(c, ""), Required: clients.ImportRequiredColumns,
		Optional: clients.ImportOptionalColumns(), MaxRows: clients.MaxImportRows, MaxMB: clients.MaxImportBytes >> 20}
	page.Body = "staff clients"
	page.Title = page.T.Get("clients.import.title")
	page.Form = newFormView(page.T, "", nil, nil)
	return page
}

// submitClientImport reads an uploaded file and, when it is a file of
// clients at all, imports it while the page shows how far it has got
// (a large municipality's file takes a while): the page is sent in
// pieces, the report last. The report is the answer itself rather than a
// redirect: it is not stored, and sending the same file again (a reload)
// changes nothing.
func (s *Server) submitClientImport(c *fiber.Ctx) error {
	if !mayImport(c) {
		return errForbidden
	}
	page := s.clientImportPage(c)
	fh, err := c.FormFile("file")
	if err != nil {
		page.Form = newFormView(page.T, "", nil, forms.Errors{"file": "clients.import.no_file"})
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "client_import", page)
	}
	file, err := fh.Open()
	if err != nil {
		return err
	}
	defer file.Close()
	rows, err := clients.DecodeCSV(file)
	if fe := (*clients.FileError)(nil); errors.As(err, &fe) {
		page.FileError = page.T.Get(fe.Message, "Column", fe.Column, "MB", page.MaxMB, "Rows", page.MaxRows)
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "client_import", page)
	}
	if err != nil {
		return err
	}
	return s.streamClientImport(c, page, rows)
}

// streamClientImport sends the page of a running import: its head at
// once, a progress line after each transaction, then the report and the
// rest of the page.
func (s *Server) streamClientImport(c *fiber.Ctx, page clientImportPage, rows []clients.CSVRow) error {
	page.Running = true
	doc, err := s.execute("client_import", page)
	if err != nil {
		return err
	}
	head, rest, _ := bytes.Cut(doc, []byte(importProgressMark))
	mid, tail, _ := bytes.Cut(rest, []byte(importReportMark))
	// The stream outlives the handler and its Fiber context: everything it
	// needs is taken now.
	ctx, actor, id := context.WithoutCancel(c.UserContext()), principal(c), requestID(c)
	c.Type("html", "utf-8")
	c.Set("X-Accel-Buffering", "no") // a proxy must pass the progress on as it comes
	// The server's write timeout (30 s) would cut the page of a large
	// file: 10,000 lines took 15 s on a busy two-core machine (see the
	// README), and a file may have five times as many.
	if err := c.Context().SetWriteDeadline(time.Now().Add(importWriteTimeout)); err != nil {
		return err
	}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() {
			if p := recover(); p != nil {
				s.logger.Error("client import panicked", "request_id", id, "panic", p)
			}
		}()
		w.Write(head)
		w.Flush()
		rep, err := s.clients.ImportRows(ctx, actor, rows, func(done, total int) {
			w.WriteString("<p>" + template.HTMLEscapeString(page.T.Get("clients.import.progress", "Done", done, "Total", total)) + "</p>")
			w.Flush()
		})
		w.Write(mid)
		if err != nil {
			s.logger.Error("client import failed", "request_id", id, "err", err)
			w.WriteString(`<div class="notice error" role="alert"><p>` +
				template.HTMLEscapeString(page.T.Get("clients.import.failed")) + "</p></div>")
		} else if err := s.writeImportReport(w, page, &rep); err != nil {
			s.logger.Error("client import report", "request_id", id, "err", err)
		}
		w.Write(tail)
		w.Flush()
	})
	return nil
}

// writeImportReport draws the report of a finished import.
func (s *Server) writeImportReport(w *bufio.Writer, page clientImportPage, rep *clients.ImportReport) error {
	page.Report, page.Problems = rep, rep.Problems
	if len(page.Problems) > importShown {
		page.Problems, page.Hidden = page.Problems[:importShown], len(page.Problems)-importShown
	}
	return s.templates.pages["client_import"].ExecuteTemplate(w, "import_report", page)
}
