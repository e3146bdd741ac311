package portal

import (
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/stats"
)

// helsinki is the clock of the staff pages: the portal's municipalities
// are Finnish, and their statistics count in the same zone.
var helsinki = stats.Location()

// clientView formats a client's information for a page.
type clientView struct {
	t *i18n.T
}

// Date writes a day as the page's language does ("" for none).
func (v clientView) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return v.t.Lang.FormatDate(t)
}

// When writes a moment as a day and a time on the municipality's clock.
func (v clientView) When(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return when(v.t.Lang, t.In(helsinki))
}

// ISO is a moment for a datetime attribute.
func (v clientView) ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// LanguageName is a language's own name, or its code when unknown.
func (v clientView) LanguageName(code string) string {
	for _, l := range clients.InterpreterLanguages {
		if l.Code == code {
			return l.Name
		}
	}
	return code
}

// DisplayName is the client's name, or the words for an erased one.
func (v clientView) DisplayName(c clients.Client) string {
	if c.Erased {
		return v.t.Get("clients.erased_name")
	}
	return c.Name()
}

type clientPage struct {
	Page
	clientView
	Record       clients.Record
	PointName    string
	Saved        bool
	Expert       formView
	End          formView
	Continue     formView
	Contact      formView
	Reasons      []string
	Channels     []string
	Interpreters []clients.Language
}

// showClient shows a client's page (the read is logged).
func (s *Server) showClient(c *fiber.Ctx) error {
	return s.renderClientPage(c, fiber.StatusOK, "", nil, nil)
}

// renderClientPage shows the client's page. failed names the page's form
// that came back with errs (typed holding what was typed); the record is
// then read unlogged, as part of the change that failed.
func (s *Server) renderClientPage(c *fiber.Ctx, status int, failed string, typed url.Values, errs forms.Errors) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	rec, err := s.clients.Get(c.UserContext(), principal(c), id, failed == "")
	if err != nil {
		return err
	}
	p := s.page(c, "")
	t := p.T
	page := clientPage{Page: p, clientView: clientView{t}, Record: rec, PointName: spName(rec.ServicePoint, t.Lang.Code),
		Saved: c.Query("saved") != "" && failed == "", Reasons: clients.EndReasons, Channels: clients.Channels,
		Interpreters: clients.InterpreterLanguages}
	page.Body = "staff clients"
	page.Title = page.DisplayName(rec.Client)
	now := time.Now().In(helsinki)
	views := map[string]*formView{"expert": &page.Expert, "end": &page.End, "continue": &page.Continue, "contact": &page.Contact}
	initial := map[string]url.Values{
		"expert":   {"responsible": {idValue(rec.Client.ResponsibleStaffID)}},
		"end":      {"on": {t.Lang.FormatDate(now)}},
		"continue": {"on": {t.Lang.FormatDate(now)}},
		"contact":  {"date": {t.Lang.FormatDate(now)}, "time": {now.Format("15:04")}, "channel": {"meeting"}},
	}
	for name, fv := range views {
		v, e := initial[name], forms.Errors(nil)
		if name == failed {
			v, e = typed, errs
		}
		*fv = newFormView(t, name+"-", v, e)
	}
	return s.renderStatus(c, status, "client", page)
}

func idValue(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// clientURL is the client's page, with a note that a change was saved and
// the part of the page to show.
func clientURL(id int64, part string) string {
	return "/staff/clients/" + strconv.FormatInt(id, 10) + "?saved=1#" + part
}

// clientAction runs one change from a form on the client's page: decode
// reads the form, act makes the one call. Problems come back beside the
// form's fields; success returns to the page at the form's part.
func (s *Server) clientAction(c *fiber.Ctx, form string, decode func(f *forms.Form, lang i18n.Language) func(id int64) error) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	v := formValues(c)
	f := forms.New(v)
	act := decode(f, s.translator(c).Lang)
	if !f.OK() {
		return s.renderClientPage(c, fiber.StatusUnprocessableEntity, form, v, f.Errors)
	}
	err = act(id)
	errs := forms.Errors{}
	if problems(errs, err) {
		return s.renderClientPage(c, fiber.StatusUnprocessableEntity, form, v, errs)
	} else if err != nil {
		return err
	}
	return c.Redirect(clientURL(id, form), fiber.StatusSeeOther)
}

// submitClientExpert names the client's responsible expert.
func (s *Server) submitClientExpert(c *fiber.Ctx) error {
	return s.clientAction(c, "expert", func(f *forms.Form, _ i18n.Language) func(int64) error {
		staff, _ := f.Int("responsible", false, 1, 1<<62)
		return func(id int64) error { return s.clients.AssignExpert(c.UserContext(), principal(c), id, staff) }
	})
}

// submitClientEnd ends the clientship.
func (s *Server) submitClientEnd(c *fiber.Ctx) error {
	return s.clientAction(c, "end", func(f *forms.Form, lang i18n.Language) func(int64) error {
		on := decodeDay(f, "on", lang)
		reason := f.Choice("reason", true, clients.EndReasons...)
		return func(id int64) error {
			_, err := s.clients.End(c.UserContext(), principal(c), id, on, reason)
			return err
		}
	})
}

// submitClientContinue continues an ended clientship.
func (s *Server) submitClientContinue(c *fiber.Ctx) error {
	return s.clientAction(c, "continue", func(f *forms.Form, lang i18n.Language) func(int64) error {
		on := decodeDay(f, "on", lang)
		return func(id int64) error {
			_, err := s.clients.Continue(c.UserContext(), principal(c), id, on)
			return err
		}
	})
}

// decodeDay reads a required date of a staff form as the page's language
// writes it.
func decodeDay(f *forms.Form, field string, lang i18n.Language) time.Time {
	s := f.Text(field, true, 30)
	if s == "" {
		return time.Time{}
	}
	d, ok := parseDay(lang, s, time.UTC)
	if !ok {
		f.Fail(field, "form.invalid_date")
	}
	return d
}
