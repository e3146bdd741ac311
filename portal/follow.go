package portal

import (
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/queue"
)

type followPage struct {
	Page
	Token     string
	TicketID  int64
	Number    string
	State     string
	Topic     string
	Desk      string
	Ahead     int
	Wait      string
	SPName    string
	PushKey   string // VAPID public key; empty when push is off
	PushSaved bool
}

var errTicketGone = newError(fiber.StatusNotFound, "follow.not_found")

// showTicketFollow is the visitor's own phone following their ticket: in
// the ticket's language unless they pick another, live, with no login.
func (s *Server) showTicketFollow(c *fiber.Ctx) error {
	token := c.Params("token")
	tenant, view, err := s.queue.ByToken(c.UserContext(), token)
	if isNotFound(err) || errors.Is(err, queue.ErrNotFound) {
		return errTicketGone
	} else if err != nil {
		return err
	}
	s.speakLanguageOf(c, view.Ticket.Language)
	p := s.page(c, "")
	p.Body = "follow"
	p.Title = p.T.Get("follow.title")
	fp := followPage{Page: p, Token: token, TicketID: view.Ticket.ID, Number: view.Ticket.Label(), State: string(view.Ticket.State),
		Desk: view.Ticket.DeskName, Ahead: view.Ahead, Wait: waitText(p.T, view.WaitMin, view.WaitMax)}
	fp.SPName, fp.Topic = view.PlaceNames.In(p.T.Lang.Code), view.TopicLabels.In(p.T.Lang.Code)
	if s.push != nil {
		fp.PushKey = s.push.PublicKey()
	}
	if _, err := s.queue.PushFor(c.UserContext(), tenant, view.Ticket.ID); err == nil {
		fp.PushSaved = true
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	seqs, _ := json.Marshal(map[string]int64{
		queue.TicketChannel(view.Ticket.ID): view.TicketSeq, queue.SPChannel(view.Ticket.ServicePointID): view.QueueSeq})
	c.Set("X-Live-Seqs", string(seqs))
	if c.Query("fragment") == "1" {
		return s.renderFragment(c, "follow", "live", fp)
	}
	return s.render(c, "follow", fp)
}

// submitTicketCancel gives up the place in the queue.
func (s *Server) submitTicketCancel(c *fiber.Ctx) error {
	token := c.Params("token")
	_, err := s.queue.Cancel(c.UserContext(), token)
	switch {
	case isNotFound(err):
		return errTicketGone
	case errors.Is(err, queue.ErrWrongState):
		// Already called, served or cancelled: the page shows which.
	case err != nil:
		return err
	}
	return c.Redirect("/t/"+token, fiber.StatusSeeOther)
}

// pushSubscription reads the browser's push subscription from the request
// body and gives it back as the JSON to store; a page refusal when push is
// off or the subscription is not one.
func (s *Server) pushSubscription(c *fiber.Ctx) ([]byte, error) {
	if s.push == nil {
		return nil, newError(fiber.StatusServiceUnavailable, "follow.push_off")
	}
	sub, err := s.push.ParseSubscription(c.Body())
	if err != nil {
		return nil, newError(fiber.StatusUnprocessableEntity, "follow.push_invalid")
	}
	raw, _ := sub.MarshalJSON()
	return raw, nil
}

// submitTicketPush stores the phone's push subscription for this ticket
// only; it is deleted when the ticket closes.
func (s *Server) submitTicketPush(c *fiber.Ctx) error {
	raw, err := s.pushSubscription(c)
	if err != nil {
		return err
	}
	err = s.queue.SetPush(c.UserContext(), c.Params("token"), raw)
	switch {
	case isNotFound(err):
		return errTicketGone
	case errors.Is(err, queue.ErrWrongState):
		return newError(fiber.StatusConflict, "follow.push_closed")
	case errors.Is(err, queue.ErrInvalidSubscription):
		return newError(fiber.StatusUnprocessableEntity, "follow.push_invalid")
	case err != nil:
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"ok": true})
}

// apiTicketSnapshot is the ticket's state as JSON, for the phone page and
// other clients; the token is the only credential.
func (s *Server) apiTicketSnapshot(c *fiber.Ctx) error {
	_, view, err := s.queue.ByToken(c.UserContext(), c.Params("token"))
	if isNotFound(err) {
		return errTicketGone
	} else if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(fiber.Map{
		"label": view.Ticket.Label(), "state": view.Ticket.State, "desk": view.Ticket.DeskName,
		"ahead": view.Ahead, "position": view.Position,
		"wait_min_seconds": int(view.WaitMin.Seconds()), "wait_max_seconds": int(view.WaitMax.Seconds()),
		"seq": fiber.Map{queue.TicketChannel(view.Ticket.ID): view.TicketSeq, queue.SPChannel(view.Ticket.ServicePointID): view.QueueSeq},
	})
}
