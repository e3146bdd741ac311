package portal

import (
	"errors"
	"html/template"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
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
}

// kioskLanguage is the visitor's choice, carried in the address (?l=) and
// never in a cookie: the next visitor at the same screen starts afresh.
func (s *Server) kioskLanguage(c *fiber.Ctx, code string) (i18n.Language, bool) {
	return s.catalog.Lookup(code)
}

func (s *Server) kioskPage(c *fiber.Ctx, d auth.Device, sp org.ServicePoint, lang i18n.Language, chosen bool) kioskPage {
	p := s.page(c, "")
	p.T = s.catalog.For(lang)
	p.Body, p.Bare = "kiosk", true
	p.Title = p.T.Get("kiosk.title")
	kp := kioskPage{Page: p, Slug: sp.Slug, SPName: sp.Names.In(lang.Code), IdleMS: s.cfg.KioskIdle.Milliseconds()}
	kp.WarnMS = kp.IdleMS * 3 / 4
	if chosen {
		kp.Chosen = lang.Code
	}
	return kp
}

// kioskAt is the paired kiosk in the address and its service point.
func (s *Server) kioskAt(c *fiber.Ctx) (auth.Device, org.ServicePoint, error) {
	d, err := s.deviceAt(c, auth.KindKiosk, c.Params("sp"))
	if err != nil {
		return d, org.ServicePoint{}, err
	}
	sp, err := s.servicePoint(c, d.Tenant, d.ServicePointID)
	return d, sp, err
}

// showKiosk draws the screen for where the visitor is: language, then the
// reason for the visit, then the interpreter question.
func (s *Server) showKiosk(c *fiber.Ctx) error {
	d, sp, err := s.kioskAt(c)
	if err != nil {
		return err
	}
	lang, chosen := s.kioskLanguage(c, c.Query("l"))
	if !chosen {
		lang, _ = s.catalog.Lookup(i18n.Default)
	}
	kp := s.kioskPage(c, d, sp, lang, chosen)

	open, opensAt, err := s.queue.Opening(c.UserContext(), d.Tenant, d.ServicePointID)
	if err != nil {
		return err
	}
	if !open {
		kp.Step = stepClosed
		next := zeroTime
		if opensAt != nil {
			next = *opensAt
		}
		kp.Opens = opensText(kp.T, next, sp.Location())
		return s.render(c, "kiosk", kp)
	}
	if !chosen {
		kp.Step = stepLanguage
		return s.render(c, "kiosk", kp)
	}
	_, topics, err := s.topicsByID(c, d.Tenant, d.ServicePointID)
	if err != nil {
		return err
	}
	if id, err := strconv.ParseInt(c.Query("topic"), 10, 64); err == nil {
		for _, t := range topics {
			if t.ID == id && t.Active {
				kp.Step = stepInterpreter
				kp.Topic = kioskTopic{ID: t.ID, Label: t.Labels.In(lang.Code), Pictogram: t.Pictogram}
				return s.render(c, "kiosk", kp)
			}
		}
	}
	kp.Step = stepTopic
	for _, t := range topics {
		if t.Active {
			kp.Topics = append(kp.Topics, kioskTopic{ID: t.ID, Label: t.Labels.In(lang.Code), Pictogram: t.Pictogram})
		}
	}
	return s.render(c, "kiosk", kp)
}

// submitTicket takes a queue number and shows it with its QR code. The
// visitor gives nothing about themselves: a language, a reason, and whether
// an interpreter is needed.
func (s *Server) submitTicket(c *fiber.Ctx) error {
	d, sp, err := s.kioskAt(c)
	if err != nil {
		return err
	}
	f := forms.New(formValues(c))
	lang, chosen := s.kioskLanguage(c, f.Values.Get("l"))
	if !chosen {
		lang, _ = s.catalog.Lookup(i18n.Default)
	}
	kp := s.kioskPage(c, d, sp, lang, chosen)
	topicID, _ := f.Int("topic", true, 1, 1<<53)
	interpreter := f.Choice("interpreter", true, "0", "1") == "1"
	if !f.OK() || !chosen {
		kp.Step, kp.Message = stepMessage, kp.T.Get("kiosk.choice_gone")
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "kiosk", kp)
	}
	view, token, err := s.queue.Take(c.UserContext(), d.Tenant, d.ServicePointID, topicID, lang.Code, interpreter, d.ID)
	var closed *queue.ClosedError
	switch {
	case errors.As(err, &closed):
		kp.Step, kp.Opens = stepClosed, opensText(kp.T, closed.OpensAt, sp.Location())
		return s.renderStatus(c, fiber.StatusConflict, "kiosk", kp)
	case errors.Is(err, queue.ErrUnknownTopic):
		kp.Step, kp.Message = stepMessage, kp.T.Get("kiosk.choice_gone")
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "kiosk", kp)
	case errors.Is(err, queue.ErrRateLimited):
		kp.Step, kp.Message = stepMessage, kp.T.Get("kiosk.too_many")
		return s.renderStatus(c, fiber.StatusTooManyRequests, "kiosk", kp)
	case err != nil:
		return err
	}
	t := view.Ticket
	var topic org.Topic
	if err := s.db.InTenant(c.UserContext(), d.Tenant, func(tx pgx.Tx) error {
		topic, err = org.GetTopic(c.UserContext(), tx, d.ServicePointID, t.TopicID)
		return err
	}); err != nil {
		return err
	}
	kp.Step = stepTicket
	kp.Number = t.Label()
	kp.Topic = kioskTopic{ID: t.TopicID, Label: topic.Labels.In(lang.Code), Pictogram: topic.Pictogram}
	kp.Ahead = view.Ahead
	kp.Wait = waitText(kp.T, view.WaitMin, view.WaitMax)
	kp.FollowURL = s.cfg.PublicURL() + "/t/" + token
	if kp.QR, err = qrSVG(kp.FollowURL, kp.T.Get("kiosk.qr_label")); err != nil {
		return err
	}
	// The number must not be taken again by pressing back or reloading.
	c.Set(fiber.HeaderCacheControl, "no-store")
	return s.render(c, "kiosk", kp)
}
