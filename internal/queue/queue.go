// Package queue owns walk-in tickets: taking a number at a kiosk, the
// per-day numbering, the rules by which experts call the next visitor, the
// ticket's life from waiting to done, and honest wait estimates.
package queue

import (
	"errors"
	"fmt"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// TicketState is where a ticket is in its life.
type TicketState string

// A ticket waits, is called to a desk, is served and is done; or it ends as
// a no-show, cancelled by the visitor, or not served when the day closes.
const (
	Waiting   TicketState = "waiting"
	Called    TicketState = "called"
	Serving   TicketState = "serving"
	Done      TicketState = "done"
	NoShow    TicketState = "no_show"
	Cancelled TicketState = "cancelled"
	NotServed TicketState = "not_served"
)

// Closed tells a finished ticket from one still in the queue.
func (s TicketState) Closed() bool {
	switch s {
	case Done, NoShow, Cancelled, NotServed:
		return true
	}
	return false
}

// Ticket is one walk-in visit's queue number. It holds no personal data.
type Ticket struct {
	ID             int64 `json:"id"`
	ServicePointID int64 `json:"service_point_id"`
	TopicID        int64 `json:"topic_id"`
	// OriginalTopicID is the topic chosen at the kiosk; transfers change TopicID.
	OriginalTopicID int64  `json:"original_topic_id"`
	Prefix          string `json:"prefix"`
	Number          int    `json:"number"`
	// ServiceDay is the date in the service point's time zone, as midnight UTC.
	ServiceDay  time.Time   `json:"service_day"`
	Language    string      `json:"language"`
	Interpreter bool        `json:"interpreter"`
	State       TicketState `json:"state"`
	DeskID      *int64      `json:"desk_id,omitempty"`
	// DeskName is read with the ticket so screens need no second look-up.
	DeskName     string     `json:"desk_name,omitempty"`
	ForDeskID    *int64     `json:"for_desk_id,omitempty"`
	StaffID      *int64     `json:"staff_id,omitempty"`
	Recalls      int        `json:"recalls"`
	Transfers    int        `json:"transfers"`
	CreatedAt    time.Time  `json:"created_at"`
	CalledAt     *time.Time `json:"called_at,omitempty"`
	LastCalledAt *time.Time `json:"last_called_at,omitempty"`
	ServingAt    *time.Time `json:"serving_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	// ForStaffID is the expert of the appointment a checked-in ticket came
	// from, and BookedFor the appointment's time; nil for a walk-in.
	ForStaffID *int64     `json:"for_staff_id,omitempty"`
	BookedFor  *time.Time `json:"booked_for,omitempty"`
}

// Label is what the display shows and calls aloud: prefix, space, number.
func (t Ticket) Label() string { return fmt.Sprintf("%s %d", t.Prefix, t.Number) }

// Finished is a ticket that has just been served, with the times the
// anonymous visit record and the statistics need.
type Finished struct {
	Ticket
	// Wait runs from arrival to the call that led to service.
	Wait time.Duration
	// Service runs from the start of service to its end.
	Service time.Duration
}

// Errors the web layer maps to localized messages.
var (
	// ErrNotFound: no such ticket, service point, token or push subscription
	// visible to the caller (another tenant's or service point's looks the same).
	ErrNotFound = sqldb.ErrNotFound
	// ErrForbidden: the expert may not work at the service point. It is
	// auth's value, so the web layer maps a single error.
	ErrForbidden = auth.ErrForbidden
	// ErrUnknownTicket: no such ticket at the service point; it is an
	// ErrNotFound, told apart so that a screen can say "that ticket is gone"
	// where a missing service point is a missing page.
	ErrUnknownTicket = fmt.Errorf("queue: no such ticket here: %w", sqldb.ErrNotFound)
	// ErrUnknownTopic: the topic is not an active topic of the service point.
	ErrUnknownTopic = errors.New("queue: unknown topic")
	// ErrUnknownDesk: the desk is not an active desk of the service point.
	ErrUnknownDesk = errors.New("queue: unknown desk")
	// ErrUnknownStaff: the staff member is not an active account of the tenant.
	ErrUnknownStaff = errors.New("queue: unknown staff member")
	// ErrUnknownDevice: the device is not an active kiosk of the service point.
	ErrUnknownDevice = errors.New("queue: unknown device")
	// ErrInvalidLanguage: the language is not a language tag.
	ErrInvalidLanguage = errors.New("queue: invalid language")
	// ErrInvalidKey: a kiosk's tap carried no one-time key of ours.
	ErrInvalidKey = errors.New("queue: invalid one-time key")
	// ErrRateLimited: one kiosk asked for too many tickets too quickly.
	ErrRateLimited = errors.New("queue: too many tickets from this device")
	// ErrQueueEmpty: nobody is waiting whom this desk may call.
	ErrQueueEmpty = errors.New("queue: no one waiting")
	// ErrWrongState: the ticket is not in a state that allows the action.
	ErrWrongState = errors.New("queue: ticket is not in a state for this")
	// ErrOtherDesk: the ticket was transferred to another desk.
	ErrOtherDesk = errors.New("queue: ticket is waiting for another desk")
	// ErrTooEarlyForNoShow: the visitor has not been called often enough yet.
	ErrTooEarlyForNoShow = errors.New("queue: recall the visitor before marking a no-show")
	// ErrNoTransferTarget: a transfer names neither a topic nor a desk.
	ErrNoTransferTarget = errors.New("queue: transfer needs a topic or a desk")
	// ErrInvalidSubscription: the push subscription is not a JSON object of sane size.
	ErrInvalidSubscription = errors.New("queue: invalid push subscription")
)

// ClosedError says the service point is closed and when it opens next.
type ClosedError struct {
	// OpensAt is the next opening in the service point's time zone, or zero
	// when no opening hours are set at all.
	OpensAt time.Time
}

func (e *ClosedError) Error() string {
	if e.OpensAt.IsZero() {
		return "queue: service point is closed"
	}
	return "queue: service point is closed until " + e.OpensAt.Format(time.RFC3339)
}

// SPChannel is the live channel of a service point's queue screens and display.
func SPChannel(spID int64) string { return fmt.Sprintf("sp:%d", spID) }

// TicketChannel is the live channel a ticket's phone follows; subscribe a
// phone to it only after ByToken has accepted its token.
func TicketChannel(ticketID int64) string { return fmt.Sprintf("ticket:%d", ticketID) }

// Live event types published on SPChannel and TicketChannel.
const (
	EventCreated     = "ticket.created"
	EventCalled      = "ticket.called"
	EventRecalled    = "ticket.recalled"
	EventServing     = "ticket.serving"
	EventDone        = "ticket.done"
	EventNoShow      = "ticket.no_show"
	EventTransferred = "ticket.transferred"
	EventReturned    = "ticket.returned"
	EventCancelled   = "ticket.cancelled"
	EventNotServed   = "ticket.not_served"
	// EventDayClosed goes on SPChannel once per CloseDay that closed tickets,
	// so screens reload rather than take many small events.
	EventDayClosed = "queue.day_closed"
)

// Summary is the data of a live event: what a screen needs to redraw one
// ticket, and nothing more.
type Summary struct {
	ID          int64       `json:"id"`
	Label       string      `json:"label"`
	TopicID     int64       `json:"topic_id"`
	Language    string      `json:"language"`
	Interpreter bool        `json:"interpreter"`
	State       TicketState `json:"state"`
	DeskID      *int64      `json:"desk_id,omitempty"`
	DeskName    string      `json:"desk_name,omitempty"`
	ForDeskID   *int64      `json:"for_desk_id,omitempty"`
	Recalls     int         `json:"recalls,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	CalledAt    *time.Time  `json:"called_at,omitempty"`
	ForStaffID  *int64      `json:"for_staff_id,omitempty"`
	BookedFor   *time.Time  `json:"booked_for,omitempty"`
}

// summarySQL is summarize in SQL, over a ticket row t and its desk d, for
// the statement that inserts a ticket and builds its event itself (see
// issue); TestSummarySQLIsSummarize holds the two to the same JSON.
const summarySQL = `json_strip_nulls(json_build_object('id', t.id, 'label', t.prefix || ' ' || t.number,
	'topic_id', t.topic_id, 'language', t.language, 'interpreter', t.interpreter, 'state', t.state,
	'desk_id', t.desk_id, 'desk_name', nullif(d.name, ''), 'for_desk_id', t.for_desk_id,
	'recalls', nullif(t.recalls, 0), 'created_at', t.created_at, 'called_at', t.last_called_at,
	'for_staff_id', t.for_staff_id, 'booked_for', t.booked_for))`

func summarize(t Ticket) Summary {
	return Summary{
		ID: t.ID, Label: t.Label(), TopicID: t.TopicID, Language: t.Language, Interpreter: t.Interpreter,
		State: t.State, DeskID: t.DeskID, DeskName: t.DeskName, ForDeskID: t.ForDeskID, Recalls: t.Recalls,
		CreatedAt: t.CreatedAt, CalledAt: t.LastCalledAt, ForStaffID: t.ForStaffID, BookedFor: t.BookedFor,
	}
}
