package stats

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Visit is what an expert records about one anonymous visit. Wait and
// service time are not here on purpose: for a walk-in they come from the
// ticket's own timestamps, and without a ticket there are none.
type Visit struct {
	ServicePointID int64
	TicketID       int64  // 0: no ticket (desk, phone, chat)
	Channel        string // walk_in with a ticket (may be left empty then); desk, phone or chat without
	TopicIDs       []int64
	Language       string
	Interpreter    string // empty means none
	Outcomes       []string
	ReferralID     int64  // 0: none; required iff Outcomes has "referred"
	AgeGroup       string // empty means not asked
	Gender         string // empty means not asked
	// FollowUp, when set, asks for a task after the visit.
	FollowUp *FollowUp
}

// FollowUp is a walk-in follow-up: a task for the expert who recorded the
// visit, or for the service point's pool. The task names no visit, ticket,
// topic or time of its own beyond its creation, so that it cannot be joined
// back to the anonymous visit record; what must be done is in the note.
type FollowUp struct {
	Note string
	ToMe bool
}

// maxTopics bounds a visit's topics: far above any real service point and
// low enough that a forged form cannot make a huge array.
const maxTopics = 50

// record validates a visit and stores it, returning its id. Every problem
// with the input is reported at once as a *ValidationError whose fields
// wrap the Err… values; an actor who may not work at the service point
// gets ErrForbidden. Nothing is written unless everything is right.
func record(ctx context.Context, tx sqldb.Tx, actor auth.Principal, v Visit) (int64, error) {
	if err := auth.Authorize(ctx, tx, actor, v.ServicePointID > 0 && actor.CanWork(v.ServicePointID)); err != nil {
		return 0, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM service_points WHERE id = $1)`, v.ServicePointID).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		// An admin holds every service point, so CanWork alone does not
		// prove this one exists in the tenant.
		return 0, &ValidationError{Fields: map[string]error{FieldServicePoint: ErrUnknownServicePoint}}
	}

	v = normalize(v)
	problems := &ValidationError{}
	checkEnums(v, problems)
	if err := checkTopics(ctx, tx, v, problems); err != nil {
		return 0, err
	}
	if err := checkReferral(ctx, tx, v, problems); err != nil {
		return 0, err
	}
	times, err := checkTicket(ctx, tx, v, problems)
	if err != nil {
		return 0, err
	}
	if err := problems.orNil(); err != nil {
		return 0, err
	}

	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO visits (municipality_id, service_point_id, ticket_id, channel, topic_ids, language,
			interpreter, outcomes, referral_id, age_group, gender, wait_seconds, service_seconds, visited_at)
		VALUES (koto_tenant(), $1, nullif($2::bigint, 0), $3, $4, $5, $6, $7, nullif($8::bigint, 0), $9, $10, $11, $12, coalesce($13, now()))
		RETURNING id`,
		v.ServicePointID, v.TicketID, v.Channel, v.TopicIDs, v.Language, v.Interpreter, v.Outcomes, v.ReferralID,
		v.AgeGroup, v.Gender, times.wait, times.service, times.arrived).Scan(&id)
	if sqldb.IsUniqueViolation(err) {
		// Two experts saving the same ticket at once: the ticket row lock
		// makes this rare, the unique index makes it impossible.
		return 0, &ValidationError{Fields: map[string]error{FieldTicket: ErrTicketAlreadyCounted}}
	}
	return id, err
}

// normalize fills the defaults and drops repeated choices, so "not asked"
// is stored explicitly and a topic ticked twice counts once.
func normalize(v Visit) Visit {
	if v.TicketID != 0 && v.Channel == "" {
		v.Channel = ChannelWalkIn
	}
	if v.Interpreter == "" {
		v.Interpreter = InterpreterNone
	}
	if v.AgeGroup == "" {
		v.AgeGroup = NotAsked
	}
	if v.Gender == "" {
		v.Gender = NotAsked
	}
	v.TopicIDs = dedupe(v.TopicIDs)
	v.Outcomes = dedupe(v.Outcomes)
	if v.Outcomes == nil {
		v.Outcomes = []string{}
	}
	return v
}

