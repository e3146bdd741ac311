package portal

import (
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
)

type checkInSetupPage struct {
	Page
	SP      org.ServicePoint
	SPName  string
	Form    formView
	Letters []string
	// Reminders names the two reminders' fields, first then second.
	Reminders []string
	Saved     bool
}

// showCheckInSetup is a service point's check-in rules (the appointment
// tickets' letter and the early and late windows) and its appointments'
// two reminders.
func (s *Server) showCheckInSetup(c *fiber.Ctx) error {
	return s.renderCheckInSetup(c, fiber.StatusOK, nil, nil)
}

func (s *Server) renderCheckInSetup(c *fiber.Ctx, status int, v url.Values, errs forms.Errors) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	sp, st, err := s.appointments.Settings(c.UserContext(), principal(c), slug)
	if err != nil {
		return err
	}
	if v == nil {
		v = url.Values{"prefix": {st.Prefix}, "early": {strconv.Itoa(int(st.Early / time.Minute))},
			"late":        {strconv.Itoa(int(st.Late / time.Minute))},
			"first_hours": {strconv.Itoa(int(st.First.Before / time.Hour))}, "second_hours": {strconv.Itoa(int(st.Second.Before / time.Hour))}}
		if st.First.On {
			v.Set("first_on", "1")
		}
		if st.Second.On {
			v.Set("second_on", "1")
		}
	}
	page := s.page(c, "")
	name := sp.Names.In(page.T.Lang.Code)
	page.Title = page.T.Get("appt.settings_title", "Place", name)
	return s.renderStatus(c, status, "setup_appointments", checkInSetupPage{Page: page, SP: sp, SPName: name,
		Form: newFormView(page.T, "", v, errs), Letters: prefixLetters, Reminders: []string{"first", "second"}, Saved: c.Query("saved") == "1"})
}

// reminderField reads one reminder: its checkbox and its hours, which are
// required only when it is on; an empty one that is off keeps def.
func reminderField(f *forms.Form, name string, def time.Duration) appointments.Reminder {
	r := appointments.Reminder{On: f.Bool(name + "_on"), Before: def}
	hours, ok := f.Int(name+"_hours", r.On, int64(appointments.MinReminder/time.Hour), int64(appointments.MaxReminder/time.Hour))
	if ok {
		r.Before = time.Duration(hours) * time.Hour
	}
	return r
}

// submitCheckInSetup saves a service point's check-in rules and reminder times.
func (s *Server) submitCheckInSetup(c *fiber.Ctx) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	v := formValues(c)
	f := forms.New(v)
	st := appointments.Settings{Prefix: f.Choice("prefix", true, prefixLetters...)}
	maxMin := int64(appointments.MaxWindow / time.Minute)
	early, _ := f.Int("early", true, 0, maxMin)
	late, _ := f.Int("late", true, 0, maxMin)
	st.Early, st.Late = time.Duration(early)*time.Minute, time.Duration(late)*time.Minute
	st.First = reminderField(f, "first", appointments.DefaultFirst)
	st.Second = reminderField(f, "second", appointments.DefaultSecond)
	if f.OK() && st.First.On && st.Second.On && st.First.Before <= st.Second.Before {
		f.Fail("first_hours", "appt.error.reminder_order")
	}
	if !f.OK() {
		return s.renderCheckInSetup(c, fiber.StatusUnprocessableEntity, v, f.Errors)
	}
	err = s.appointments.SaveSettings(c.UserContext(), principal(c), slug, st)
	if errors.Is(err, appointments.ErrPrefixTaken) {
		return s.renderCheckInSetup(c, fiber.StatusUnprocessableEntity, v, forms.Errors{"prefix": "appt.error.prefix"})
	}
	if errors.Is(err, appointments.ErrRemindersOrder) {
		return s.renderCheckInSetup(c, fiber.StatusUnprocessableEntity, v, forms.Errors{"first_hours": "appt.error.reminder_order"})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+slug+"/appointments?saved=1", fiber.StatusSeeOther)
}
