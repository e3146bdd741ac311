package portal

import (
	"errors"
	"html/template"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/queue"
)

// The kiosk's screens, in the order a visitor meets them.
const (
	stepLanguage    = "language"
	stepTopic       = "topic"
	stepInterpreter = "interpreter"
	stepTicket      = "ticket"
	stepClosed      = "closed"
	stepMessage     = "message"
)

type kioskTopic struct {
	ID        int64
	Label     string
	Pictogram string
}

type kioskPage struct {
	Page
	Slug      string
	SPName    string
	Step      string
	Chosen    string // language code the visitor picked ("" on the first screen)
	Topics    []kioskTopic
	Topic     kioskTopic
	Message   string
	Opens     string
	IdleMS    int64
	WarnMS    int64
	Number    string
	Ahead     int
	Wait      string
	QR        template.HTML
	FollowURL string
	Key       string // the interpreter screen's one-time key for the tap
	Retry     bool   // a message screen offers to type the check-in code again
}

// kioskLanguage is the visitor's choice, carried in the address (?lang=) and
// never in a cookie: the next visitor at the same screen starts afresh.
func (s *Server) kioskLanguage(c *fiber.Ctx, code string) (i18n.Language, bool) {
	return s.catalog.Lookup(code)
}

func (s *Server) kioskPage(c *fiber.Ctx, place queue.Place, lang i18n.Language, chosen bool) kioskPage {
	p := s.page(c, "")
	p.T = s.catalog.For(lang)
	p.Body, p.Bare = "kiosk", true
	p.Title = p.T.Get("kiosk.title")
	kp := kioskPage{Page: p, Slug: place.Slug, SPName: place.Names.In(lang.Code), IdleMS: s.cfg.KioskIdle.Milliseconds()}
	kp.WarnMS = kp.IdleMS * 3 / 4
	if chosen {
		kp.Chosen = lang.Code
	}
	return kp
}

// showKiosk draws the screen for where the visitor is: language, then the
// reason for the visit, then the interpreter question.
func (s *Server) showKiosk(c *fiber.Ctx) error {
	screen, err := s.queue.KioskScreen(c.UserContext(), s.deviceOf(c, auth.KindKiosk))
	if errors.Is(err, queue.ErrUnknownDevice) {
		return errNotPaired
	} else if err != nil {
		return err
	}
	lang, chosen := s.kioskLanguage(c, c.Query("lang"))
	if !chosen {
		lang, _ = s.catalog.Lookup(i18n.Default)
	}
	kp := s.kioskPage(c, screen.Place, lang, chosen)
	switch {
	case !screen.Open:
		kp.Step = stepClosed
		next := zeroTime
		if screen.OpensAt != nil {
			next = *screen.OpensAt
		}
		kp.Opens = opensText(kp.T, next, screen.Location)
		return s.render(c, "kiosk", kp)
	case !chosen:
		kp.Step = stepLanguage
		return s.renderKiosk(c, screen.Version, kp)
	}
	if id, err := strconv.ParseInt(c.Query("topic"), 10, 64); err == nil {
		for _, t := range screen.Topics {
			if t.ID == id {
				kp.Step = stepInterpreter
				kp.Topic = kioskTopic{ID: t.ID, Label: t.Labels.In(lang.Code), Pictogram: t.Pictogram}
				// A fresh key for each drawing of the last screen before
				// the ticket: the tap it carries is taken once.
				kp.Key = queue.NewTakeKey()
				// The key leads back to the ticket it takes and to that
				// ticket's follow link: the next person at a shared kiosk
				// must not get this screen from the browser's cache.
				c.Set(fiber.HeaderCacheControl, "no-store")
				return s.renderKiosk(c, screen.Version, kp)
			}
		}
	}
	kp.Step = stepTopic
	for _, t := range screen.Topics {
		kp.Topics = append(kp.Topics, kioskTopic{ID: t.ID, Label: t.Labels.In(lang.Code), Pictogram: t.Pictogram})
	}
	return s.renderKiosk(c, screen.Version, kp)
}

