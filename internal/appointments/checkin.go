package appointments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// Arrival is an appointment as a kiosk's check-in finds it by its code:
// what the ticket needs, and nothing that names the client.
type Arrival struct {
	ID             int64
	ClientID       int64 // 0 once the client is erased
	ServicePointID int64
	StaffID        int64
	TopicID        *int64
	StartsAt       time.Time
	Status         Status
	TicketID       *int64
	Interpreter    string // the language to interpret, "" for none
}

// NormalizeCode reads a check-in code as a person types it or a camera
// reads it: spaces and dashes dropped, Arabic-Indic and Persian digits as
// 0–9. Anything else is not a code.
func NormalizeCode(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, i18n.LatinDigits(strings.TrimSpace(s)))
	if len(s) != CodeLength {
		return "", false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	return s, true
}

// FormatCode writes a code as the letter prints it: two groups of four.
func FormatCode(code string) string {
	if len(code) != CodeLength {
		return code
	}
	return code[:4] + " " + code[4:]
}

// FindByCode finds the appointment holding a check-in code at a service
// point, in the caller's transaction (the kiosk's tenant set), locked for
// the check-in. A code nobody holds is ErrNotFound.
func FindByCode(ctx context.Context, tx sqldb.Tx, spID int64, code string) (Arrival, error) {
	var a Arrival
	err := tx.QueryRow(ctx, `SELECT id, coalesce(client_id, 0), service_point_id, staff_id, topic_id, starts_at, status,
		ticket_id, interpreter_language
		FROM appointments WHERE service_point_id = $1 AND code = $2 FOR UPDATE`, spID, code).
		Scan(&a.ID, &a.ClientID, &a.ServicePointID, &a.StaffID, &a.TopicID, &a.StartsAt, &a.Status, &a.TicketID, &a.Interpreter)
	return a, sqldb.NotFound(err)
}

// MarkCheckedIn records, in the caller's transaction, that an appointment
// checked in with its ticket (label is its number, e.g. "V 3"), and gives
// its expert an "appointment checked in" task there too: the task queue
// shows it live and sends the expert's Web Push. tq nil records no task
// (a queue built without the task queue, in tests of the queue alone). ev
// tells other systems of the check-in.
func MarkCheckedIn(ctx context.Context, tx sqldb.Tx, tq *tasks.Service, ev events.Sink, a Arrival, ticketID int64, label string, at time.Time) error {
	if !a.Status.Open() {
		return ErrWrongState
	}
	if _, err := tx.Exec(ctx, `UPDATE appointments SET status = 'checked_in', ticket_id = $2, checked_in_at = $3, updated_at = $3
		WHERE id = $1`, a.ID, ticketID, at); err != nil {
		return err
	}
	if err := ev.Emit(ctx, tx, events.AppointmentCheckedIn,
		events.Data{"appointment_id": a.ID, "client_id": a.ClientID, "ticket_id": ticketID}); err != nil {
		return err
	}
	if tq == nil {
		return nil
	}
	n := tasks.New{Kind: tasks.KindCheckedIn, ServicePointID: a.ServicePointID, ClientID: a.ClientID, TicketID: ticketID,
		AssigneeID: a.StaffID, DueAt: a.StartsAt, Priority: tasks.High,
		Facts:     tasks.Facts{tasks.FactTime: a.StartsAt.Format(time.RFC3339), tasks.FactTicket: label},
		SourceKey: fmt.Sprintf("appointment:%d:checked_in", a.ID)}
	_, _, err := tq.Create(ctx, tx, n)
	if errors.Is(err, tasks.ErrBadAssignee) {
		// The expert no longer works there: the client's responsible
		// expert, or the service point's pool, takes the visitor.
		n.AssigneeID = 0
		_, _, err = tq.Create(ctx, tx, n)
	}
	return err
}

// TicketClosed records, in the caller's transaction, how a checked-in
// appointment ended when its ticket closed: attended when the visitor was
// served, else a no-show. Its check-in code goes with it.
func TicketClosed(ctx context.Context, tx sqldb.Tx, ticketID int64, served bool) error {
	to := NoShow
	if served {
		to = Attended
	}
	_, err := tx.Exec(ctx, `UPDATE appointments SET status = $2, code = NULL, updated_at = now()
		WHERE ticket_id = $1 AND status = 'checked_in'`, ticketID, to)
	return err
}

// EraseClient removes a client's appointments' personal data in the
// caller's transaction, for a data subject's erasure: appointments still
// ahead are deleted (nobody will come), the rest lose the link to the
// client and their code, and stay as anonymous counts.
func EraseClient(ctx context.Context, tx sqldb.Tx, clientID int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM appointments WHERE client_id = $1 AND status IN ('booked', 'confirmed')`, clientID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE appointments SET client_id = NULL, code = NULL, interpreter_language = ''
		WHERE client_id = $1`, clientID)
	return err
}
