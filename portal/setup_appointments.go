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
	Saved   bool
}

// showCheckInSetup is a service point's check-in rules: the appointment
// tickets' letter and the early and late windows.
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
			"late": {strconv.Itoa(int(st.Late / time.Minute))}}
	}
	page := s.page(c, "")
	name := sp.Names.In(page.T.Lang.Code)
	page.Title = page.T.Get("appt.settings_title", "Place", name)
	return s.renderStatus(c, status, "setup_appointments", checkInSetupPage{Page: page, SP: sp, SPName: name,
		Form: newFormView(page.T, "", v, errs), Letters: prefixLetters, Saved: c.Query("saved") == "1"})
}

// submitCheckInSetup saves a service point's check-in rules.
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
	if !f.OK() {
		return s.renderCheckInSetup(c, fiber.StatusUnprocessableEntity, v, f.Errors)
	}
	err = s.appointments.SaveSettings(c.UserContext(), principal(c), slug, st)
	if errors.Is(err, appointments.ErrPrefixTaken) {
		return s.renderCheckInSetup(c, fiber.StatusUnprocessableEntity, v, forms.Errors{"prefix": "appt.error.prefix"})
	}
	if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+slug+"/appointments?saved=1", fiber.StatusSeeOther)
}
