package portal

import (
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
)

// accessLogLimit is how many rows one page shows; narrowing the filter
// reaches older ones.
const accessLogLimit = 200

// accessLogActions are the actions a filter may ask for.
var accessLogActions = []string{audit.ActionRead, audit.ActionCreate, audit.ActionUpdate, audit.ActionDelete, audit.ActionExport,
	audit.ActionSignIn}

var subjectKindPattern = regexp.MustCompile(`^[a-z][a-z_]{0,29}$`)

// decodeAccessLogFilter reads the access-log filter. Dates are whole days
// in loc, written as lang writes them; the end day is included.
func decodeAccessLogFilter(v url.Values, lang i18n.Language, loc *time.Location) (audit.Filter, forms.Errors) {
	f := forms.New(v)
	flt := audit.Filter{Limit: accessLogLimit}
	if n, ok := f.Int("staff", false, 1, 1<<62); ok {
		flt.StaffID = n
	}
	if k := f.Text("kind", false, 30); k != "" {
		if subjectKindPattern.MatchString(k) {
			flt.SubjectKind = k
		} else {
			f.Fail("kind", "form.invalid_choice")
		}
	}
	flt.Action = f.Choice("action", false, accessLogActions...)
	flt.From = decodeDate(f, "from", lang, loc)
	if to := decodeDate(f, "to", lang, loc); !to.IsZero() {
		flt.To = to.AddDate(0, 0, 1)
		if !flt.From.IsZero() && !flt.From.Before(flt.To) {
			f.Fail("to", "access_log.bad_range")
			flt.To = time.Time{}
		}
	}
	return flt, f.Errors
}

// decodeDate reads a date field; a good date is shown back as the page's
// language writes it.
func decodeDate(f *forms.Form, field string, lang i18n.Language, loc *time.Location) time.Time {
	s := f.Text(field, false, 30)
	if s == "" {
		return time.Time{}
	}
	d, ok := parseDay(lang, s, loc)
	if !ok {
		f.Fail(field, "form.invalid_date")
		return time.Time{}
	}
	f.Values.Set(field, lang.FormatDate(d))
	return d
}

type accessLogPage struct {
	Page
	Form    formView
	People  []org.Member // for the staff filter
	Kinds   []string
	Actions []string
	Entries []audit.Entry
	Limit   int
	loc     *time.Location
}

// When shows an entry's time on the municipality's clock.
func (p accessLogPage) When(e audit.Entry) string {
	return e.At.In(p.loc).Format("2006-01-02 15:04:05")
}

// ISO is an entry's time for the datetime attribute.
func (p accessLogPage) ISO(e audit.Entry) string { return e.At.UTC().Format(time.RFC3339) }

// ActionName is an action in words; an action this page does not know yet
// shows as stored.
func (p accessLogPage) ActionName(a string) string {
	if slices.Contains(accessLogActions, a) {
		return p.T.Get("access_log.action_" + a)
	}
	return a
}

// showAccessLog lists the access log for an admin, newest first.
func (s *Server) showAccessLog(c *fiber.Ctx) error {
	// The portal's municipalities are Finnish: their day starts in Helsinki.
	loc, _ := time.LoadLocation("Europe/Helsinki")
	v, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		v = url.Values{}
	}
	p := s.page(c, "")
	flt, errs := decodeAccessLogFilter(v, p.T.Lang, loc)
	filter := &flt
	if len(errs) > 0 {
		filter = nil
	}
	log, err := s.org.AccessLog(c.UserContext(), principal(c), filter)
	if err != nil {
		return err
	}
	page := accessLogPage{Page: p, Form: newFormView(p.T, "filter-", v, errs), Actions: accessLogActions,
		Limit: accessLogLimit, loc: loc, People: log.People, Kinds: log.Kinds, Entries: log.Entries}
	page.Body = "staff setup"
	page.Title = page.T.Get("access_log.title")
	if flt.SubjectKind != "" && !slices.Contains(page.Kinds, flt.SubjectKind) {
		page.Kinds = append(page.Kinds, flt.SubjectKind)
	}
	if len(errs) > 0 {
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "access_log", page)
	}
	return s.render(c, "access_log", page)
}
