// Package clients owns the client register: a client's basic information,
// the clientship with its history, the responsible expert, the log of
// meetings and contacts, search, and the data subject's tools (export,
// erasure, the access-log extract). Every read, change and export of a
// client writes an access-log row in the same transaction.
//
// Other packages that keep data about a client (appointments, tasks,
// outreach) refer to clients(id), check access with Accessible in their
// own transaction, and register a Part with Service.AddPart when the
// portal is wired, so that a client's export includes their data and an
// erasure removes it in the same transaction as the client's own.
package clients

import (
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/auth"
)

// SubjectClient is the access-log subject kind of a client record.
const SubjectClient = "client"

// Access-log purposes.
const (
	PurposeClientWork   = "client_work"          // an expert's daily work with the client
	PurposeSearch       = "client_search"        // a search or list of clients
	PurposeDataSubject  = "data_subject_request" // export, extract and erasure for the client's own request
	statusActive        = "active"
	statusEnded         = "ended"
	maxNameLen          = 200
	maxNoteLen          = 4000
	maxSummaryLen       = 2000
	maxExternalIDLength = 100
)

// Clientship statuses.
const (
	StatusActive = statusActive
	StatusEnded  = statusEnded
)

// EndReasons are the reasons a clientship ends, in the order forms offer
// them; each has a message "clients.reason.<code>".
var EndReasons = []string{
	"plan_completed", // the integration plan is done
	"employed",       // work or studies
	"moved",          // moved to another municipality
	"no_need",        // no longer needs integration services
	"client_request", // at the client's own wish
	"not_reached",    // cannot be reached
	"other_service",  // moved on to another service
	"deceased",       // the client has died
	"other",          // none of these
}

// Channels of a contact, in the order forms offer them; each has a message
// "clients.channel.<code>".
var Channels = []string{"meeting", "phone", "message", "home_visit", "outreach", "group_event"}

// Errors of the register that a person can act on.
var (
	ErrForbidden = auth.ErrForbidden
	// ErrErased: the client was erased; only the anonymous remainder is left.
	ErrErased = errors.New("clients: the client has been erased")
	// ErrUnknownExpert: the responsible expert chosen does not work at the
	// client's service point (or is no active account).
	ErrUnknownExpert = errors.New("clients: no such expert at the service point")
	// ErrUnknownServicePoint: no such service point in the municipality.
	ErrUnknownServicePoint = errors.New("clients: no such service point")
	// ErrAlreadyEnded and ErrNotEnded: the clientship is not in the state
	// the action needs (someone else acted first, or a form sent twice).
	ErrAlreadyEnded = errors.New("clients: the clientship has already ended")
	ErrNotEnded     = errors.New("clients: the clientship is active")
	// ErrExternalIDTaken: another client of the municipality has this key.
	ErrExternalIDTaken = errors.New("clients: external id already in use")
	// ErrNotConfirmed: erasure needs its confirmation.
	ErrNotConfirmed = errors.New("clients: erasure not confirmed")
	// ErrUnknownContact: no such line in the client's contact log.
	ErrUnknownContact = errors.New("clients: no such contact")
)

// Client is one client as the screens show them.
type Client struct {
	ID             int64
	ServicePointID int64
	ExternalID     string
	FirstNames     string
	LastName       string
	NativeName     string
	BirthDate      time.Time // zero: not known
	// IdentityCode is the full code only for those who may see it (a lead
	// of the service point or an admin); IdentityCodeMasked shows the part
	// that is the date of birth to everyone else.
	IdentityCode        string
	IdentityCodeMasked  string
	HasIdentityCode     bool
	Language            string
	InterpreterLanguage string // "" when no interpreter is needed
	Phone               string
	Email               string
	ResponsibleStaffID  int64 // 0: none
	ResponsibleName     string
	Status              string
	Note                string
	CreatedAt           time.Time
	CreatedByName       string
	UpdatedAt           time.Time
	UpdatedByName       string
	Erased              bool
	// Version counts the changes of the row (the API's ETag).
	Version int
}

// Input is the client's information as an update takes it: the identity
// code and the external id left empty keep what is stored.
func (c Client) Input() Input {
	return Input{ServicePointID: c.ServicePointID, FirstNames: c.FirstNames, LastName: c.LastName, NativeName: c.NativeName,
		BirthDate: c.BirthDate, Language: c.Language, InterpreterLanguage: c.InterpreterLanguage, Phone: c.Phone,
		Email: c.Email, ResponsibleStaffID: c.ResponsibleStaffID, Note: c.Note}
}

// Name is the client's name in the order Finnish registers write it.
func (c Client) Name() string {
	switch {
	case c.LastName == "":
		return c.FirstNames
	case c.FirstNames == "":
		return c.LastName
	}
	return c.LastName + ", " + c.FirstNames
}

// Event is one step of a clientship's history.
type Event struct {
	Kind      string // started, ended, continued
	On        time.Time
	Reason    string // for an end: one of EndReasons
	StaffName string
	At        time.Time
}

// Expert is a staff member who may be a client's responsible expert.
type Expert struct {
	ID   int64
	Name string
}
