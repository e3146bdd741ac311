package portal

import (
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
)

// decodeContactForm reads a contact: its day and time on the
// municipality's clock, the channel, the interpreter and the summary.
func decodeContactForm(f *forms.Form, lang i18n.Language) clients.ContactInput {
	in := clients.ContactInput{Channel: f.Choice("channel", true, clients.Channels...), InterpreterUsed: f.Bool("interpreter_used"),
		InterpreterLanguage: f.Text("interpreter_language", false, 35), Summary: f.Lines("summary", true, 2000)}
	day := f.Text("date", true, 30)
	clock := f.Clock("time", true)
	if day == "" || clock == "" {
		return in
	}
	d, ok := parseDay(lang, day, helsinki)
	if !ok {
		f.Fail("date", "form.invalid_date")
		return in
	}
	h, _ := strconv.Atoi(clock[:2])
	m, _ := strconv.Atoi(clock[3:])
	in.OccurredAt = time.Date(d.Year(), d.Month(), d.Day(), h, m, 0, 0, helsinki)
	return in
}

// submitContact records a contact in the client's log.
func (s *Server) submitContact(c *fiber.Ctx) error {
	return s.clientAction(c, "contact", func(f *forms.Form, lang i18n.Language) func(int64) error {
		in := decodeContactForm(f, lang)
		return func(id int64) error { return s.clients.AddContact(c.UserContext(), principal(c), id, in) }
	})
}

type contactPage struct {
	Page
	clientView
	Client       clients.Client
	Contact      clients.Contact
	Form         formView
	Channels     []string
	Interpreters []clients.Language
}

// showContactForm shows a line of the contact log for correction.
func (s *Server) showContactForm(c *fiber.Ctx) error {
	return s.renderContactForm(c, fiber.StatusOK, nil, nil)
}

// submitContactCorrection saves a corrected version of a contact line.
func (s *Server) submitContactCorrection(c *fiber.Ctx) error {
	id, line, err := contactParams(c)
	if err != nil {
		return err
	}
	v := formValues(c)
	f := forms.New(v)
	in := decodeContactForm(f, s.translator(c).Lang)
	if !f.OK() {
		return s.renderContactForm(c, fiber.StatusUnprocessableEntity, v, f.Errors)
	}
	err = s.clients.CorrectContact(c.UserContext(), principal(c), id, line, in)
	errs := forms.Errors{}
	if problems(errs, err) {
		return s.renderContactForm(c, fiber.StatusUnprocessableEntity, v, errs)
	} else if err != nil {
		return err
	}
	return c.Redirect(clientURL(id, "contacts"), fiber.StatusSeeOther)
}

// contactParams reads the client and the line of their contact log that
// the address names.
func contactParams(c *fiber.Ctx) (id, line int64, err error) {
	if id, err = idParam(c, "id"); err != nil {
		return 0, 0, err
	}
	line, err = idParam(c, "contact")
	return id, line, err
}

func (s *Server) renderContactForm(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors) error {
	id, line, err := contactParams(c)
	if err != nil {
		return err
	}
	rec, err := s.clients.Get(c.UserContext(), principal(c), id, typed == nil)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	page := contactPage{Page: p, clientView: clientView{p.T}, Client: rec.Client, Channels: clients.Channels,
		Interpreters: clients.InterpreterLanguages}
	found := false
	for _, k := range rec.Contacts {
		if k.ID == line {
			page.Contact, found = k, true
		}
	}
	if !found {
		return errNotFound
	}
	page.Body = "staff clients"
	page.Title = p.T.Get("clients.contact_correct_title")
	if typed == nil {
		at := page.Contact.OccurredAt.In(helsinki)
		typed = url.Values{"date": {p.T.Lang.FormatDate(at)}, "time": {at.Format("15:04")}, "channel": {page.Contact.Channel},
			"interpreter_used": {boolValue(page.Contact.InterpreterUsed)}, "interpreter_language": {page.Contact.InterpreterLanguage},
			"summary": {page.Contact.Summary}}
	}
	page.Form = newFormView(p.T, "", typed, errs)
	return s.renderStatus(c, status, "client_contact", page)
}