func dedupe[T comparable](in []T) []T {
	var out []T
	for _, x := range in {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func checkEnums(v Visit, p *ValidationError) {
	switch {
	case v.TicketID != 0 && v.Channel != ChannelWalkIn,
		v.TicketID == 0 && !slices.Contains(ChannelsWithoutTicket, v.Channel):
		p.add(FieldChannel, ErrInvalidChannel)
	}
	if !slices.Contains(Languages(), v.Language) {
		p.add(FieldLanguage, ErrInvalidLanguage)
	}
	if !slices.Contains(Interpreters, v.Interpreter) {
		p.add(FieldInterpreter, ErrInvalidInterpreter)
	}
	for _, o := range v.Outcomes {
		if !slices.Contains(Outcomes, o) {
			p.add(FieldOutcomes, ErrInvalidOutcome)
		}
	}
	if !slices.Contains(AgeGroups, v.AgeGroup) {
		p.add(FieldAgeGroup, ErrInvalidAgeGroup)
	}
	if !slices.Contains(Genders, v.Gender) {
		p.add(FieldGender, ErrInvalidGender)
	}
}

// checkTopics accepts topics of the service point, active or not: a
// transferred ticket may carry one switched off since.
func checkTopics(ctx context.Context, tx sqldb.Tx, v Visit, p *ValidationError) error {
	if len(v.TopicIDs) == 0 {
		p.add(FieldTopics, ErrNoTopic)
		return nil
	}
	if len(v.TopicIDs) > maxTopics {
		p.add(FieldTopics, ErrUnknownTopic)
		return nil
	}
	var found int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM topics WHERE service_point_id = $1 AND id = ANY($2)`,
		v.ServicePointID, v.TopicIDs).Scan(&found)
	if err != nil {
		return err
	}
	if found != len(v.TopicIDs) {
		p.add(FieldTopics, ErrUnknownTopic)
	}
	return nil
}

// checkReferral: the referral service is named exactly when the visitor
// was referred, and it is one the service point currently offers.
func checkReferral(ctx context.Context, tx sqldb.Tx, v Visit, p *ValidationError) error {
	referred := slices.Contains(v.Outcomes, OutcomeReferred)
	switch {
	case referred && v.ReferralID == 0:
		p.add(FieldReferral, ErrReferralRequired)
		return nil
	case !referred && v.ReferralID != 0:
		p.add(FieldReferral, ErrReferralNotReferred)
		return nil
	case v.ReferralID == 0:
		return nil
	}
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM referral_services WHERE id = $1 AND service_point_id = $2 AND active)`,
		v.ReferralID, v.ServicePointID).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		p.add(FieldReferral, ErrUnknownReferral)
	}
	return nil
}

// ticketTimes are what a walk-in visit takes from its ticket.
type ticketTimes struct {
	wait, service *int32
	arrived       *time.Time
}

// checkTicket locks the ticket (so two experts saving it at once queue up
// and the second sees the first's record) and reads the times from it.
// Another tenant's ticket is invisible under row-level security, and
// another service point's is refused the same way, so neither is told apart
// from a ticket that does not exist.
func checkTicket(ctx context.Context, tx sqldb.Tx, v Visit, p *ValidationError) (ticketTimes, error) {
	var tt ticketTimes
	if v.TicketID == 0 {
		return tt, nil
	}
	if v.TicketID < 0 {
		p.add(FieldTicket, ErrUnknownTicket)
		return tt, nil
	}
	var state string
	var created time.Time
	err := tx.QueryRow(ctx, `SELECT state, created_at,
			CASE WHEN called_at IS NOT NULL THEN greatest(round(extract(epoch FROM called_at - created_at)), 0)::integer END,
			CASE WHEN finished_at IS NOT NULL AND serving_at IS NOT NULL
				THEN greatest(round(extract(epoch FROM finished_at - serving_at)), 0)::integer END
		FROM tickets WHERE id = $1 AND service_point_id = $2 FOR UPDATE`, v.TicketID, v.ServicePointID).
		Scan(&state, &created, &tt.wait, &tt.service)
	if errors.Is(err, sqldb.ErrNoRows) {
		p.add(FieldTicket, ErrUnknownTicket)
		return tt, nil
	} else if err != nil {
		return tt, err
	}
	if state != "done" {
		p.add(FieldTicket, ErrTicketNotDone)
		return tt, nil
	}
	var counted bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM visits WHERE ticket_id = $1)`, v.TicketID).Scan(&counted); err != nil {
		return tt, err
	}
	if counted {
		p.add(FieldTicket, ErrTicketAlreadyCounted)
		return tt, nil
	}
	// A walk-in is dated by the visitor's arrival, so days and busiest
	// hours show when people came, not when the expert got to the form.
	tt.arrived = &created
	return tt, nil
}

// Ticket is what the visit form needs to know about a walk-in's ticket.
type Ticket struct {
	ID             int64
	ServicePointID int64
	TopicID        int64
	Prefix         string
	Number         int
	Language       string
	Interpreter    bool // asked for at the kiosk
	State          string
	Recorded       bool // a visit is already recorded for it
}

// getTicket reads a ticket of the tenant for the visit form, with whether
// its visit is already recorded; another tenant's is ErrUnknownTicket.
func getTicket(ctx context.Context, tx sqldb.Tx, id int64) (Ticket, error) {
	var t Ticket
	err := tx.QueryRow(ctx, `SELECT t.id, t.service_point_id, t.topic_id, t.prefix, t.number, t.language, t.interpreter, t.state,
			EXISTS (SELECT 1 FROM visits v WHERE v.ticket_id = t.id)
		FROM tickets t WHERE t.id = $1`, id).
		Scan(&t.ID, &t.ServicePointID, &t.TopicID, &t.Prefix, &t.Number, &t.Language, &t.Interpreter, &t.State, &t.Recorded)
	if errors.Is(err, sqldb.ErrNoRows) {
		return t, ErrUnknownTicket
	}
	return t, err
}
