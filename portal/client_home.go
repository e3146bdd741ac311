package portal

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/outreach"
)

type clientHomePage struct {
	Page
	Credential   string
	Name         string
	Appointments []clientAppointment
	Answers      []clientAnswer
	Messages     []clientMessage
	Notice       string // what the last tap did, a message key
	PushKey      string // VAPID public key; empty when push is off
	Push         bool
	RemindersOff bool // the client turned reminders off on this phone
}

type clientAppointment struct {
	ID        int64
	When      string
	Place     string
	Code      string
	Confirmed bool
}

// clientMessage is a message to the client, in the language its text is
// written in (Lang "" for the expert's own words: the browser finds their
// direction).
type clientMessage struct {
	When, Body, Lang, Dir string
}

type clientAnswer struct {
	Kind   string
	When   string
	Reason string
}

// showClientHome is the client's own page on their phone: in their
// language unless they pick another, their upcoming appointments with the
// check-in code, and one-tap answers.
func (s *Server) showClientHome(c *fiber.Ctx) error {
	cred, h, err := s.clientHome(c)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Body = "client"
	p.Title = p.T.Get("client.title")
	cp := clientHomePage{Page: p, Credential: cred, Name: h.FirstNames, Push: h.Push, RemindersOff: h.NotificationsOff}
	loc := org.Zone(h.TimeZone)
	for _, a := range h.Appointments {
		cp.Appointments = append(cp.Appointments, clientAppointment{ID: a.ID, When: appointmentTime(p, a), Place: appointmentPlace(p, a),
			Code: appointments.FormatCode(a.Code), Confirmed: a.Status == appointments.Confirmed})
	}
	for _, a := range h.Answers {
		cp.Answers = append(cp.Answers, clientAnswer{Kind: string(a.Kind),
			When: when(p.T.Lang, a.At.In(loc)), Reason: a.Reason})
	}
	for _, m := range h.Messages {
		cm := clientMessage{When: when(p.T.Lang, m.At.In(loc)), Body: m.Body}
		if l, ok := s.catalog.Lookup(m.Lang); ok && m.Lang != "" {
			cm.Lang, cm.Dir = l.Code, l.Dir()
		}
		cp.Messages = append(cp.Messages, cm)
	}
	switch c.Query("done") {
	case "answer":
		cp.Notice = "client.thanks"
	case "already":
		cp.Notice = "client.already"
	case "reminders_off":
		cp.Notice = "client.reminders_off"
	case "reminders_again":
		cp.Notice = "client.reminders_done"
	}
	if s.push != nil {
		cp.PushKey = s.push.PublicKey()
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "client_home", cp)
}

// clientHome reads what the address's credential opens, and makes the
// page speak the client's language unless they picked another.
func (s *Server) clientHome(c *fiber.Ctx) (string, outreach.Home, error) {
	cred := c.Params("cred")
	h, err := s.outreach.Home(c.UserContext(), cred)
	if err != nil {
		return cred, h, clientError(err)
	}
	if c.Cookies("lang") == "" {
		s.speakLanguageOf(c, h.Language)
	}
	return cred, h, nil
}

// clientError maps a credential that opens nothing to a page that says so
// in the phone's language.
func clientError(err error) error {
	if isNotFound(err) {
		return newError(fiber.StatusNotFound, "client.gone")
	}
	return err
}

// submitClientAnswer records one tap: I'll come, I can't come (with a
// reason), please call me, I need an interpreter.
func (s *Server) submitClientAnswer(c *fiber.Ctx) error {
	cred := c.Params("cred")
	a := outreach.Answer{Kind: outreach.AnswerKind(c.FormValue("kind")), Reason: c.FormValue("reason")}
	if v := c.FormValue("appointment"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return newError(fiber.StatusUnprocessableEntity, "client.invalid")
		}
		a.AppointmentID = id
	}
	err := s.outreach.Answer(c.UserContext(), cred, a)
	switch {
	case errors.Is(err, outreach.ErrAlreadyAnswered):
		return c.Redirect("/c/"+cred+"?done=already", fiber.StatusSeeOther)
	case errors.Is(err, outreach.ErrInvalid):
		return newError(fiber.StatusUnprocessableEntity, "client.invalid")
	case err != nil:
		return clientError(err)
	}
	return c.Redirect("/c/"+cred+"?done=answer", fiber.StatusSeeOther)
}

// submitClientReminders turns this phone's reminders off, or on again.
func (s *Server) submitClientReminders(c *fiber.Ctx) error {
	cred := c.Params("cred")
	var on bool
	switch c.FormValue("reminders") {
	case "on":
		on = true
	case "off":
	default:
		return newError(fiber.StatusUnprocessableEntity, "client.invalid")
	}
	if err := s.outreach.SetNotifications(c.UserContext(), cred, on); err != nil {
		return clientError(err)
	}
	done := "reminders_off"
	if on {
		done = "reminders_again"
	}
	return c.Redirect("/c/"+cred+"?done="+done, fiber.StatusSeeOther)
}

// submitClientForget removes this phone at the client's wish.
func (s *Server) submitClientForget(c *fiber.Ctx) error {
	if err := s.outreach.Forget(c.UserContext(), c.Params("cred")); err != nil {
		return clientError(err)
	}
	p := s.page(c, "")
	p.Body = "client"
	p.Title = p.T.Get("client.forgotten")
	return s.render(c, "client_forgotten", p)
}

// submitClientReceipt records what the phone's service worker reports of
// a reminder: shown (delivered) or tapped (opened). Nothing in the answer
// tells whether the delivery was the phone's own.
func (s *Server) submitClientReceipt(c *fiber.Ctx) error {
	var r struct {
		Delivery int64  `json:"delivery"`
		Event    string `json:"event"`
	}
	if err := json.Unmarshal(c.Body(), &r); err != nil {
		return newError(fiber.StatusBadRequest, "error.bad_request")
	}
	err := s.outreach.Receipt(c.UserContext(), c.Params("cred"), r.Delivery, r.Event)
	if errors.Is(err, outreach.ErrInvalid) {
		return newError(fiber.StatusUnprocessableEntity, "client.invalid")
	}
	if err != nil {
		return clientError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// serveClientManifest makes the client's page an installable app that
// opens on their own page, named in their language.
func (s *Server) serveClientManifest(c *fiber.Ctx) error {
	cred, _, err := s.clientHome(c)
	if err != nil {
		return err
	}
	t := s.translator(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "application/manifest+json")
	return c.JSON(fiber.Map{
		"name": t.Get("client.title"), "short_name": "Koto", "lang": t.Lang.Code, "dir": t.Lang.Dir(),
		"start_url": "/c/" + cred, "scope": "/c/" + cred, "id": "/c/" + cred,
		"display": "standalone", "background_color": "#ffffff", "theme_color": "#0b4f8a",
		"icons": []fiber.Map{
			{"src": s.assets.URL("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
			{"src": s.assets.URL("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
			{"src": "/icon.svg", "sizes": "any", "type": "image/svg+xml"},
		},
	})
}

// submitClientPush stores this phone's Web Push subscription; the page
// sends it after the client's tap and again on every visit.
func (s *Server) submitClientPush(c *fiber.Ctx) error {
	raw, err := s.pushSubscription(c)
	if err != nil {
		return err
	}
	if err := s.outreach.SetPush(c.UserContext(), c.Params("cred"), raw); err != nil {
		return clientError(err)
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"ok": true})
}
