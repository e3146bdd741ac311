// Package appointments owns clients' appointments: booking one (time,
// length, place, expert, interpreter), its status from booked to attended,
// the warning on an expert's double booking, the expert's and the service
// point's day, the letter with its check-in code, and each service point's
// check-in rules. The kiosk's check-in itself is the queue's (it makes the
// ticket); it reads and marks appointments through the functions here that
// work inside its transaction.
package appointments

import (
	"errors"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Status is where an appointment is in its life.
type Status string

// An appointment is booked, perhaps confirmed by the client, and ends
// cancelled (by either side), checked in and then attended, or a no-show.
const (
	Booked            Status = "booked"
	Confirmed         Status = "confirmed"
	CancelledByClient Status = "cancelled_by_client"
	CancelledByStaff  Status = "cancelled_by_staff"
	CheckedIn         Status = "checked_in"
	Attended          Status = "attended"
	NoShow            Status = "no_show"
)

// Open tells an appointment still ahead (booked or confirmed) from one
// that has happened or been called off.
func (s Status) Open() bool { return s == Booked || s == Confirmed }

// Cancelled tells a called-off appointment.
func (s Status) Cancelled() bool { return s == CancelledByClient || s == CancelledByStaff }

// transitions says which status may follow which: a staff member records
// what happened, and nothing comes back from a cancellation.
var transitions = map[Status][]Status{
	Booked:    {Confirmed, CancelledByClient, CancelledByStaff, CheckedIn, Attended, NoShow},
	Confirmed: {CancelledByClient, CancelledByStaff, CheckedIn, Attended, NoShow},
	CheckedIn: {Attended, NoShow},
}

// Allows tells whether a staff member may record to after s. Checked in
// is not among them: only the kiosk checks in, with its ticket.
func (s Status) Allows(to Status) bool {
	return to != CheckedIn && slices.Contains(transitions[s], to)
}

// Channel is where an appointment takes place.
type Channel string

// At the service point (a desk there, perhaps), by phone or by video.
const (
	InPerson Channel = "in_person"
	Phone    Channel = "phone"
	Video    Channel = "video"
)

// Channels lists every channel.
var Channels = []Channel{InPerson, Phone, Video}

// Appointment is one appointment with what its screens show beside it.
type Appointment struct {
	ID                  int64
	ClientID            int64 // 0 once the client is erased
	ServicePointID      int64
	StaffID             int64
	Channel             Channel
	DeskID              *int64
	TopicID             *int64
	StartsAt            time.Time
	Minutes             int
	InterpreterLanguage string
	Status              Status
	// Code is the check-in code while the appointment may still check in
	// at the service point; empty otherwise.
	Code        string
	TicketID    *int64
	CheckedInAt *time.Time
	CreatedAt   time.Time
	// Version counts the changes of the row (the API's ETag).
	Version int

	// Read with the appointment, so screens need no second look-up.
	ClientName     string // first names and last name
	NativeName     string // as the client writes it
	ClientLanguage string
	StaffName      string
	ServicePoint   string // the service point's address name
	PointNames     org.Labels
	TimeZone       string
	DeskName       string
	TopicLabels    org.Labels
}

// Ends is when the appointment's time is over.
func (a Appointment) Ends() time.Time { return a.StartsAt.Add(time.Duration(a.Minutes) * time.Minute) }

// Location is the service point's time zone, in which the appointment's
// times are shown.
func (a Appointment) Location() *time.Location { return org.Zone(a.TimeZone) }

// Overlaps tells whether two appointments' times meet.
func (a Appointment) Overlaps(b Appointment) bool {
	return a.StartsAt.Before(b.Ends()) && b.StartsAt.Before(a.Ends())
}

// Settings are a service point's check-in rules and when its
// appointments' reminders go to the clients' phones.
type Settings struct {
	// Prefix is the letter of checked-in appointments' tickets.
	Prefix string
	// Early and Late are how long before and after its start an
	// appointment may check in at the kiosk.
	Early, Late time.Duration
	// First and Second are the two reminders: the first the earlier (by
	// default a day before), the second the later and urgent one.
	First, Second Reminder
}

// Reminder is one of an appointment's reminders: whether it goes, and how
// long before the start, in whole hours.
type Reminder struct {
	On     bool
	Before time.Duration
}

// Defaults of a service point's rules, as in the migrations.
const (
	DefaultPrefix = "V"
	DefaultEarly  = 30 * time.Minute
	DefaultLate   = 15 * time.Minute
	DefaultFirst  = 24 * time.Hour
	DefaultSecond = 2 * time.Hour
)

// DefaultSettings are the rules of a service point that never set its own.
func DefaultSettings() Settings {
	return Settings{Prefix: DefaultPrefix, Early: DefaultEarly, Late: DefaultLate,
		First: Reminder{On: true, Before: DefaultFirst}, Second: Reminder{On: true, Before: DefaultSecond}}
}

// Window is the time in which an appointment starting at start may check in.
func (s Settings) Window(start time.Time) (from, until time.Time) {
	return start.Add(-s.Early), start.Add(s.Late)
}

// Errors the web layer maps to localized messages.
var (
	// ErrNotFound: no such appointment, client or service point visible to
	// the caller (another municipality's looks the same).
	ErrNotFound = sqldb.ErrNotFound
	// ErrForbidden: the staff member may not work there. It is auth's value.
	ErrForbidden = auth.ErrForbidden
	// ErrWrongState: the appointment's status does not allow the change.
	ErrWrongState = errors.New("appointments: the appointment's status does not allow this")
	// ErrUnknownExpert: the expert is no active staff member of the service point.
	ErrUnknownExpert = errors.New("appointments: unknown expert")
	// ErrUnknownDesk: the desk is no active desk of the service point.
	ErrUnknownDesk = errors.New("appointments: unknown desk")
	// ErrUnknownTopic: the topic is no active topic of the service point.
	ErrUnknownTopic = errors.New("appointments: unknown topic")
	// ErrClientErased: the client's data was erased; nothing can be booked.
	ErrClientErased = errors.New("appointments: the client was erased")
	// ErrInPast: an appointment cannot be booked to start in the past.
	ErrInPast = errors.New("appointments: the time is in the past")
	// ErrPrefixTaken: the letter is already a topic's at the service point.
	ErrPrefixTaken = errors.New("appointments: a topic uses this letter")
	// ErrRemindersOrder: both reminders are on and the first does not
	// come before the second.
	ErrRemindersOrder = errors.New("appointments: the first reminder must come before the second")
	// ErrBadBooking: a field of a booking is out of its range.
	ErrBadBooking = errors.New("appointments: invalid booking")
)

// DoubleBooking warns that the expert already has appointments at that
// time; booking again with AllowOverlap books anyway.
type DoubleBooking struct {
	With []Appointment
}

func (e *DoubleBooking) Error() string { return "appointments: the expert is booked at that time" }
