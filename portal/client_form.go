package portal

import (
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
)

// decodeClientForm reads the client form into the register's input. What
// only the page knows is read here (dates as the page's language writes
// them, numbers); every other rule is the register's own (Input.Check),
// which runs here too when the page already found a problem, so that the
// form comes back with all its problems at once.
func decodeClientForm(v url.Values, lang i18n.Language, now time.Time) (clients.Input, forms.Errors) {
	f := forms.New(v)
	in := clients.Input{FirstNames: v.Get("first_names"), LastName: v.Get("last_name"), NativeName: v.Get("native_name"),
		IdentityCode: v.Get("identity_code"), RemoveIdentityCode: f.Bool("remove_identity_code"), Language: v.Get("language"),
		InterpreterLanguage: v.Get("interpreter_language"), Phone: v.Get("phone"), Email: v.Get("email"), Note: v.Get("note")}
	if s := f.Text("birth_date", false, 30); s != "" {
		d, ok := lang.ParseDate(s, time.UTC)
		if ok {
			in.BirthDate = d
		} else {
			f.Fail("birth_date", "form.invalid_date")
		}
	}
	if n, ok := f.Int("service_point", true, 1, 1<<62); ok {
		in.ServicePointID = n
	}
	if n, ok := f.Int("responsible", false, 1, 1<<62); ok {
		in.ResponsibleStaffID = n
	}
	if f.OK() {
		return in, f.Errors
	}
	checked := in
	for field, key := range checked.Check(now) {
		f.Fail(field, key)
	}
	return in, f.Errors
}

// clientValues fills the client form from a stored client. The identity
// code is never sent back into a page: the form shows it masked.
func clientValues(cl clients.Client, lang i18n.Language) url.Values {
	v := url.Values{"first_names": {cl.FirstNames}, "last_name": {cl.LastName}, "native_name": {cl.NativeName},
		"language": {cl.Language}, "interpreter_language": {cl.InterpreterLanguage}, "phone": {cl.Phone}, "email": {cl.Email},
		"note": {cl.Note}, "service_point": {strconv.FormatInt(cl.ServicePointID, 10)}}
	if !cl.BirthDate.IsZero() {
		v.Set("birth_date", lang.FormatDate(cl.BirthDate))
	}
	if cl.ResponsibleStaffID != 0 {
		v.Set("responsible", strconv.FormatInt(cl.ResponsibleStaffID, 10))
	}
	return v
}

// problems puts the register's refusal of some input beside the fields it
// names, and tells whether it did; any other error is the caller's.
func problems(errs forms.Errors, err error) bool {
	var ie *clients.InvalidError
	if errors.As(err, &ie) {
		for field, key := range ie.Problems {
			errs[field] = key
		}
		return true
	}
	return fieldError(errs, err)
}

type expertGroup struct {
	Label   string
	Experts []clients.Expert
}

type clientFormPage struct {
	Page
	New          bool
	ID           int64
	Form         formView
	Masked       string // the stored identity code, masked
	Points       []pointOption
	ExpertGroups []expertGroup
	Languages    []i18n.Language
	Interpreters []clients.Language
}

type pointOption struct {
	ID   int64
	Name string
}

// showClientForm shows the form for a new client or a client's basic
// information (the read is logged).
func (s *Server) showClientForm(c *fiber.Ctx) error {
	return s.renderClientForm(c, fiber.StatusOK, nil, nil)
}

// submitClient registers a client or saves the changes to one.
func (s *Server) submitClient(c *fiber.Ctx) error {
	actor := principal(c)
	id, _, err := rowParam(c, "client")
	if err != nil {
		return err
	}
	v := formValues(c)
	in, errs := decodeClientForm(v, s.translator(c).Lang, time.Now())
	if len(errs) > 0 {
		return s.renderClientForm(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	var cl clients.Client
	if id == 0 {
		cl, err = s.clients.Create(c.UserContext(), actor, in)
	} else {
		cl, err = s.clients.Update(c.UserContext(), actor, id, in)
	}
	errs = forms.Errors{}
	if problems(errs, err) {
		return s.renderClientForm(c, fiber.StatusUnprocessableEntity, v, errs)
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/clients/"+strconv.FormatInt(cl.ID, 10)+"?saved=1", fiber.StatusSeeOther)
}

// renderClientForm shows the client form: what was typed when typed is not
// nil (the record is then read unlogged, as part of the change being
// made), else the stored record, whose reading is logged.
func (s *Server) renderClientForm(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors) error {
	actor := principal(c)
	id, _, err := rowParam(c, "client")
	if err != nil {
		return err
	}
	p := s.page(c, "")
	t := p.T
	page := clientFormPage{Page: p, New: id == 0, ID: id, Languages: i18n.Languages, Interpreters: clients.InterpreterLanguages}
	page.Body = "staff clients"
	stored := url.Values{"language": {t.Lang.Code}}
	if page.New {
		form, err := s.clients.NewForm(c.UserContext(), actor)
		if err != nil {
			return err
		}
		page.Title = t.Get("clients.new")
		for _, sp := range form.Points {
			page.Points = append(page.Points, pointOption{sp.ID, spName(sp, t.Lang.Code)})
			page.ExpertGroups = append(page.ExpertGroups, expertGroup{spName(sp, t.Lang.Code), form.Experts[sp.ID]})
		}
		if len(form.Points) == 1 {
			stored.Set("service_point", strconv.FormatInt(form.Points[0].ID, 10))
		}
	} else {
		rec, err := s.clients.Get(c.UserContext(), actor, id, typed == nil)
		if err != nil {
			return err
		}
		if rec.Client.Erased {
			return clients.ErrErased
		}
		page.Title = t.Get("clients.edit")
		page.Masked = rec.Client.IdentityCodeMasked
		for _, sp := range rec.Points {
			page.Points = append(page.Points, pointOption{sp.ID, spName(sp, t.Lang.Code)})
		}
		page.ExpertGroups = []expertGroup{{spName(rec.ServicePoint, t.Lang.Code), rec.Experts}}
		stored = clientValues(rec.Client, t.Lang)
	}
	if typed != nil {
		stored = typed
	}
	page.Form = newFormView(t, "", stored, errs)
	return s.renderStatus(c, status, "client_form", page)
}
