package portal

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
)

// formView is one form as a template shows it: what was typed (or what is
// stored, on first view) and the problem with each field, translated.
type formView struct {
	T      *i18n.T
	Prefix string // keeps element ids unique when a page holds many forms
	Values url.Values
	Errors forms.Errors
}

func newFormView(t *i18n.T, prefix string, v url.Values, errs forms.Errors) formView {
	if v == nil {
		v = url.Values{}
	}
	return formView{T: t, Prefix: prefix, Values: v, Errors: errs}
}

// ID is the element id of a field.
func (f formView) ID(name string) string { return f.Prefix + name }

// Value is what the field holds, made valid UTF-8 for the page.
func (f formView) Value(name string) string {
	return strings.ToValidUTF8(f.Values.Get(name), "\uFFFD")
}

// Checked tells whether a checkbox or radio button with value is ticked.
func (f formView) Checked(name, value string) bool { return slices.Contains(f.Values[name], value) }

// Invalid tells whether the field has a problem.
func (f formView) Invalid(name string) bool { return f.Errors[name] != "" }

// Error is the field's problem in the page's language, or "".
func (f formView) Error(name string) string {
	if k := f.Errors[name]; k != "" {
		return f.T.Get(k)
	}
	return ""
}

// Failed tells whether the form came back with problems.
func (f formView) Failed() bool { return len(f.Errors) > 0 }

// labelInput is one language's input of a text given in every language.
type labelInput struct {
	ID, Name, Value, Error string
	Lang                   i18n.Language
	Required               bool
	Max                    int
}

// Labels lists the inputs of a text kept per language (name_fi, name_sv…):
// every language, Finnish first and required.
func (f formView) Labels(prefix string, max int) []labelInput {
	out := make([]labelInput, 0, len(i18n.Languages))
	for _, l := range i18n.Languages {
		name := prefix + "_" + l.Code
		out = append(out, labelInput{ID: f.ID(name), Name: name, Value: f.Value(name), Error: f.Error(name),
			Lang: l, Required: l.Code == i18n.Default, Max: max})
	}
	return out
}

// decodeLabels reads a text given per language; Finnish is required,
// since every other language falls back to it.
func decodeLabels(f *forms.Form, prefix string, max int) org.Labels {
	labels := org.Labels{}
	for _, l := range i18n.Languages {
		if s := f.Text(prefix+"_"+l.Code, l.Code == i18n.Default, max); s != "" {
			labels[l.Code] = s
		}
	}
	return labels
}

// labelValues is the form form of stored labels.
func labelValues(v url.Values, prefix string, labels org.Labels) {
	for code, s := range labels {
		v.Set(prefix+"_"+code, s)
	}
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return ""
}

type setupPage struct {
	Page
	Points  []org.ServicePoint
	IsAdmin bool
}

// showSetup lists the service points the staff member may set up; an admin
// sees them all and may add one.
func (s *Server) showSetup(c *fiber.Ctx) error {
	actor := principal(c)
	points, err := s.org.ManagedServicePoints(c.UserContext(), actor)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("setup.title")
	return s.render(c, "setup", setupPage{Page: p, Points: points, IsAdmin: actor.IsAdmin()})
}

// Name is a service point's name in the page's language.
func (p setupPage) Name(sp org.ServicePoint) string { return spName(sp, p.T.Lang.Code) }

// setupRow is a kind of row a service point's set-up saves from a form of
// its own (a desk, a topic, a referral service), read into an In.
type setupRow[In any] struct {
	kind   string // names the form ("desk-12") and the notice after saving (?saved=desk)
	anchor string // where the service point page lists these rows
	decode func(v url.Values, isNew bool) (In, forms.Errors)
	// save stores the row: id 0 is a new one.
	save func(ctx context.Context, actor auth.Principal, slug string, id int64, in In) error
	// again shows the form with its errors, as typed.
	again func(c *fiber.Ctx, key string, v url.Values, errs forms.Errors) error
}

// submitSetupRow saves a row form: a form with errors comes back filled in
// (422), a saved row goes back to the service point page.
func submitSetupRow[In any](c *fiber.Ctx, r setupRow[In]) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	id, key, err := rowParam(c, r.kind)
	if err != nil {
		return err
	}
	v := formValues(c)
	in, errs := r.decode(v, id == 0)
	if len(errs) == 0 {
		err = r.save(c.UserContext(), principal(c), slug, id, in)
	}
	if len(errs) > 0 || fieldError(errs, err) {
		return r.again(c, key, v, errs)
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+slug+"?saved="+r.kind+"#"+r.anchor, fiber.StatusSeeOther)
}
