package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/queue"
)

// nearPositions is how close to the front a ticket is when its phone is told
// "your turn is near".
const nearPositions = 3

// notifyCalled tells the called ticket's phone, and the phones whose turn is
// now near, by Web Push. It runs after the call has committed and never
// holds up the expert: the sends go on in the background, bounded.
func (s *Server) notifyCalled(tenant, spID int64, t queue.Ticket) {
	if s.push == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s.sendTicketPush(ctx, tenant, t, "push.called_title", "push.called_body", push.UrgencyHigh, true)
		state, err := s.queue.Snapshot(ctx, tenant, spID)
		if err != nil {
			s.logger.Warn("push: read queue", "err", err)
			return
		}
		for _, w := range state.Waiting {
			if w.Position > nearPositions {
				break
			}
			if ok, err := s.queue.MarkNearSent(ctx, tenant, w.ID); err != nil || !ok {
				continue // no subscription, or already told
			}
			s.sendTicketPush(ctx, tenant, w.Ticket, "push.near_title", "push.near_body", push.UrgencyNormal, false)
		}
	}()
}

// pushSlotCount bounds the sends in flight, however many calls come at once.
const pushSlotCount = 16

// ticketMessage is what the service worker shows; it names no one.
type ticketMessage struct {
	Title  string `json:"title"`
	Body   string `json:"body"`
	Lang   string `json:"lang"`
	Dir    string `json:"dir"`
	Tag    string `json:"tag"`
	Ticket int64  `json:"ticket"`
	Urgent bool   `json:"urgent,omitempty"`
}

func (s *Server) sendTicketPush(ctx context.Context, tenant int64, t queue.Ticket, titleKey, bodyKey, urgency string, urgent bool) {
	p, err := s.queue.PushFor(ctx, tenant, t.ID)
	if err != nil {
		return // no subscription: nothing to do
	}
	sub, err := s.push.ParseSubscription(p.Subscription)
	if err != nil {
		_ = s.queue.DropPush(ctx, tenant, t.ID)
		return
	}
	lang, ok := s.catalog.Lookup(t.Language)
	if !ok {
		lang, _ = s.catalog.Lookup(i18n.Default)
	}
	tr := s.catalog.For(lang)
	payload, _ := json.Marshal(ticketMessage{
		Title: tr.Get(titleKey, "Number", t.Label()), Body: tr.Get(bodyKey, "Number", t.Label(), "Desk", t.DeskName),
		Lang: lang.Code, Dir: lang.Dir(), Tag: fmt.Sprintf("ticket-%d", t.ID), Ticket: t.ID, Urgent: urgent,
	})
	msg := push.Message{Payload: payload, TTL: 10 * time.Minute, Urgency: urgency, Topic: s.push.Topic(fmt.Sprintf("ticket-%d", t.ID))}
	select {
	case s.pushSlots <- struct{}{}:
		defer func() { <-s.pushSlots }()
	case <-ctx.Done():
		return
	}
	for attempt := 0; attempt < 4; attempt++ {
		out := s.push.Send(ctx, sub, msg)
		var wait time.Duration
		switch out.Kind {
		case push.Sent:
			return
		case push.Gone:
			_ = s.queue.DropPush(ctx, tenant, t.ID)
			return
		case push.RetryAfter:
			wait = out.RetryAfter
		case push.Retry:
			wait = push.Backoff(attempt)
		default:
			s.logger.Warn("push refused", "status", out.StatusCode, "host", push.RedactEndpoint(sub.Endpoint))
			return
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
	}
}
