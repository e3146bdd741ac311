package queue

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/sqldb"
)

// CallNext calls the next visitor to a desk. It considers waiting tickets of
// today for the given topics (all when none are given) that are not kept for
// another desk or another expert; of those, first the expert's own checked-in
// appointments (whatever their topic), then the ones in a language the
// expert speaks, then the earliest arrival (a transferred ticket keeps its
// place). Locked rows are skipped, so experts pressing at the same moment get
// different visitors rather than waiting on each other.
func (s *Service) CallNext(ctx context.Context, e Expert, topics []int64) (Ticket, error) {
	var t Ticket
	err := s.atDesk(ctx, e, func(tx sqldb.Tx, sp servicePoint) error {
		if topics == nil {
			topics = []int64{}
		}
		var id int64
		err := tx.QueryRow(ctx, `
			SELECT id FROM tickets
			WHERE service_point_id = $1 AND service_day = $2 AND state = 'waiting'
			  AND (cardinality($3::bigint[]) = 0 OR topic_id = ANY ($3) OR for_staff_id = $6)
			  AND (for_desk_id IS NULL OR for_desk_id = $4)
			  AND (for_staff_id IS NULL OR for_staff_id = $6)
			ORDER BY for_staff_id IS NOT NULL DESC, split_part(lower(language), '-', 1) = ANY ($5::text[]) DESC, created_at, id
			LIMIT 1
			FOR UPDATE SKIP LOCKED`, sp.id, sp.serviceDay(s.clock()), topics, e.Desk, primaryTags(e.Actor.Languages),
			e.Actor.StaffID).Scan(&id)
		if errors.Is(err, sqldb.ErrNoRows) {
			return ErrQueueEmpty
		}
		if err != nil {
			return err
		}
		t, err = s.callLocked(ctx, tx, id, e.Desk, e.Actor.StaffID)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// primaryTags reduces language tags to their primary subtags, so an expert
// who speaks "zh" is matched with a visitor who chose "zh-Hans".
func primaryTags(langs []string) []string {
	out := make([]string, 0, len(langs))
	for _, l := range langs {
		p, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(l)), "-")
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// Call calls one given waiting ticket to a desk, e.g. a number the expert
// picked from the queue screen.
func (s *Service) Call(ctx context.Context, e Expert, ticketID int64) (Ticket, error) {
	var t Ticket
	err := s.atDesk(ctx, e, func(tx sqldb.Tx, sp servicePoint) error {
		cur, err := lockTicket(ctx, tx, sp.id, ticketID)
		if err != nil {
			return err
		}
		if cur.State != Waiting {
			return ErrWrongState
		}
		if cur.ForDeskID != nil && *cur.ForDeskID != e.Desk {
			return ErrOtherDesk
		}
		t, err = s.callLocked(ctx, tx, ticketID, e.Desk, e.Actor.StaffID)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// callLocked calls a waiting ticket this transaction holds locked.
func (s *Service) callLocked(ctx context.Context, tx sqldb.Tx, ticketID, deskID, staffID int64) (Ticket, error) {
	t, err := updateTicket(ctx, tx, ticketID, `state = 'called', desk_id = $2, staff_id = $3,
		called_at = $4, last_called_at = $4, recalls = 0`, deskID, staffID, s.clock())
	if err != nil {
		return Ticket{}, err
	}
	if err := s.enqueuePushes(ctx, tx, t, true); err != nil {
		return Ticket{}, err
	}
	return t, publish(ctx, tx, EventCalled, t)
}

// change runs one state transition on a ticket of the expert's service
// point: see transition.
func (s *Service) change(ctx context.Context, e Expert, ticketID int64, from []TicketState, typ string,
	apply func(tx sqldb.Tx, cur Ticket, sp servicePoint) (Ticket, error)) (Ticket, error) {
	var t Ticket
	err := s.atWork(ctx, e, func(tx sqldb.Tx, sp servicePoint) error {
		var err error
		t, err = s.transition(ctx, tx, sp, ticketID, from, typ, apply)
		return err
	})
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

// transition locks a ticket of the service point, checks its state is one
// of from, applies the change and publishes typ on both channels.
func (s *Service) transition(ctx context.Context, tx sqldb.Tx, sp servicePoint, ticketID int64, from []TicketState, typ string,
	apply func(tx sqldb.Tx, cur Ticket, sp servicePoint) (Ticket, error)) (Ticket, error) {
	cur, err := lockTicket(ctx, tx, sp.id, ticketID)
	if err != nil {
		return Ticket{}, err
	}
	if !slices.Contains(from, cur.State) {
		return Ticket{}, ErrWrongState
	}
	t, err := apply(tx, cur, sp)
	if err != nil {
		return Ticket{}, err
	}
	if t.State.Closed() {
		if err := dropPush(ctx, tx, t.ID); err != nil {
			return Ticket{}, err
		}
		// A checked-in appointment's ticket tells the appointment how it
		// ended: served is attended, a no-show is a no-show.
		if t.BookedFor != nil && (t.State == Done || t.State == NoShow) {
			if err := appointments.TicketClosed(ctx, tx, t.ID, t.State == Done); err != nil {
				return Ticket{}, err
			}
		}
	}
	return t, publish(ctx, tx, typ, t)
}

// Recall calls a called visitor again (the display chimes once more).
func (s *Service) Recall(ctx context.Context, e Expert, ticketID int64) (Ticket, error) {
	return s.change(ctx, e, ticketID, []TicketState{Called}, EventRecalled,
		func(tx sqldb.Tx, _ Ticket, _ servicePoint) (Ticket, error) {
			t, err := updateTicket(ctx, tx, ticketID, `recalls = recalls + 1, last_called_at = $2`, s.clock())
			if err != nil {
				return Ticket{}, err
			}
			return t, s.enqueuePushes(ctx, tx, t, false)
		})
}

// NoShow closes a called ticket whose visitor did not come; only once they
// have been recalled as often as the service point asks, so one missed chime
// does not cost anyone their place.
func (s *Service) NoShow(ctx context.Context, e Expert, ticketID int64) (Ticket, error) {
	return s.change(ctx, e, ticketID, []TicketState{Called}, EventNoShow,
		func(tx sqldb.Tx, cur Ticket, sp servicePoint) (Ticket, error) {
			if cur.Recalls < sp.maxRecalls {
				return Ticket{}, ErrTooEarlyForNoShow
			}
			return updateTicket(ctx, tx, ticketID, `state = 'no_show', finished_at = $2`, s.clock())
		})
}

// Start marks that the called visitor has arrived and service begins.
func (s *Service) Start(ctx context.Context, e Expert, ticketID int64) (Ticket, error) {
	return s.change(ctx, e, ticketID, []TicketState{Called}, EventServing,
		func(tx sqldb.Tx, _ Ticket, _ servicePoint) (Ticket, error) {
			return updateTicket(ctx, tx, ticketID, `state = 'serving', serving_at = $2`, s.clock())
		})
}

// Finish closes a served ticket and returns its wait and service times for
// the anonymous visit record, which the caller writes with the expert's
// answers (topics handled, outcome, referral).
func (s *Service) Finish(ctx context.Context, e Expert, ticketID int64) (Finished, error) {
	t, err := s.change(ctx, e, ticketID, []TicketState{Serving}, EventDone,
		func(tx sqldb.Tx, _ Ticket, _ servicePoint) (Ticket, error) {
			return updateTicket(ctx, tx, ticketID, `state = 'done', finished_at = $2`, s.clock())
		})
	if err != nil {
		return Finished{}, err
	}
	f := Finished{Ticket: t}
	if t.CalledAt != nil {
		f.Wait = max(t.CalledAt.Sub(t.CreatedAt), 0)
	}
	if t.ServingAt != nil && t.FinishedAt != nil {
		f.Service = max(t.FinishedAt.Sub(*t.ServingAt), 0)
	}
	return f, nil
}

// Transfer sends a called or served visitor back to the queue under another
// topic, or kept for one desk, or both. The ticket keeps its number and its
// original arrival time, so it is not sent to the back of the line.
func (s *Service) Transfer(ctx context.Context, e Expert, ticketID int64, toTopicID, toDeskID *int64) (Ticket, error) {
	return s.change(ctx, e, ticketID, []TicketState{Called, Serving}, EventTransferred,
		func(tx sqldb.Tx, cur Ticket, sp servicePoint) (Ticket, error) {
			if toTopicID == nil && toDeskID == nil {
				return Ticket{}, ErrNoTransferTarget
			}
			topic := cur.TopicID
			if toTopicID != nil {
				var ok bool
				err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM topics WHERE id = $1 AND service_point_id = $2 AND active)`,
					*toTopicID, sp.id).Scan(&ok)
				if err != nil {
					return Ticket{}, err
				}
				if !ok {
					return Ticket{}, ErrUnknownTopic
				}
				topic = *toTopicID
			}
			if toDeskID != nil {
				var ok bool
				err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM desks WHERE id = $1 AND service_point_id = $2 AND active)`,
					*toDeskID, sp.id).Scan(&ok)
				if err != nil {
					return Ticket{}, err
				}
				if !ok {
					return Ticket{}, ErrUnknownDesk
				}
			}
			// The phone should hear "your turn is near" again in the new line.
			if _, err := tx.Exec(ctx, `UPDATE ticket_push SET near_sent = false WHERE ticket_id = $1`, ticketID); err != nil {
				return Ticket{}, err
			}
			return updateTicket(ctx, tx, ticketID, `state = 'waiting', topic_id = $2, for_desk_id = $3,
				desk_id = NULL, staff_id = NULL, recalls = 0, transfers = transfers + 1`, topic, toDeskID)
		})
}

// ReturnToQueue puts a called ticket back in its place in the queue, e.g.
// when the expert called the wrong number or must step away.
func (s *Service) ReturnToQueue(ctx context.Context, e Expert, ticketID int64) (Ticket, error) {
	return s.change(ctx, e, ticketID, []TicketState{Called}, EventReturned,
		func(tx sqldb.Tx, _ Ticket, _ servicePoint) (Ticket, error) {
			return updateTicket(ctx, tx, ticketID, `state = 'waiting', desk_id = NULL, staff_id = NULL, recalls = 0`)
		})
}

// Cancel is the visitor giving up their number from the phone. The follow
// link keeps working until the day ends, showing "cancelled".
func (s *Service) Cancel(ctx context.Context, token string) (Ticket, error) {
	hash, err := parseToken(token)
	if err != nil {
		return Ticket{}, err
	}
	var t Ticket
	err = s.db.InTenantOf(ctx, `SELECT koto_ticket_tenant($1)`, hash, func(tx sqldb.Tx) error {
		cur, err := s.ticketByHash(ctx, tx, hash, false)
		if err != nil {
			return err
		}
		sp, err := s.loadServicePoint(ctx, tx, cur.ServicePointID)
		if err != nil {
			return err
		}
		t, err = s.transition(ctx, tx, sp, cur.ID, []TicketState{Waiting, Called}, EventCancelled,
			func(tx sqldb.Tx, _ Ticket, _ servicePoint) (Ticket, error) {
				return updateTicket(ctx, tx, cur.ID, `state = 'cancelled', finished_at = $2`, s.clock())
			})
		return err
	})
	if errors.Is(err, sqldb.ErrNoTenant) {
		return Ticket{}, ErrNotFound
	}
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}
