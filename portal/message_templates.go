package portal

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/outreach"
)

// templateLanguage is one text field of the template form: a client
// language, named in its own script and written in its direction.
type templateLanguage struct {
	Code, Name, Dir string
	Required        bool
}

type messageTemplatesPage struct {
	Page
	Templates []templateRow
	Template  outreach.Template // the one edited; ID 0 on the list page
	Languages []templateLanguage
	Form      formView
	Saved     bool
}

type templateRow struct {
	outreach.Template
	Updated   string
	Languages string // the codes it has a text for
}

// templateLanguages lists every client language, Finnish first and
// required: it is the text of every language without its own.
func templateLanguages() []templateLanguage {
	out := make([]templateLanguage, 0, len(i18n.Languages))
	for _, l := range i18n.Languages {
		out = append(out, templateLanguage{Code: l.Code, Name: l.Name, Dir: l.Dir(), Required: l.Code == i18n.Default})
	}
	return out
}

// decodeTemplate reads the template form; the domain checks it.
func decodeTemplate(v url.Values) outreach.TemplateInput {
	in := outreach.TemplateInput{Name: v.Get("name"), Texts: map[string]string{}}
	for _, l := range i18n.Languages {
		if t := v.Get("text_" + l.Code); t != "" {
			in.Texts[l.Code] = t
		}
	}
	return in
}

// templateErrors puts a template's problems beside their fields; any
// other error is the caller's to return.
func templateErrors(err error) (forms.Errors, bool) {
	var bad outreach.Invalid
	if !errors.As(err, &bad) {
		return nil, false
	}
	return forms.Errors(bad), true
}

// showMessageTemplates lists the municipality's message templates, with
// the form for a new one, for leads and admins.
func (s *Server) showMessageTemplates(c *fiber.Ctx) error {
	list, err := s.outreach.Templates(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.renderMessageTemplates(c, fiber.StatusOK, list, nil, nil)
}

// submitMessageTemplate makes a new template, its first version.
func (s *Server) submitMessageTemplate(c *fiber.Ctx) error {
	v := formValues(c)
	_, err := s.outreach.SaveTemplate(c.UserContext(), principal(c), 0, decodeTemplate(v))
	if err == nil {
		return c.Redirect("/staff/message-templates?saved=1", fiber.StatusSeeOther)
	}
	errs, ok := templateErrors(err)
	if !ok {
		return err
	}
	list, err := s.outreach.Templates(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.renderMessageTemplates(c, fiber.StatusUnprocessableEntity, list, v, errs)
}

func (s *Server) renderMessageTemplates(c *fiber.Ctx, status int, list []outreach.Template, typed url.Values, errs forms.Errors) error {
	page := messageTemplatesPage{Page: s.page(c, ""), Languages: templateLanguages(),
		Saved: c.Query("saved") != "" && typed == nil}
	page.Body = "staff setup"
	page.Title = page.T.Get("templates.title")
	page.Form = newFormView(page.T, "template-", typed, errs)
	for _, t := range list {
		codes := make([]string, 0, len(t.Texts))
		for _, l := range i18n.Languages {
			if t.Texts[l.Code] != "" {
				codes = append(codes, l.Code)
			}
		}
		page.Templates = append(page.Templates, templateRow{Template: t, Updated: when(page.T.Lang, t.UpdatedAt.In(helsinki)),
			Languages: strings.Join(codes, ", ")})
	}
	return s.renderStatus(c, status, "message_templates", page)
}

// showMessageTemplate shows one template's newest texts to edit.
func (s *Server) showMessageTemplate(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	t, err := s.outreach.Template(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	typed := url.Values{"name": {t.Name}}
	for code, text := range t.Texts {
		typed.Set("text_"+code, text)
	}
	return s.renderMessageTemplate(c, fiber.StatusOK, t, typed, nil)
}

// submitMessageTemplateVersion saves the edited texts as the template's
// next version.
func (s *Server) submitMessageTemplateVersion(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	v := formValues(c)
	t, err := s.outreach.SaveTemplate(c.UserContext(), principal(c), id, decodeTemplate(v))
	if err == nil {
		return c.Redirect("/staff/message-templates/"+strconv.FormatInt(t.ID, 10)+"?saved=1", fiber.StatusSeeOther)
	}
	errs, ok := templateErrors(err)
	if !ok {
		return err
	}
	return s.renderMessageTemplate(c, fiber.StatusUnprocessableEntity, outreach.Template{ID: id, Name: v.Get("name")}, v, errs)
}

func (s *Server) renderMessageTemplate(c *fiber.Ctx, status int, t outreach.Template, typed url.Values, errs forms.Errors) error {
	page := messageTemplatesPage{Page: s.page(c, ""), Template: t, Languages: templateLanguages(),
		Saved: c.Query("saved") != "" && errs == nil}
	page.Body = "staff setup"
	page.Title = page.T.Get("templates.edit_title", "Name", t.Name)
	page.Form = newFormView(page.T, "template-", typed, errs)
	return s.renderStatus(c, status, "message_template", page)
}
