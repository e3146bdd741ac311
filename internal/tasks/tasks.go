// Package tasks owns the experts' task queue: tasks that clients' answers,
// outreach, appointments, walk-in visits and experts themselves create,
// their assignment to an expert or a service point's pool, their life from
// open to done, the history of every change, and the notices (live and Web
// Push) that tell the assignee.
package tasks

import (
	"errors"
	"slices"
	"strconv"
	"time"
)

// Kind is what caused a task; each has its own title in every language.
type Kind string

// The kinds of task.
const (
	KindCallMe      Kind = "call_me"     // the client asked to be called
	KindCannotCome  Kind = "cannot_come" // the client cannot come to an appointment
	KindInterpreter Kind = "interpreter" // the client needs an interpreter
	KindUnreachable Kind = "unreachable" // outreach could not reach the client
	KindCheckedIn   Kind = "checked_in"  // an appointment's client checked in at the kiosk
	KindWalkIn      Kind = "walk_in"     // a walk-in visit needs a follow-up
	KindManual      Kind = "manual"      // written by hand
)

// Kinds lists every kind, in the order filters show them.
var Kinds = []Kind{KindCallMe, KindCannotCome, KindInterpreter, KindUnreachable, KindCheckedIn, KindWalkIn, KindManual}

// Valid tells a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Status is where a task is in its life: open → in progress → done, or
// cancelled.
type Status string

// The statuses.
const (
	Open       Status = "open"
	InProgress Status = "in_progress"
	Done       Status = "done"
	Cancelled  Status = "cancelled"
)

// Closed tells a finished task from one still to do.
func (s Status) Closed() bool { return s == Done || s == Cancelled }

// Priority orders tasks due at the same time.
type Priority string

// The priorities.
const (
	Low    Priority = "low"
	Normal Priority = "normal"
	High   Priority = "high"
)

// Valid tells a known priority.
func (p Priority) Valid() bool { return p == Low || p == Normal || p == High }

// Task is one task as the screens show it.
type Task struct {
	ID             int64 `json:"id"`
	ServicePointID int64 `json:"service_point_id"`
	Kind           Kind  `json:"kind"`
	// Title and Details are free text: a hand-written task's own words, a
	// client's reason. Screens draw the kind's title in the reader's
	// language when Title is empty.
	Title   string `json:"title,omitempty"`
	Details string `json:"details,omitempty"`
	// Facts are what a localized title and details are drawn from.
	Facts      Facts    `json:"facts,omitempty"`
	ClientID   int64    `json:"client_id,omitempty"`
	ClientName string   `json:"-"`
	TicketID   int64    `json:"ticket_id,omitempty"`
	AssigneeID int64    `json:"assignee_id,omitempty"` // 0: the pool
	Assignee   string   `json:"-"`
	Priority   Priority `json:"priority"`
	Status     Status   `json:"status"`
	// DueAt is zero when the task has no due time.
	DueAt     time.Time  `json:"due_at,omitzero"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	// PointSlug and TimeZone are the service point's address and zone:
	// times are shown in the zone where the work is.
	PointSlug string `json:"-"`
	TimeZone  string `json:"-"`
	// Version counts the changes of the row (the API's ETag).
	Version int `json:"-"`
}

// Overdue tells an unfinished task past its due time at now.
func (t Task) Overdue(now time.Time) bool {
	return !t.Status.Closed() && !t.DueAt.IsZero() && t.DueAt.Before(now)
}

// Facts are named values a task's localized text is drawn from, e.g.
// "time" (RFC 3339), "language" (a language tag), "ticket" (a queue
// number). They are data, never sentences, so every reader gets them in
// their own language.
type Facts map[string]string

// Names of the facts the screens know how to show.
const (
	FactTime     = "time"     // an appointment's time, RFC 3339
	FactLanguage = "language" // a language tag (interpreter, the client's)
	FactTicket   = "ticket"   // a walk-in queue number, e.g. "A 23"
)

// Event is one entry in a task's history.
type Event struct {
	At      time.Time `json:"at"`
	StaffID int64     `json:"staff_id,omitempty"` // 0: the portal itself
	Staff   string    `json:"-"`
	Action  string    `json:"action"`
	// ToStaffID is the new assignee of an assignment (0: the pool).
	ToStaffID int64  `json:"to_staff_id,omitempty"`
	ToStaff   string `json:"-"`
	Comment   string `json:"comment,omitempty"`
}

// Actions recorded in a task's history.
const (
	ActionCreated   = "created"
	ActionClaimed   = "claimed"
	ActionAssigned  = "assigned"
	ActionReleased  = "released"
	ActionCommented = "commented"
	ActionDone      = "done"
	ActionCancelled = "cancelled"
)

// Limits on what people write.
const (
	MaxTitle   = 200
	MaxDetails = 4000
	MaxComment = 4000
)

// Errors the web layer turns into localized messages.
var (
	ErrNotFound = errors.New("tasks: no such task")
	// ErrTaken: someone else has the task already (a claim lost a race).
	ErrTaken = errors.New("tasks: someone else has the task")
	// ErrClosed: the task is done or cancelled.
	ErrClosed      = errors.New("tasks: the task is closed")
	ErrInvalid     = errors.New("tasks: invalid task")
	ErrNoTitle     = errors.New("tasks: a hand-written task needs a title")
	ErrTooLong     = errors.New("tasks: text too long")
	ErrNoComment   = errors.New("tasks: an empty comment")
	ErrBadAssignee = errors.New("tasks: the assignee cannot work at the task's service point")
)

// Channels of live events. A task's change is published on its service
// point's channel (the pool, the lead's view) and on the channel of each
// staff member it concerns (the assignee, before and after), so that "my
// tasks" and the navigation's count follow only what is theirs.
func PointChannel(servicePointID int64) string {
	return "tasks:sp:" + strconv.FormatInt(servicePointID, 10)
}

// StaffChannel is one staff member's tasks.
func StaffChannel(staffID int64) string { return "tasks:staff:" + strconv.FormatInt(staffID, 10) }

// Live event types.
const (
	EventCreated = "task.created"
	EventChanged = "task.changed"
)

// Notice is what a live event carries: ids and states, no personal data.
type Notice struct {
	ID             int64  `json:"id"`
	ServicePointID int64  `json:"service_point_id"`
	AssigneeID     int64  `json:"assignee_id,omitempty"`
	Status         Status `json:"status"`
	Kind           Kind   `json:"kind"`
}
