package portal

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/camscan"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/queue"
)

// The check-in's screens on the kiosk.
const (
	stepCheckIn   = "checkin"
	stepCheckedIn = "checked_in"
)

// checkInPermissions is the security headers' Permissions-Policy with the
// camera allowed to this page itself: a kiosk with a camera reads the
// appointment's QR code here, and nowhere else.
const checkInPermissions = "camera=(self), " + otherPermissions

// showCheckIn is the keypad for an appointment's check-in code, in the
// language the visitor chose.
func (s *Server) showCheckIn(c *fiber.Ctx) error {
	screen, err := s.queue.KioskScreen(c.UserContext(), s.deviceOf(c, auth.KindKiosk))
	if errors.Is(err, queue.ErrUnknownDevice) {
		return errNotPaired
	} else if err != nil {
		return err
	}
	lang, chosen := s.kioskLanguage(c, c.Query("lang"))
	if !chosen {
		return c.Redirect("/kiosk/"+screen.Slug, fiber.StatusSeeOther)
	}
	kp := s.kioskPage(c, screen.Place, lang, chosen)
	kp.Step = stepCheckIn
	c.Set("Permissions-Policy", checkInPermissions)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "kiosk", kp)
}

// submitCheckIn checks an appointment in with its code. Every answer but
// the ticket itself is the same for any code it could be about: nothing on
// the screen tells whose appointment a code is.
func (s *Server) submitCheckIn(c *fiber.Ctx) error {
	f := forms.New(formValues(c))
	lang, chosen := s.kioskLanguage(c, f.Values.Get("lang"))
	if !chosen {
		lang, _ = s.catalog.Lookup(i18n.Default)
	}
	place, in, err := s.queue.CheckInAtKiosk(c.UserContext(), s.deviceOf(c, auth.KindKiosk),
		queue.CheckInRequest{Code: f.Values.Get("code"), Language: lang.Code})
	if errors.Is(err, queue.ErrUnknownDevice) {
		return errNotPaired
	}
	kp := s.kioskPage(c, place, lang, chosen)
	// The code must not come back by pressing back or reloading.
	c.Set(fiber.HeaderCacheControl, "no-store")
	var early *queue.EarlyError
	switch {
	case errors.Is(err, queue.ErrUnknownCode):
		kp.Step, kp.Message, kp.Retry = stepMessage, kp.T.Get("checkin.unknown"), true
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "kiosk", kp)
	case errors.As(err, &early):
		kp.Step, kp.Message = stepMessage, earlyText(kp.T, early, time.Now().In(early.From.Location()))
		return s.renderStatus(c, fiber.StatusConflict, "kiosk", kp)
	case errors.Is(err, queue.ErrTooLate):
		kp.Step, kp.Message = stepMessage, kp.T.Get("checkin.late")
		return s.renderStatus(c, fiber.StatusConflict, "kiosk", kp)
	case errors.Is(err, queue.ErrRateLimited):
		kp.Step, kp.Message = stepMessage, kp.T.Get("checkin.too_many")
		return s.renderStatus(c, fiber.StatusTooManyRequests, "kiosk", kp)
	case errors.Is(err, queue.ErrInvalidLanguage), errors.Is(err, queue.ErrUnknownTopic):
		kp.Step, kp.Message = stepMessage, kp.T.Get("checkin.ask_staff")
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "kiosk", kp)
	case err != nil:
		return err
	}
	t := in.Ticket
	kp.Step = stepCheckedIn
	kp.Number = t.Label()
	if in.Token != "" {
		kp.FollowURL = s.cfg.PublicURL() + "/t/" + in.Token
		if kp.QR, err = qrSVG(kp.FollowURL, kp.T.Get("kiosk.qr_label")); err != nil {
			return err
		}
	}
	return s.render(c, "kiosk", kp)
}

// earlyText says from when an appointment can check in: a time today, or
// a date and a time.
func earlyText(t *i18n.T, e *queue.EarlyError, now time.Time) string {
	from := e.From
	if y, m, d := from.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Get("checkin.early", "Time", from.Format("15:04"))
	}
	return t.Get("checkin.early_day", "Date", t.Lang.FormatDate(from), "Time", from.Format("15:04"))
}

// submitCheckInFrame looks for an appointment's QR code in one frame of
// the kiosk's camera, for a kiosk whose browser cannot read QR codes
// itself, and answers with the code's text, or with no content while the
// camera sees none. The kiosk then sends the text as a typed code
// (submitCheckIn), so wrong codes are counted and answered as typed ones
// are. The frame is neither kept nor logged.
func (s *Server) submitCheckInFrame(c *fiber.Ctx) error {
	text, err := s.queue.ReadCheckInFrame(c.UserContext(), s.deviceOf(c, auth.KindKiosk), c.Body())
	c.Set(fiber.HeaderCacheControl, "no-store")
	switch {
	case errors.Is(err, queue.ErrUnknownDevice):
		return errNotPaired
	case errors.Is(err, camscan.ErrBadFrame):
		return errBadRequest
	case errors.Is(err, queue.ErrFrameBusy):
		// The kiosk sends its next frame a moment later anyway.
		c.Set(fiber.HeaderRetryAfter, "1")
		return newError(fiber.StatusServiceUnavailable, "error.unavailable")
	case err != nil:
		return err
	case text == "":
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.JSON(fiber.Map{"code": text})
}

// isCheckInFrame tells a kiosk's camera frame, POST
// /kiosk/{servicePoint}/checkin/frame, whose body may be larger than a
// form's.
func isCheckInFrame(path string) bool {
	rest, ok := strings.CutPrefix(path, "/kiosk/")
	if !ok {
		return false
	}
	sp, tail, _ := strings.Cut(rest, "/")
	return sp != "" && tail == "checkin/frame"
}
