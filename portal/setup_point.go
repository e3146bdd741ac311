package portal

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"time"
	// Time zones are checked with time.LoadLocation; the embedded database
	// makes the answer the same on every machine, zoneinfo files or not.
	_ "time/tzdata"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/forms"
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
	Hours      org.Week // empty: open around the clock
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

// decodeWeek reads opening hours: around the clock, or per ISO weekday an
// opening and a closing time, or closed. A week closed every day is
// refused, since the stored empty week means always open.
func decodeWeek(f *forms.Form) org.Week {
	if f.Bool("always_open") {
		return org.Week{}
	}
	week := org.Week{}
	open := 0
	for d := 1; d <= 7; d++ {
		k := strconv.Itoa(d)
		if f.Bool("closed_" + k) {
			continue
		}
		open++
		from := decodeClock(f, "open_"+k)
		to := decodeClock(f, "close_"+k)
		if from == "" || to == "" {
			continue
		}
		if to <= from { // HH:MM strings sort as times do
			f.Fail("close_"+k, "setup.close_before_open")
			continue
		}
		week[k] = org.Hours{from, to}
	}
	if open == 0 {
		f.Fail("hours", "setup.all_closed")
	}
	return week
}

var clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// decodeClock reads a required HH:MM. Unlike forms.Clock it reads a longer
// text first, so "kahdeksalta" is told it is not a time rather than that
// it is too long.
func decodeClock(f *forms.Form, field string) string {
	s := f.Text(field, true, 16)
	if s == "" {
		return ""
	}
	if !clockPattern.MatchString(s) {
		f.Fail(field, "form.invalid_time")
		return ""
	}
	return s
}

// servicePointValues is the form form of a stored service point.
func servicePointValues(sp org.ServicePoint) url.Values {
	v := url.Values{}
	v.Set("slug", sp.Slug)
	labelValues(v, "name", sp.Names)
	v.Set("time_zone", sp.TimeZone)
	v.Set("target_wait", strconv.Itoa(sp.TargetWaitMinutes))
	v.Set("max_recalls", strconv.Itoa(sp.MaxRecalls))
	if len(sp.Hours) == 0 {
		v.Set("always_open", "1")
		setOfficeHours(v)
		return v
	}
	for d := 1; d <= 7; d++ {
		k := strconv.Itoa(d)
		if h, ok := sp.Hours[k]; ok {
			v.Set("open_"+k, h[0])
			v.Set("close_"+k, h[1])
		} else {
			v.Set("closed_"+k, "1")
		}
	}
	return v
}

// setOfficeHours fills in weekdays 8–16, so unticking "around the clock"
// starts from something usual rather than fourteen empty boxes.
func setOfficeHours(v url.Values) {
	for d := 1; d <= 7; d++ {
		k := strconv.Itoa(d)
		if d <= 5 {
			v.Set("open_"+k, "08:00")
			v.Set("close_"+k, "16:00")
		} else {
			v.Set("closed_"+k, "1")
		}
	}
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

type dayRow struct{ Day, Name string }

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
	var sp org.ServicePoint
	err := s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if isNew {
			if !actor.IsAdmin() {
				return errForbidden
			}
		} else if sp, err = managedServicePoint(ctx, tx, c); err != nil {
			return err
		}
		if len(errs) > 0 {
			return errFormInvalid
		}
		sp.Names, sp.TimeZone, sp.Hours = in.Names, in.TimeZone, in.Hours
		sp.TargetWaitMinutes, sp.MaxRecalls = in.TargetWait, in.MaxRecalls
		if isNew {
			sp.Slug = in.Slug
			err = org.CreateServicePoint(ctx, tx, actor, &sp)
		} else {
			err = org.UpdateServicePoint(ctx, tx, actor, &sp)
		}
		switch {
		case errors.Is(err, org.ErrSlugTaken):
			errs["slug"] = "setup.slug_taken"
			return errFormInvalid
		case errors.Is(err, org.ErrSlugReserved):
			errs["slug"] = "setup.slug_reserved"
			return errFormInvalid
		}
		return err
	})
	if errors.Is(err, errFormInvalid) {
		return s.renderServicePointPage(c, fiber.StatusUnprocessableEntity, &failedForm{Key: "sp", Values: v, Errors: errs})
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+sp.Slug+"?saved=1", fiber.StatusSeeOther)
}

// renderServicePointPage shows the service point page; failed, when not
// nil, is the form on it that came back with errors.
func (s *Server) renderServicePointPage(c *fiber.Ctx, status int, failed *failedForm) error {
	actor := principal(c)
	page := servicePointPage{Page: s.page(c, ""), TimeZones: timeZoneSuggestions, Saved: c.Query("saved") != ""}
	page.Body = "staff setup"
	t := page.T
	for d := 1; d <= 7; d++ {
		k := strconv.Itoa(d)
		page.Days = append(page.Days, dayRow{Day: k, Name: t.Get("setup.day." + k)})
	}
	view := func(key, prefix string, stored url.Values) formView {
		if failed != nil && failed.Key == key {
			page.Saved = false
			return newFormView(t, prefix, failed.Values, failed.Errors)
		}
		return newFormView(t, prefix, stored, nil)
	}
	err := s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		if c.Params("sp") == "" {
			if !actor.IsAdmin() {
				return errForbidden
			}
			page.New = true
			page.Title = t.Get("setup.point.new")
			page.Form = view("sp", "", newServicePointValues())
			return nil
		}
		sp, err := managedServicePoint(ctx, tx, c)
		if err != nil {
			return err
		}
		page.SP = sp
		page.Title = spName(sp, t.Lang.Code)
		page.Form = view("sp", "", servicePointValues(sp))
		desks, err := org.ListDesks(ctx, tx, sp.ID)
		if err != nil {
			return err
		}
		for _, d := range desks {
			key := "desk-" + strconv.FormatInt(d.ID, 10)
			page.Desks = append(page.Desks, deskRow{Desk: d, Form: view(key, key+"-", deskValues(d))})
		}
		page.NewDesk = view("desk-new", "desk-new-", nil)
		topics, err := org.ListTopics(ctx, tx, sp.ID, false)
		if err != nil {
			return err
		}
		for _, tp := range topics {
			page.Topics = append(page.Topics, topicRow{Topic: tp, Label: tp.Labels.In(t.Lang.Code)})
		}
		referrals, err := org.ListReferrals(ctx, tx, sp.ID, false)
		if err != nil {
			return err
		}
		for _, r := range referrals {
			key := "referral-" + strconv.FormatInt(r.ID, 10)
			page.Referrals = append(page.Referrals, referralRow{Referral: r, Name: r.Names.In(t.Lang.Code),
				Form: view(key, key+"-", referralValues(r))})
		}
		page.NewReferral = view("referral-new", "referral-new-", nil)
		return nil
	})
	if err != nil {
		return err
	}
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
