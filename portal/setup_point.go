package portal

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	// Time zones are checked with time.LoadLocation; the embedded database
	// makes the answer the same on every machine, zoneinfo files or not.
	_ "time/tzdata"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/hours"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
)

// Limits of the service point form.
const (
	maxNameLen     = 100
	maxTimeZoneLen = 64
)

// timeZoneSuggestions are offered as a list; any IANA zone is accepted.
var timeZoneSuggestions = []string{"Europe/Helsinki", "Europe/Mariehamn", "Europe/Stockholm", "Europe/Tallinn", "UTC"}

// servicePointInput is what the service point form says.
type servicePointInput struct {
	Slug       string // new service points only
	Names      org.Labels
	TimeZone   string
	Hours      hours.Week
	TargetWait int
	MaxRecalls int
}

// decodeServicePointForm reads and checks the service point form.
func decodeServicePointForm(v url.Values, isNew bool) (servicePointInput, forms.Errors) {
	f := forms.New(v)
	var in servicePointInput
	if isNew {
		in.Slug = f.Slug("slug", true)
		if org.SlugReserved(in.Slug) {
			f.Fail("slug", "setup.slug_reserved")
			in.Slug = ""
		}
	}
	in.Names = decodeLabels(f, "name", maxNameLen)
	in.TimeZone = decodeTimeZone(f, "time_zone")
	in.Hours = decodeWeek(f)
	if n, ok := f.Int("target_wait", true, 1, 600); ok {
		in.TargetWait = int(n)
	}
	if n, ok := f.Int("max_recalls", true, 0, 10); ok {
		in.MaxRecalls = int(n)
	}
	return in, f.Errors
}

