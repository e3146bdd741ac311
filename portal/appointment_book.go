package portal

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
)

// defaultMinutes is a new appointment's length until someone changes it.
const defaultMinutes = 45

type bookingPage struct {
	Page
	Client   appointments.Form
	Form     formView
	Channels []appointments.Channel
	Langs    []i18n.Language
	// Clash lists the expert's appointments at the chosen time, after the
	// double-booking warning.
	Clash []string
}

// showBookingForm is the form that books an appointment for a client.
func (s *Server) showBookingForm(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	return s.renderBooking(c, id, fiber.StatusOK, nil, nil, nil)
}

// renderBooking draws the booking form with the values and problems of a
// submission (nil: a fresh form with the client's own choices).
func (s *Server) renderBooking(c *fiber.Ctx, clientID int64, status int, v url.Values, errs forms.Errors, clash []string) error {
	form, err := s.appointments.BookingForm(c.UserContext(), principal(c), clientID)
	if err != nil {
		return err
	}
	page := s.page(c, "")
	page.Title = page.T.Get("appt.new_title")
	if v == nil {
		v = url.Values{"channel": {string(appointments.InPerson)}, "minutes": {strconv.Itoa(defaultMinutes)},
			"interpreter": {form.Interpreter}, "staff": {strconv.FormatInt(principal(c).StaffID, 10)}}
		for _, p := range form.Places {
			if p.ID == form.ClientPoint || len(form.Places) == 1 {
				v.Set("sp", strconv.FormatInt(p.ID, 10))
			}
		}
	}
	bp := bookingPage{Page: page, Client: form, Form: newFormView(page.T, "", v, errs), Channels: appointments.Channels,
		Langs: i18n.Languages, Clash: clash}
	return s.renderStatus(c, status, "appointment_form", bp)
}

// decodeBooking reads the booking form. Ids are only numbers here; the
// service checks they belong together. The service points are Finnish, so
// a typed time is Helsinki's.
func decodeBooking(v url.Values, lang i18n.Language) (appointments.Booking, forms.Errors) {
	f := forms.New(v)
	var b appointments.Booking
	b.ServicePointID, _ = f.Int("sp", true, 1, 1<<53)
	b.StaffID, _ = f.Int("staff", true, 1, 1<<53)
	channels := make([]string, len(appointments.Channels))
	for i, ch := range appointments.Channels {
		channels[i] = string(ch)
	}
	b.Channel = appointments.Channel(f.Choice("channel", true, channels...))
	b.DeskID, _ = f.Int("desk", false, 1, 1<<53)
	b.TopicID, _ = f.Int("topic", false, 1, 1<<53)
	minutes, _ := f.Int("minutes", true, appointments.MinMinutes, appointments.MaxMinutes)
	b.Minutes = int(minutes)
	codes := []string{""}
	for _, l := range i18n.Languages {
		codes = append(codes, l.Code)
	}
	b.InterpreterLanguage = f.Choice("interpreter", false, codes...)
	b.AllowOverlap = f.Bool("overlap_ok")
	day, okDay := lang.ParseDate(strings.TrimSpace(f.Text("date", true, 20)), helsinki)
	if !okDay {
		f.Fail("date", "form.invalid_date")
	}
	clock := f.Clock("time", true)
	if okDay && clock != "" {
		hh, _ := strconv.Atoi(clock[:2])
		mm, _ := strconv.Atoi(clock[3:])
		b.StartsAt = time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, helsinki)
	}
	return b, f.Errors
}

// bookingErrors puts the booking's refusals beside their fields.
var bookingErrors = map[error][2]string{
	appointments.ErrInPast:        {"time", "appt.error.past"},
	appointments.ErrUnknownExpert: {"staff", "appt.error.expert"},
	appointments.ErrUnknownDesk:   {"desk", "form.invalid_choice"},
	appointments.ErrUnknownTopic:  {"topic", "form.invalid_choice"},
	appointments.ErrBadBooking:    {"minutes", "form.out_of_range"},
}

// submitBooking books the appointment and opens it; a double booking comes
// back as a warning with the choice to book anyway.
func (s *Server) submitBooking(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	v := formValues(c)
	t := s.translator(c)
	b, errs := decodeBooking(v, t.Lang)
	b.ClientID = id
	if len(errs) > 0 {
		return s.renderBooking(c, id, fiber.StatusUnprocessableEntity, v, errs, nil)
	}
	a, err := s.appointments.Book(c.UserContext(), principal(c), b)
	var dbl *appointments.DoubleBooking
	if errors.As(err, &dbl) {
		var clash []string
		for _, x := range dbl.With {
			clash = append(clash, timeSpan(x, x.Location()))
		}
		return s.renderBooking(c, id, fiber.StatusConflict, v, forms.Errors{}, clash)
	}
	for e, fk := range bookingErrors {
		if errors.Is(err, e) {
			return s.renderBooking(c, id, fiber.StatusUnprocessableEntity, v, forms.Errors{fk[0]: fk[1]}, nil)
		}
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/appointments/"+strconv.FormatInt(a.ID, 10)+"?saved=1", fiber.StatusSeeOther)
}
