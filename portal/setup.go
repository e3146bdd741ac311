package portal

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/store"
)

// errFormInvalid rolls a transaction back when the domain refused what
// was typed (a taken address name, say); the handler then shows the form
// again with the field error.
var errFormInvalid = errors.New("portal: the form has errors")

// inTenant runs fn in the staff member's tenant transaction and turns the
// domain's answers into pages: not found is 404, not allowed is 403, with
// the refusal's access-log row written after the rollback.
func (s *Server) inTenant(c *fiber.Ctx, fn func(ctx context.Context, tx pgx.Tx) error) error {
	ctx := c.UserContext()
	err := s.db.InTenant(ctx, principal(c).Tenant, func(tx pgx.Tx) error { return fn(ctx, tx) })
	switch {
	case err == nil || errors.Is(err, errFormInvalid):
		return err
	case errors.Is(err, org.ErrForbidden):
		if lerr := org.RecordRefusal(ctx, s.db, err); lerr != nil {
			return lerr
		}
		return errForbidden
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, pgx.ErrNoRows):
		return errNotFound
	}
	return err
}

// servicePointParam resolves :sp inside the tenant's transaction, so
// another municipality's service point is simply not found.
func servicePointParam(ctx context.Context, tx pgx.Tx, c *fiber.Ctx) (org.ServicePoint, error) {
	slug, err := slugParam(c)
	if err != nil {
		return org.ServicePoint{}, err
	}
	return org.GetServicePointBySlug(ctx, tx, slug)
}

// managedServicePoint is servicePointParam for pages only the service
// point's lead or an admin may open.
func managedServicePoint(ctx context.Context, tx pgx.Tx, c *fiber.Ctx) (org.ServicePoint, error) {
	sp, err := servicePointParam(ctx, tx, c)
	if err != nil {
		return sp, err
	}
	if !principal(c).CanManage(sp.ID) {
		return sp, errForbidden
	}
	return sp, nil
}

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
	if !actor.IsLeadAnywhere() {
		return errForbidden
	}
	p := s.page(c, "")
	p.Title = p.T.Get("setup.title")
	page := setupPage{Page: p, IsAdmin: actor.IsAdmin()}
	err := s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		points, err := org.ListServicePoints(ctx, tx)
		for _, sp := range points {
			if actor.CanManage(sp.ID) {
				page.Points = append(page.Points, sp)
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	return s.render(c, "setup", page)
}

// Name is a service point's name in the page's language.
func (p setupPage) Name(sp org.ServicePoint) string { return spName(sp, p.T.Lang.Code) }