// zoneName is the shape of an IANA zone name; checking it first keeps
// anything path-like away from time.LoadLocation.
var zoneName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$`)

func decodeTimeZone(f *forms.Form, field string) string {
	s := f.Text(field, true, maxTimeZoneLen)
	if s == "" {
		return ""
	}
	// "Local" is whatever zone the server happens to run in.
	if s == "Local" || !zoneName.MatchString(s) {
		f.Fail(field, "setup.bad_time_zone")
		return ""
	}
	if _, err := time.LoadLocation(s); err != nil {
		f.Fail(field, "setup.bad_time_zone")
		return ""
	}
	return s
}

// maxSpans is how many openings a day may have on the form: a morning and
// an afternoon around lunch, and one more for an evening.
const maxSpans = 3

// spanFields names the inputs of a day's i-th opening (from 0); the first
// keeps the plain names open_1 and close_1.
func spanFields(day string, i int) (open, close string) {
	if i == 0 {
		return "open_" + day, "close_" + day
	}
	n := strconv.Itoa(i + 1)
	return "open_" + day + "_" + n, "close_" + day + "_" + n
}

// decodeWeek reads opening hours: around the clock, or per ISO weekday up
// to maxSpans openings (a lunch break is two), or closed. An opening must
// close after it opens and must not overlap another of its day. A week
// closed every day is refused, since nobody could ever take a number.
func decodeWeek(f *forms.Form) hours.Week {
	if f.Bool("always_open") {
		return hours.Week{Always: true}
	}
	var week hours.Week
	open := 0
	for d := 1; d <= 7; d++ {
		k := strconv.Itoa(d)
		if f.Bool("closed_" + k) {
			continue
		}
		open++
		type fieldSpan struct {
			hours.Span
			openField string
		}
		var spans []fieldSpan
		for i := range maxSpans {
			of, cf := spanFields(k, i)
			// The first opening is required; a further row left empty
			// is no opening.
			if i > 0 && strings.TrimSpace(f.Values.Get(of)) == "" && strings.TrimSpace(f.Values.Get(cf)) == "" {
				continue
			}
			from, okFrom := decodeClock(f, of)
			to, okTo := decodeClock(f, cf)
			if !okFrom || !okTo {
				continue
			}
			if to <= from {
				f.Fail(cf, "setup.close_before_open")
				continue
			}
			spans = append(spans, fieldSpan{hours.Span{From: from, To: to}, of})
		}
		slices.SortFunc(spans, func(a, b fieldSpan) int { return a.From - b.From })
		for i, sp := range spans {
			if i > 0 && sp.From < spans[i-1].To {
				f.Fail(sp.openField, "setup.hours_overlap")
			}
			week.Days[d-1] = append(week.Days[d-1], sp.Span)
		}
	}
	if open == 0 {
		f.Fail("hours", "setup.all_closed")
	}
	return week
}

// clockPattern is a time of day as people type it: 08:30, 8:30, Finnish
// 8.30, or 0830 from a number pad.
var clockPattern = regexp.MustCompile(`^([01]?[0-9]|2[0-3])[:.]?([0-5][0-9])$`)

// decodeClock reads a required time of day as minutes after midnight and
// shows it back as HH:MM, which every language of the portal reads as a
// 24-hour time. It reads a longer text first, so "kahdeksalta" is told it
// is not a time rather than that it is too long.
func decodeClock(f *forms.Form, field string) (int, bool) {
	s := f.Text(field, true, 16)
	if s == "" {
		return 0, false
	}
	m := clockPattern.FindStringSubmatch(i18n.LatinDigits(s))
	if m == nil {
		f.Fail(field, "form.invalid_time")
		return 0, false
	}
	hh, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	f.Values.Set(field, hours.Clock(hh*60+mm))
	return hh*60 + mm, true
}

// servicePointValues is the form form of a stored service point.
func servicePointValues(sp org.ServicePoint) url.Values {
	v := url.Values{}
	v.Set("slug", sp.Slug)
	labelValues(v, "name", sp.Names)
	v.Set("time_zone", sp.TimeZone)
	v.Set("target_wait", strconv.Itoa(sp.TargetWaitMinutes))
	v.Set("max_recalls", strconv.Itoa(sp.MaxRecalls))
	if sp.Hours.Always {
		v.Set("always_open", "1")
		setOfficeHours(v)
		return v
	}
	weekValues(v, sp.Hours)
	return v
}

// weekValues is the form form of opening hours.
func weekValues(v url.Values, w hours.Week) {
	for d, spans := range w.Days {
		k := strconv.Itoa(d + 1)
		if len(spans) == 0 {
			v.Set("closed_"+k, "1")
		}
		for i, sp := range spans {
			of, cf := spanFields(k, i)
			v.Set(of, hours.Clock(sp.From))
			v.Set(cf, hours.Clock(sp.To))
		}
	}
}

// setOfficeHours fills in weekdays 8–16, so unticking "around the clock"
// starts from something usual rather than empty boxes.
func setOfficeHours(v url.Values) {
	var w hours.Week
	for d := range 5 {
		w.Days[d] = []hours.Span{{From: 8 * 60, To: 16 * 60}}
	}
	weekValues(v, w)
}

func newServicePointValues() url.Values {
	v := url.Values{}
	v.Set("time_zone", "Europe/Helsinki")
	v.Set("target_wait", "20")
	v.Set("max_recalls", "2")
	setOfficeHours(v)
	return v
}

// failedForm is a submission that came back with errors: which form of the
// page it was ("sp", "desk-new", "desk-12", "referral-new" …) and what was
// typed, so that form shows it again.
type failedForm struct {
	Key    string
	Values url.Values
	Errors forms.Errors
}

// dayRow is one weekday of the opening-hours form: its openings' inputs,
// those filled in and one empty row more, up to maxSpans.
type dayRow struct {
	Day, Name string
	Spans     []spanRow
}

type spanRow struct {
	Open, Close string // field names
	Again       bool   // not the day's first opening
}

func dayRows(t *i18n.T, v url.Values) []dayRow {
	rows := make([]dayRow, 0, 7)
	for d := 1; d <= 7; d++ {
		k := strconv.Itoa(d)
		filled := 1
		for i := 1; i < maxSpans; i++ {
			if of, cf := spanFields(k, i); v.Get(of) != "" || v.Get(cf) != "" {
				filled = i + 1
			}
		}
		row := dayRow{Day: k, Name: t.Get("setup.day." + k)}
		for i := range min(maxSpans, filled+1) {
			of, cf := spanFields(k, i)
			row.Spans = append(row.Spans, spanRow{Open: of, Close: cf, Again: i > 0})
		}
		rows = append(rows, row)
	}
	return rows
}

type deskRow struct {
	Desk org.Desk
	Form formView
}

type topicRow struct {
	Topic org.Topic
	Label string
}

type referralRow struct {
	Referral org.Referral
	Name     string
	Form     formView
}

type servicePointPage struct {
	Page
	New         bool
	SP          org.ServicePoint
	Form        formView
	Days        []dayRow
	TimeZones   []string
	Desks       []deskRow
	NewDesk     formView
	Topics      []topicRow
	Referrals   []referralRow
	NewReferral formView
	Saved       bool
}

// showServicePointForm shows a service point's set-up, or the form for a
// new one (admins only).
func (s *Server) showServicePointForm(c *fiber.Ctx) error {
	return s.renderServicePointPage(c, fiber.StatusOK, nil)
}

// submitServicePoint saves the service point form.
func (s *Server) submitServicePoint(c *fiber.Ctx) error {
	actor := principal(c)
	isNew := c.Params("sp") == ""
	v := formValues(c)
	in, errs := decodeServicePointForm(v, isNew)
	if len(errs) > 0 {
		return s.renderServicePointPage(c, fiber.StatusUnprocessableEntity, &failedForm{Key: "sp", Values: v, Errors: errs})
	}
	sp := org.ServicePoint{Slug: in.Slug, Names: in.Names, TimeZone: in.TimeZone, Hours: in.Hours,
		TargetWaitMinutes: in.TargetWait, MaxRecalls: in.MaxRecalls}
	var err error
	if isNew {
		err = s.org.CreateServicePoint(c.UserContext(), actor, &sp)
	} else {
		slug, perr := slugParam(c)
		if perr != nil {
			return perr
		}
		err = s.org.UpdateServicePoint(c.UserContext(), actor, slug, &sp)
	}
	if fieldError(errs, err) {
		return s.renderServicePointPage(c, fiber.StatusUnprocessableEntity, &failedForm{Key: "sp", Values: v, Errors: errs})
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+sp.Slug+"?saved=1", fiber.StatusSeeOther)
}

// againOnServicePointPage shows the service point page with a row form
// (desk or referral service) that came back with errors.
func (s *Server) againOnServicePointPage(c *fiber.Ctx, key string, v url.Values, errs forms.Errors) error {
	return s.renderServicePointPage(c, fiber.StatusUnprocessableEntity, &failedForm{Key: key, Values: v, Errors: errs})
}

// renderServicePointPage shows the service point page; failed, when not
// nil, is the form on it that came back with errors.
func (s *Server) renderServicePointPage(c *fiber.Ctx, status int, failed *failedForm) error {
	actor := principal(c)
	page := servicePointPage{Page: s.page(c, ""), TimeZones: timeZoneSuggestions, Saved: c.Query("saved") != ""}
	page.Body = "staff setup"
	t := page.T
	view := func(key, prefix string, stored url.Values) formView {
		if failed != nil && failed.Key == key {
			page.Saved = false
			return newFormView(t, prefix, failed.Values, failed.Errors)
		}
		return newFormView(t, prefix, stored, nil)
	}
	if c.Params("sp") == "" {
		if !actor.IsAdmin() {
			return errForbidden
		}
		page.New = true
		page.Title = t.Get("setup.point.new")
		page.Form = view("sp", "", newServicePointValues())
		page.Days = dayRows(t, page.Form.Values)
		return s.renderStatus(c, status, "setup_point", page)
	}
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	setup, err := s.org.ServicePointSetup(c.UserContext(), actor, slug)
	if err != nil {
		return err
	}
	sp := setup.ServicePoint
	page.SP = sp
	page.Title = spName(sp, t.Lang.Code)
	page.Form = view("sp", "", servicePointValues(sp))
	page.Days = dayRows(t, page.Form.Values)
	for _, d := range setup.Desks {
		key := "desk-" + strconv.FormatInt(d.ID, 10)
		page.Desks = append(page.Desks, deskRow{Desk: d, Form: view(key, key+"-", deskValues(d))})
	}
	page.NewDesk = view("desk-new", "desk-new-", nil)
	for _, tp := range setup.Topics {
		page.Topics = append(page.Topics, topicRow{Topic: tp, Label: tp.Labels.In(t.Lang.Code)})
	}
	for _, r := range setup.Referrals {
		key := "referral-" + strconv.FormatInt(r.ID, 10)
		page.Referrals = append(page.Referrals, referralRow{Referral: r, Name: r.Names.In(t.Lang.Code),
			Form: view(key, key+"-", referralValues(r))})
	}
	page.NewReferral = view("referral-new", "referral-new-", nil)
	if failed != nil && failed.Key != "sp" && failed.Key != "" && !page.hasFailed() {
		// The form that failed is not on the page (its row went away):
		// nothing else can show the problem, so say it plainly.
		return errBadRequest
	}
	return s.renderStatus(c, status, "setup_point", page)
}

func (p servicePointPage) hasFailed() bool {
	if p.NewDesk.Failed() || p.NewReferral.Failed() {
		return true
	}
	for _, d := range p.Desks {
		if d.Form.Failed() {
			return true
		}
	}
	for _, r := range p.Referrals {
		if r.Form.Failed() {
			return true
		}
	}
	return false
}

// spName is a service point's name in a language, else its address name.
func spName(sp org.ServicePoint, lang string) string {
	if n := sp.Names.In(lang); n != "" {
		return n
	}
	return sp.Slug
}
