package queue

import (
	"context"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Defaults of the check-in's guard against guessing codes.
const (
	DefaultCheckInFailLimit  = 5
	DefaultCheckInFailWindow = 10 * time.Minute
)

// CheckInRequest is a check-in code typed on a kiosk's keypad, or read
// from the appointment's QR code by the kiosk's camera, in the language
// the visitor chose.
type CheckInRequest struct {
	Code     string
	Language string
}

// CheckedIn is the ticket a check-in gave, as the kiosk shows it. It says
// nothing about whose appointment it is.
type CheckedIn struct {
	Taken
	// Repeat is true when the appointment had checked in before: the
	// ticket is the one it got then (without its follow link, which only
	// the first answer shows).
	Repeat bool
}

// Errors of a check-in. None of them tells whose appointment a code is.
var (
	// ErrUnknownCode: no appointment here holds the code now (wrong,
	// cancelled, over, or at another service point): all one answer.
	ErrUnknownCode = errors.New("queue: no appointment with this code here")
	// ErrTooLate: the appointment's check-in window is over.
	ErrTooLate = errors.New("queue: too late to check in")
)

// EarlyError says the appointment's check-in opens later.
type EarlyError struct {
	// From is when check-in opens, in the service point's time zone.
	From time.Time
}

func (e *EarlyError) Error() string { return "queue: check-in opens at " + e.From.Format(time.RFC3339) }

// CheckInAtKiosk checks an appointment in with its code: the appointment
// becomes a ticket in the walk-in queue, with the service point's
// appointment letter, kept for its expert, and is marked checked in, all in
// one transaction. A wrong code is counted against the kiosk, in that
// transaction too, and after CheckInFailLimit of them in CheckInFailWindow
// the kiosk is refused (ErrRateLimited) until the window passes. Place is
// filled whenever the kiosk was recognised, errors included.
func (s *Service) CheckInAtKiosk(ctx context.Context, k Device, r CheckInRequest) (Place, CheckedIn, error) {
	if k.Kind != auth.KindKiosk {
		return Place{}, CheckedIn{}, ErrUnknownDevice
	}
	var place Place
	var out CheckedIn
	var wrong bool
	err := s.inDeviceTenant(ctx, k, func(tx sqldb.Tx) error {
		// The kiosk's row is locked, so its wrong codes are counted one
		// after another and the limit holds exactly.
		sp, deviceID, err := s.deviceAt(ctx, tx, k, true)
		if err != nil {
			return err
		}
		place = sp.place()
		if !validLanguage(r.Language) {
			return ErrInvalidLanguage
		}
		if err := s.checkCheckInFailures(ctx, tx, deviceID); err != nil {
			return err
		}
		out, err = s.checkIn(ctx, tx, sp, deviceID, r)
		if errors.Is(err, ErrUnknownCode) {
			// The failure is kept: the transaction commits it.
			wrong = true
			_, err = tx.Exec(ctx, `INSERT INTO checkin_failures (municipality_id, device_id, at) VALUES ($1, $2, $3)`,
				sp.tenant, deviceID, s.clock())
		}
		return err
	})
	switch {
	case err != nil:
		return place, CheckedIn{}, err
	case wrong:
		return place, CheckedIn{}, ErrUnknownCode
	}
	return place, out, nil
}

// checkCheckInFailures refuses a kiosk where too many wrong codes were
// typed lately.
func (s *Service) checkCheckInFailures(ctx context.Context, tx sqldb.Tx, deviceID int64) error {
	if s.CheckInFailLimit <= 0 {
		return nil
	}
	var recent int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM checkin_failures WHERE device_id = $1 AND at > $2`,
		deviceID, s.clock().Add(-s.CheckInFailWindow)).Scan(&recent); err != nil {
		return err
	}
	if recent >= s.CheckInFailLimit {
		return ErrRateLimited
	}
	return nil
}

// checkIn does CheckInAtKiosk's work in its transaction.
func (s *Service) checkIn(ctx context.Context, tx sqldb.Tx, sp servicePoint, deviceID int64, r CheckInRequest) (CheckedIn, error) {
	code, ok := appointments.NormalizeCode(r.Code)
	if !ok {
		return CheckedIn{}, ErrUnknownCode
	}
	a, err := appointments.FindByCode(ctx, tx, sp.id, code)
	if errors.Is(err, sqldb.ErrNotFound) {
		return CheckedIn{}, ErrUnknownCode
	}
	if err != nil {
		return CheckedIn{}, err
	}
	now := s.clock()
	if a.Status == appointments.CheckedIn && a.TicketID != nil {
		return s.checkedInBefore(ctx, tx, sp, *a.TicketID, now)
	}
	if !a.Status.Open() {
		return CheckedIn{}, ErrUnknownCode
	}
	st, err := appointments.ReadSettings(ctx, tx, sp.id)
	if err != nil {
		return CheckedIn{}, err
	}
	from, until := st.Window(a.StartsAt)
	switch {
	case now.Before(from):
		return CheckedIn{}, &EarlyError{From: from.In(sp.loc)}
	case now.After(until):
		return CheckedIn{}, ErrTooLate
	}
	var out CheckedIn
	var topicID int64
	// The appointment's own topic while it is in use here, else the
	// service point's first: a ticket needs one, and the expert calls it
	// whatever it is.
	err = tx.QueryRow(ctx, `SELECT id, labels, pictogram FROM topics WHERE service_point_id = $1 AND active
		ORDER BY id = $2 DESC, position, id LIMIT 1`, sp.id, a.TopicID).Scan(&topicID, &out.TopicLabels, &out.Pictogram)
	if errors.Is(err, sqldb.ErrNoRows) {
		return CheckedIn{}, ErrUnknownTopic
	}
	if err != nil {
		return CheckedIn{}, err
	}
	out.Taken, err = s.issue(ctx, tx, sp, now, newTicket{topicID: topicID, prefix: st.Prefix, language: r.Language,
		interpreter: a.Interpreter != "", device: &deviceID, forStaff: &a.StaffID, bookedFor: &a.StartsAt}, out.Taken)
	if err != nil {
		return CheckedIn{}, err
	}
	return out, appointments.MarkCheckedIn(ctx, tx, s.tasks, s.events, a, out.Ticket.ID, out.Ticket.Label(), now)
}

// checkedInBefore answers a code that has checked in already with its
// ticket while that is still in today's queue; a ticket that is over
// leaves the code with nothing to give.
func (s *Service) checkedInBefore(ctx context.Context, tx sqldb.Tx, sp servicePoint, ticketID int64, now time.Time) (CheckedIn, error) {
	t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketCols+ticketFrom+` WHERE t.id = $1 AND t.service_point_id = $2`,
		ticketID, sp.id))
	if errors.Is(err, sqldb.ErrNoRows) || err == nil && (t.State.Closed() || !t.ServiceDay.Equal(sp.serviceDay(now))) {
		return CheckedIn{}, ErrUnknownCode
	}
	if err != nil {
		return CheckedIn{}, err
	}
	taken, err := s.describe(ctx, tx, Taken{View: View{Ticket: t}})
	return CheckedIn{Taken: taken, Repeat: true}, err
}
