package portal

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
)

type appointmentRow struct {
	ID          int64
	Time        string
	Client      string
	Expert      string
	Place       string
	Interpreter string
	Status      string
	Overlap     bool
}

type dayPage struct {
	Page
	Heading    string
	Date       string // the day as the page's language writes it
	Prev, Next string // the neighbouring days' addresses
	Base       string // this view's address without the day
	Rows       []appointmentRow
}

// dayParam reads ?day=YYYY-MM-DD; anything else, or nothing, is today.
func dayParam(c *fiber.Ctx) time.Time {
	if d, err := time.Parse(time.DateOnly, c.Query("day")); err == nil {
		return d
	}
	now := time.Now().In(helsinki)
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// showMyDay is an expert's appointments of one day: their own, or with
// ?staff= a colleague's at the service points where they work too.
func (s *Server) showMyDay(c *fiber.Ctx) error {
	staffID, _ := strconv.ParseInt(c.Query("staff"), 10, 64)
	day, err := s.appointments.ExpertDay(c.UserContext(), principal(c), max(staffID, 0), dayParam(c))
	if err != nil {
		return err
	}
	base := "/staff/appointments?"
	if staffID > 0 {
		base += "staff=" + strconv.FormatInt(staffID, 10) + "&"
	}
	page := s.page(c, "")
	page.Title = page.T.Get("appt.my_day", "Name", day.StaffName)
	return s.renderDay(c, page, day, base)
}

// showPointDay is a service point's appointments of one day.
func (s *Server) showPointDay(c *fiber.Ctx) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	day, err := s.appointments.PointDay(c.UserContext(), principal(c), slug, dayParam(c))
	if err != nil {
		return err
	}
	page := s.page(c, "")
	page.Title = page.T.Get("appt.point_day", "Place", day.Point.Names.In(page.T.Lang.Code))
	return s.renderDay(c, page, day, "/staff/appointments/at/"+slug+"?")
}

func (s *Server) renderDay(c *fiber.Ctx, page Page, day appointments.Day, base string) error {
	dp := dayPage{Page: page, Heading: page.Title, Base: base,
		Date: page.T.Get("day."+day.Date.Weekday().String()) + " " + page.T.Lang.FormatDate(day.Date),
		Prev: base + "day=" + day.Date.AddDate(0, 0, -1).Format(time.DateOnly),
		Next: base + "day=" + day.Date.AddDate(0, 0, 1).Format(time.DateOnly)}
	for _, a := range day.Items {
		r := appointmentRow{ID: a.ID, Time: timeSpan(a, day.Location),
			Client: a.ClientName, Expert: a.StaffName, Place: appointmentPlace(page, a),
			Status: page.T.Get("appt.status." + string(a.Status)), Overlap: day.Overlapping[a.ID]}
		if a.InterpreterLanguage != "" {
			r.Interpreter = s.languageName(a.InterpreterLanguage)
		}
		dp.Rows = append(dp.Rows, r)
	}
	return s.render(c, "appointments_day", dp)
}
