package portal

import (
	"errors"
	"html/template"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
)

type appointmentPage struct {
	Page
	A       appointments.Appointment
	When    string // the day and the time, in the service point's zone
	Place   string
	Code    string
	Saved   bool
	Message string
	// Actions are the statuses the appointment may move to by hand.
	Actions []appointmentAction
}

type appointmentAction struct {
	Path  string // the last part of the action's address
	Label string
}

// statusActions are the routes that record an appointment's status by
// hand, and the status each records.
var statusActions = []struct {
	path   string
	status appointments.Status
}{
	{"confirm", appointments.Confirmed},
	{"attended", appointments.Attended},
	{"no-show", appointments.NoShow},
	{"cancel-by-client", appointments.CancelledByClient},
	{"cancel-by-staff", appointments.CancelledByStaff},
}

// showAppointment is one appointment: its facts, its check-in code, and
// the buttons that record what happened.
func (s *Server) showAppointment(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	a, err := s.appointments.Get(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	return s.renderAppointment(c, fiber.StatusOK, a, c.Query("saved") == "1", "")
}

func (s *Server) renderAppointment(c *fiber.Ctx, status int, a appointments.Appointment, saved bool, msg string) error {
	page := s.page(c, "")
	page.Title = page.T.Get("appt.heading")
	ap := appointmentPage{Page: page, A: a, When: appointmentTime(page, a), Place: appointmentPlace(page, a),
		Code: appointments.FormatCode(a.Code), Saved: saved, Message: msg}
	for _, act := range statusActions {
		if a.Status.Allows(act.status) {
			ap.Actions = append(ap.Actions, appointmentAction{Path: act.path, Label: page.T.Get("appt.set." + string(act.status))})
		}
	}
	return s.renderStatus(c, status, "appointment", ap)
}

// appointmentTime is "Thursday 7.3.2030 10:00–10:45" in the page's language.
func appointmentTime(p Page, a appointments.Appointment) string {
	loc := a.Location()
	start := a.StartsAt.In(loc)
	return p.T.Get("day."+start.Weekday().String()) + " " + p.T.Lang.FormatDate(start) + " " + timeSpan(a, loc)
}

// timeSpan is "09:30–10:15" in loc, isolated left to right: in a
// right-to-left page bidi would otherwise show it end first.
func timeSpan(a appointments.Appointment, loc *time.Location) string {
	return "\u2066" + a.StartsAt.In(loc).Format("15:04") + "–" + a.Ends().In(loc).Format("15:04") + "\u2069"
}

// appointmentPlace says where: the service point and desk, or phone or video.
func appointmentPlace(p Page, a appointments.Appointment) string {
	if a.Channel != appointments.InPerson {
		return p.T.Get("appt.channel." + string(a.Channel))
	}
	place := a.PointNames.In(p.T.Lang.Code)
	if a.DeskName != "" {
		place += ", " + p.T.Get("display.desk", "Name", a.DeskName)
	}
	return place
}

// submitAppointmentStatus records one status by hand; each route of
// statusActions has its own handler made here.
func (s *Server) submitAppointmentStatus(to appointments.Status) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		a, err := s.appointments.SetStatus(c.UserContext(), principal(c), id, to, 0)
		if errors.Is(err, appointments.ErrWrongState) {
			if a, err = s.appointments.Get(c.UserContext(), principal(c), id); err != nil {
				return err
			}
			return s.renderAppointment(c, fiber.StatusConflict, a, false, s.translator(c).Get("appt.error.state"))
		}
		if err != nil {
			return err
		}
		return c.Redirect("/staff/appointments/"+strconv.FormatInt(a.ID, 10)+"?saved=1", fiber.StatusSeeOther)
	}
}

type letterPage struct {
	Page
	A appointments.Letter
	// Parts are the letter in the client's language and in Finnish (one
	// part when the client's language is Finnish).
	Parts []letterPart
	Code  string
	QR    template.HTML
}

type letterPart struct {
	Page
	When, Place, From string
}

// showLetter is the printable appointment letter: the client's language
// and Finnish, the check-in code and its QR code.
func (s *Server) showLetter(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	a, err := s.appointments.Letter(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	page := s.page(c, "")
	langs := letterLanguages(s, a.ClientLanguage)
	lp := letterPage{Page: page, A: a, Code: appointments.FormatCode(a.Code)}
	for _, code := range langs {
		l, _ := s.catalog.Lookup(code)
		p := page
		p.T = s.catalog.For(l)
		from := ""
		if a.Code != "" {
			from = a.CheckInFrom.In(a.Location()).Format("15:04")
		}
		lp.Parts = append(lp.Parts, letterPart{Page: p, When: appointmentTime(p, a.Appointment), Place: appointmentPlace(p, a.Appointment), From: from})
	}
	lp.Title = lp.Parts[0].T.Get("letter.title")
	if a.Code != "" {
		if lp.QR, err = qrSVG(a.Code, lp.Parts[0].T.Get("letter.qr_label")); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "appointment_letter", lp)
}