// errChoiceGone: the tap's form lost the visitor's choices (an old screen,
// a forged post), so the kiosk starts them again.
var errChoiceGone = errors.New("kiosk: the form lost the visitor's choices")

// deviceOf names the device of kind at the service point in the address as
// the queue knows devices: by the device's credential, or in demo mode,
// when none was sent, as the demo's own device. A credential that is sent
// but wrong is never the demo device.
func (s *Server) deviceOf(c *fiber.Ctx, kind string) queue.Device {
	k := queue.Device{Kind: kind, Slug: c.Params("sp"), Token: c.Cookies(deviceCookie)}
	for _, d := range s.demoDevices {
		if k.Token == "" && d.Kind == kind && d.ServicePoint == k.Slug {
			k.DemoName = d.Name
		}
	}
	return k
}

// submitTicket takes a queue number and shows it with its QR code. The
// visitor gives nothing about themselves: a language, a reason, and whether
// an interpreter is needed. The form's one-time key makes the same tap sent
// twice show the first number again.
func (s *Server) submitTicket(c *fiber.Ctx) error {
	f := forms.New(formValues(c))
	lang, chosen := s.kioskLanguage(c, f.Values.Get("lang"))
	req := queue.TakeRequest{Language: lang.Code, Key: f.Values.Get("key")}
	req.TopicID, _ = f.Int("topic", true, 1, 1<<53)
	req.Interpreter = f.Choice("interpreter", true, "0", "1") == "1"
	if !chosen {
		lang, _ = s.catalog.Lookup(i18n.Default)
	}
	var place queue.Place
	var taken queue.Taken
	var err error
	if f.OK() && chosen {
		place, taken, err = s.queue.TakeAtKiosk(c.UserContext(), s.deviceOf(c, auth.KindKiosk), req)
	} else {
		// Nothing to take: only the screen that says so is needed.
		var screen queue.Screen
		screen, err = s.queue.KioskScreen(c.UserContext(), s.deviceOf(c, auth.KindKiosk))
		if place = screen.Place; err == nil {
			err = errChoiceGone
		}
	}
	if errors.Is(err, queue.ErrUnknownDevice) {
		return errNotPaired
	}
	kp := s.kioskPage(c, place, lang, chosen)
	var closed *queue.ClosedError
	switch {
	case errors.As(err, &closed):
		kp.Step, kp.Opens = stepClosed, opensText(kp.T, closed.OpensAt, place.Location)
		return s.renderStatus(c, fiber.StatusConflict, "kiosk", kp)
	case errors.Is(err, errChoiceGone), errors.Is(err, queue.ErrUnknownTopic), errors.Is(err, queue.ErrInvalidLanguage),
		errors.Is(err, queue.ErrInvalidKey):
		kp.Step, kp.Message = stepMessage, kp.T.Get("kiosk.choice_gone")
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "kiosk", kp)
	case errors.Is(err, queue.ErrRateLimited):
		kp.Step, kp.Message = stepMessage, kp.T.Get("kiosk.too_many")
		return s.renderStatus(c, fiber.StatusTooManyRequests, "kiosk", kp)
	case err != nil:
		return err
	}
	t := taken.Ticket
	kp.Step = stepTicket
	kp.Number = t.Label()
	kp.Topic = kioskTopic{ID: t.TopicID, Label: taken.TopicLabels.In(lang.Code), Pictogram: taken.Pictogram}
	kp.Ahead = taken.Ahead
	kp.Wait = waitText(kp.T, taken.WaitMin, taken.WaitMax)
	kp.FollowURL = s.cfg.PublicURL() + "/t/" + taken.Token
	if kp.QR, err = qrSVG(kp.FollowURL, kp.T.Get("kiosk.qr_label")); err != nil {
		return err
	}
	// The number must not be taken again by pressing back or reloading.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "kiosk", kp)
}
