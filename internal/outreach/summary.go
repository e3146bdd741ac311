package outreach

import (
	"context"

	"github.com/koto-portal/portal/internal/sqldb"
)

// History is what the client's summary shows of outreach, read inside the
// summary's transaction (the reader checked, the view logged there): the
// enrolled phones, the client's answers, the reminders and messages sent
// and how far each got.
func History(ctx context.Context, tx sqldb.Tx, clientID int64) (Exported, error) {
	var out Exported
	var err error
	if out.Phones, err = devices(ctx, tx, clientID, "ASC"); err != nil {
		return Exported{}, err
	}
	rows, err := tx.Query(ctx, `SELECT kind, coalesce(appointment_id, 0), reason, created_at FROM client_answers
		WHERE client_id = $1 ORDER BY id`, clientID)
	if err != nil {
		return Exported{}, err
	}
	if out.Answers, err = sqldb.CollectRows(rows, scanAnswered); err != nil {
		return Exported{}, err
	}
	rows, err = tx.Query(ctx, `SELECT kind, coalesce(appointment_id, 0), coalesce(message_id, 0), device_id, status, reason, updated_at
		FROM client_deliveries WHERE client_id = $1 ORDER BY id`, clientID)
	if err != nil {
		return Exported{}, err
	}
	out.Deliveries, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Delivered, error) {
		var d Delivered
		err := r.Scan(&d.Kind, &d.AppointmentID, &d.MessageID, &d.DeviceID, &d.Status, &d.Reason, &d.At)
		return d, err
	})
	if err != nil {
		return Exported{}, err
	}
	out.Messages, err = messages(ctx, tx, clientID)
	return out, err
}
