// Package outreach owns reaching clients on their own phones: the one-time
// enrolment links that bind a phone to a client, the phone's long-lived
// credential, the client's page (upcoming appointments, what they answered)
// and the one-tap answers that become tasks for the responsible expert.
package outreach

import (
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Lifetimes and limits.
const (
	// EnrolmentLifetime is how long an enrolment link can be used.
	EnrolmentLifetime = 7 * 24 * time.Hour
	// MaxDevices is how many phones one client may have bound at once; the
	// oldest is let go when a new one enrols.
	MaxDevices = 3
	// MaxReason is the longest reason a client may give.
	MaxReason = 500
)

// Errors the web layer turns into localized messages.
var (
	ErrNotFound  = sqldb.ErrNotFound
	ErrForbidden = auth.ErrForbidden
	// ErrLinkUsed: the enrolment link was used already (by this phone or
	// another) or revoked.
	ErrLinkUsed = errors.New("outreach: the enrolment link was used or revoked")
	// ErrLinkExpired: the enrolment link is past its seven days.
	ErrLinkExpired = errors.New("outreach: the enrolment link expired")
	// ErrClientErased: the client's data was erased.
	ErrClientErased = errors.New("outreach: the client was erased")
	// ErrInvalid: an answer the page cannot have sent.
	ErrInvalid = errors.New("outreach: invalid answer")
	// ErrAlreadyAnswered: the appointment is no longer open to this answer.
	ErrAlreadyAnswered = appointments.ErrWrongState
)

// AnswerKind is one of the one-tap answers.
type AnswerKind string

// The answers a client can tap.
const (
	Coming      AnswerKind = "coming"
	CannotCome  AnswerKind = "cannot_come"
	CallMe      AnswerKind = "call_me"
	Interpreter AnswerKind = "interpreter"
)

// AnswerKinds lists them in the order the page shows them.
var AnswerKinds = []AnswerKind{Coming, CannotCome, CallMe, Interpreter}

// Valid tells a known answer.
func (k AnswerKind) Valid() bool {
	for _, x := range AnswerKinds {
		if k == x {
			return true
		}
	}
	return false
}

// AboutAppointment tells the answers that need an appointment.
func (k AnswerKind) AboutAppointment() bool { return k == Coming || k == CannotCome }

// Enrolment is a fresh enrolment link, shown once as a QR code and letter.
type Enrolment struct {
	Token     string // the secret; stored only hashed
	ExpiresAt time.Time
	// For the letter.
	FirstNames string
	ClientName string
	Language   string
	TimeZone   string // the client's service point's, for the date on the letter
}

// Device is one phone bound to a client, as staff see it.
type Device struct {
	ID        int64
	CreatedAt time.Time
	LastSeen  time.Time
	RevokedAt *time.Time
	RevokedBy string // "staff" or "client"
	// Push: the phone has a working subscription; NotificationsOff: the
	// client turned them off.
	Push             bool
	NotificationsOff bool
}

// Answer is one tap on the client's page.
type Answer struct {
	Kind          AnswerKind
	AppointmentID int64 // needed for Coming and CannotCome
	Reason        string
}

// Answered is an answer as the client's page lists it.
type Answered struct {
	Kind          AnswerKind
	AppointmentID int64
	Reason        string
	At            time.Time
}

// Delivered is one reminder to one of the client's phones and how far it
// got.
type Delivered struct {
	Kind          string // reminder_24h, reminder_2h, message
	AppointmentID int64  // a reminder's
	MessageID     int64  // a message's
	DeviceID      int64
	Status        string // queued, sent, delivered, opened, answered, failed
	Reason        string // why it failed
	At            time.Time
}

// Home is what the client's page shows.
type Home struct {
	ClientID     int64
	FirstNames   string
	Language     string // the client's preferred language
	TimeZone     string // the client's service point's
	Appointments []appointments.Appointment
	Answers      []Answered
	Messages     []ClientMessage // the messages sent to the client, the latest first
	Push         bool            // the phone has a working subscription
	// NotificationsOff: the client turned reminders off on this phone.
	NotificationsOff bool
}
