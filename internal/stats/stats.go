// Package stats owns anonymous visit statistics: recording one visit
// (topics handled, language, interpreting, outcome, referral, optional age
// group and gender, wait and service time taken from the ticket) and the
// aggregate figures leads and admins read and export. A visit record holds
// no name, identity code, contact detail or address; there are no fields
// for them.
package stats

import (
	"errors"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
)

// Zone is the calendar the statistics count days, weeks and hours in:
// every municipality of the portal is in Finland, so one zone keeps figures
// of several service points comparable.
const Zone = "Europe/Helsinki"

// Location is Zone loaded (UTC if the system lacks time zone data, which
// the Dockerfile and Go's embedded tzdata rule out in practice).
func Location() *time.Location {
	if loc, err := time.LoadLocation(Zone); err == nil {
		return loc
	}
	return time.UTC
}

// Channels: how the contact happened. A walk-in comes with a ticket from
// the kiosk; the others are recorded without one.
const (
	ChannelWalkIn = "walk_in"
	ChannelDesk   = "desk"
	ChannelPhone  = "phone"
	ChannelChat   = "chat"
)

// Channels lists every channel in display order.
var Channels = []string{ChannelWalkIn, ChannelDesk, ChannelPhone, ChannelChat}

// ChannelsWithoutTicket are the channels an expert picks when there is no ticket.
var ChannelsWithoutTicket = []string{ChannelDesk, ChannelPhone, ChannelChat}

// Interpreting used during the visit.
var Interpreters = []string{"none", "on_site", "phone", "video"}

// InterpreterNone is the default: no interpreter.
const InterpreterNone = "none"

// Outcomes of a visit; a visit may have several or none. "assessment" is
// being directed to the assessment of competence and integration service
// needs (Act 681/2023).
const OutcomeReferred = "referred"

// Outcomes lists every outcome in display order.
var Outcomes = []string{"advice", OutcomeReferred, "appointment", "assessment", "registered_client"}

// NotAsked is the default of the optional questions.
const NotAsked = "not_asked"

// AgeGroups lists the optional age groups.
var AgeGroups = []string{NotAsked, "under_18", "18_29", "30_44", "45_64", "65_plus"}

// Genders lists the optional genders.
var Genders = []string{NotAsked, "female", "male", "other"}

// Languages lists the codes of the languages a visit can be held in: the
// portal's twelve.
func Languages() []string {
	out := make([]string, len(i18n.Languages))
	for i, l := range i18n.Languages {
		out[i] = l.Code
	}
	return out
}

// ErrForbidden: the actor may not record or read here. It is auth's value
// so the web layer maps a single error to 403.
var ErrForbidden = auth.ErrForbidden

// Field errors of a visit record. The web layer shows each beside its field.
var (
	ErrUnknownServicePoint  = errors.New("stats: unknown service point")
	ErrInvalidChannel       = errors.New("stats: invalid channel")
	ErrNoTopic              = errors.New("stats: at least one topic is needed")
	ErrUnknownTopic         = errors.New("stats: topic is not of this service point")
	ErrInvalidLanguage      = errors.New("stats: not one of the portal's languages")
	ErrInvalidInterpreter   = errors.New("stats: invalid interpreter choice")
	ErrInvalidOutcome       = errors.New("stats: invalid outcome")
	ErrReferralRequired     = errors.New("stats: a referral outcome needs the service referred to")
	ErrReferralNotReferred  = errors.New("stats: a referral service without the referral outcome")
	ErrUnknownReferral      = errors.New("stats: referral service is not an active one of this service point")
	ErrInvalidAgeGroup      = errors.New("stats: invalid age group")
	ErrInvalidGender        = errors.New("stats: invalid gender")
	ErrUnknownTicket        = errors.New("stats: no such ticket at this service point")
	ErrTicketNotDone        = errors.New("stats: the ticket is not finished")
	ErrTicketAlreadyCounted = errors.New("stats: a visit is already recorded for this ticket")
)

// Field names of a visit, as ValidationError reports them.
const (
	FieldServicePoint = "service_point"
	FieldTicket       = "ticket"
	FieldChannel      = "channel"
	FieldTopics       = "topics"
	FieldLanguage     = "language"
	FieldInterpreter  = "interpreter"
	FieldOutcomes     = "outcomes"
	FieldReferral     = "referral"
	FieldAgeGroup     = "age_group"
	FieldGender       = "gender"
)

// ValidationError lists every field of a visit that was wrong, so the form
// can show all problems at once instead of one per submission.
type ValidationError struct {
	Fields map[string]error
}

func (e *ValidationError) Error() string {
	msg := "stats: invalid visit:"
	for _, f := range e.sortedFields() {
		msg += " " + f + ": " + e.Fields[f].Error() + ";"
	}
	return msg
}

// Unwrap lets errors.Is find any of the field errors.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, 0, len(e.Fields))
	for _, f := range e.sortedFields() {
		out = append(out, e.Fields[f])
	}
	return out
}

func (e *ValidationError) sortedFields() []string {
	fields := make([]string, 0, len(e.Fields))
	for f := range e.Fields {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return fields
}

// add records a problem on a field unless it already has one: the first
// problem found is the one worth fixing first.
func (e *ValidationError) add(field string, err error) {
	if e.Fields == nil {
		e.Fields = map[string]error{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = err
	}
}

func (e *ValidationError) orNil() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}
