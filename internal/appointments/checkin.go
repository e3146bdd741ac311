package appointments

import (
	"context"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Arrival is an appointment as a kiosk's check-in finds it by its code:
// what the ticket needs, and nothing that names the client.
type Arrival struct {
	ID          int64
	StaffID     int64
	TopicID     *int64
	StartsAt    time.Time
	Status      Status
	TicketID    *int64
	Interpreter string // the language to interpret, "" for none
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
	err := tx.QueryRow(ctx, `SELECT id, staff_id, topic_id, starts_at, status, ticket_id, interpreter_language
		FROM appointments WHERE service_point_id = $1 AND code = $2 FOR UPDATE`, spID, code).
		Scan(&a.ID, &a.StaffID, &a.TopicID, &a.StartsAt, &a.Status, &a.TicketID, &a.Interpreter)
	return a, sqldb.NotFound(err)
}

// MarkCheckedIn records, in the caller's transaction, that an appointment
// checked in with its ticket, and tells its expert.
func MarkCheckedIn(ctx context.Context, tx sqldb.Tx, a Arrival, ticketID int64, at time.Time) error {
	if !a.Status.Open() {
		return ErrWrongState
	}
	if _, err := tx.Exec(ctx, `UPDATE appointments SET status = 'checked_in', ticket_id = $2, checked_in_at = $3, updated_at = $3
		WHERE id = $1`, a.ID, ticketID, at); err != nil {
		return err
	}
	return tellExpertCheckedIn(ctx, tx, a, ticketID)
}

// tellExpertCheckedIn is where a check-in reaches its expert beyond the
// queue screen (which the ticket's own live event already updates): the
// task queue's "appointment checked in" task, which carries the expert's
// Web Push, is created here in the check-in's transaction once the task
// queue exists.
func tellExpertCheckedIn(ctx context.Context, tx sqldb.Tx, a Arrival, ticketID int64) error {
	return nil
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
