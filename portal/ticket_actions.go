package portal

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/queue"
)

// The expert's actions on the queue, one route and handler each. Every one
// reads the form, makes one call on the queue (which checks the expert,
// desk and ticket in the same transaction as the change) and returns to the
// queue screen with the expert's desk and topics kept.

// queueAction is what an action's form carries: the expert at their desk,
// the topics they filter by, and the ticket in the address (0 for none).
type queueAction struct {
	expert queue.Expert
	topics []int64
	ticket int64
	values url.Values
}

func readQueueAction(c *fiber.Ctx) queueAction {
	values := formValues(c)
	desk, topics := deskAndTopics(values.Get)
	ticket, _ := strconv.ParseInt(c.Params("id"), 10, 64)
	return queueAction{expert: queue.Expert{Actor: principal(c), Slug: c.Params("sp"), Desk: desk},
		topics: topics, ticket: ticket, values: values}
}

// back returns to the queue screen: with the message for a refusal the
// expert can act on, or the error page for anything else.
func (a queueAction) back(c *fiber.Ctx, err error) error {
	key := queueErrorKey(err)
	if err != nil && key == "" {
		return err
	}
	return backToQueue(c, a.expert.Slug, queueQuery(a.expert.Desk, a.topics), key, key != "")
}

// submitCallNext calls the next visitor to the expert's desk: their topics,
// their languages first, then the longest waiting.
func (s *Server) submitCallNext(c *fiber.Ctx) error {
	a := readQueueAction(c)
	_, err := s.queue.CallNext(c.UserContext(), a.expert, a.topics)
	return a.back(c, err)
}

// submitCall calls one waiting visitor, picked on the queue screen.
func (s *Server) submitCall(c *fiber.Ctx) error {
	a := readQueueAction(c)
	_, err := s.queue.Call(c.UserContext(), a.expert, a.ticket)
	return a.back(c, err)
}

// submitRecall calls the called visitor once more.
func (s *Server) submitRecall(c *fiber.Ctx) error {
	a := readQueueAction(c)
	_, err := s.queue.Recall(c.UserContext(), a.expert, a.ticket)
	return a.back(c, err)
}

// submitNoShow closes a called ticket whose visitor did not come.
func (s *Server) submitNoShow(c *fiber.Ctx) error {
	a := readQueueAction(c)
	_, err := s.queue.NoShow(c.UserContext(), a.expert, a.ticket)
	return a.back(c, err)
}

// submitStart marks that the called visitor arrived and service began.
func (s *Server) submitStart(c *fiber.Ctx) error {
	a := readQueueAction(c)
	_, err := s.queue.Start(c.UserContext(), a.expert, a.ticket)
	return a.back(c, err)
}

// submitFinish closes a served ticket and opens its anonymous visit record.
func (s *Server) submitFinish(c *fiber.Ctx) error {
	a := readQueueAction(c)
	f, err := s.queue.Finish(c.UserContext(), a.expert, a.ticket)
	if err != nil {
		return a.back(c, err)
	}
	v := url.Values{"ticket": {strconv.FormatInt(f.ID, 10)}, "sp": {a.expert.Slug}}
	if q := queueQuery(a.expert.Desk, a.topics); q != "" {
		v.Set("back", q)
	}
	return c.Redirect("/staff/visits/new?"+v.Encode(), fiber.StatusSeeOther)
}

// submitTransfer sends a called or served visitor back to the queue under
// another topic, or kept for another desk.
func (s *Server) submitTransfer(c *fiber.Ctx) error {
	a := readQueueAction(c)
	var toTopic, toDesk *int64
	if n, err := strconv.ParseInt(a.values.Get("to_topic"), 10, 64); err == nil && n > 0 {
		toTopic = &n
	}
	if n, err := strconv.ParseInt(a.values.Get("to_desk"), 10, 64); err == nil && n > 0 {
		toDesk = &n
	}
	_, err := s.queue.Transfer(c.UserContext(), a.expert, a.ticket, toTopic, toDesk)
	if errors.Is(err, queue.ErrUnknownDesk) {
		return backToQueue(c, a.expert.Slug, queueQuery(a.expert.Desk, a.topics), "queue.bad_transfer", true)
	}
	return a.back(c, err)
}

// submitReturn puts a called visitor back in their place in the queue.
func (s *Server) submitReturn(c *fiber.Ctx) error {
	a := readQueueAction(c)
	_, err := s.queue.ReturnToQueue(c.UserContext(), a.expert, a.ticket)
	return a.back(c, err)
}

// queueErrorKey names the message for a refusal the expert can act on.
func queueErrorKey(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, queue.ErrUnknownTicket):
		return "queue.gone"
	case errors.Is(err, queue.ErrQueueEmpty):
		return "queue.empty"
	case errors.Is(err, queue.ErrUnknownDesk):
		return "queue.pick_desk"
	case errors.Is(err, queue.ErrWrongState), errors.Is(err, queue.ErrUnknownStaff):
		return "queue.wrong_state"
	case errors.Is(err, queue.ErrTooEarlyForNoShow):
		return "queue.too_early"
	case errors.Is(err, queue.ErrOtherDesk):
		return "queue.other_desk"
	case errors.Is(err, queue.ErrUnknownTopic), errors.Is(err, queue.ErrNoTransferTarget):
		return "queue.bad_transfer"
	}
	return ""
}
