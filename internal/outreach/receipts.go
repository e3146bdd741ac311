package outreach

import (
	"context"

	"github.com/koto-portal/portal/internal/sqldb"
)

// What a phone's service worker reports of a reminder it got: shown on
// the screen, then tapped.
const (
	ReceiptDelivered = "delivered"
	ReceiptOpened    = "opened"
)

// advances is the SQL condition that a delivery's status may become $2:
// only forward along queued → sent → delivered → opened → answered, so a
// receipt that arrives before the sender has recorded "sent" is not
// undone by it; failed only from queued or sent, since a phone that showed
// the reminder was reached whatever the push service says later.
const advances = `(array_position(ARRAY['queued','sent','delivered','opened','answered'], status)
	< coalesce(array_position(ARRAY['queued','sent','delivered','opened','answered'], $2::text), 0)
	OR $2::text = 'failed' AND status IN ('queued','sent'))`

// Receipt records what this phone reports of one of its reminders. A
// delivery that is not this phone's, or has got further already, is left
// as it is, without saying so: the phone learns nothing about others.
func (s *Service) Receipt(ctx context.Context, credential string, deliveryID int64, status string) error {
	if status != ReceiptDelivered && status != ReceiptOpened || deliveryID <= 0 {
		return ErrInvalid
	}
	return s.asPhone(ctx, credential, func(tx sqldb.Tx, p phone) error {
		_, err := tx.Exec(ctx, `UPDATE client_deliveries SET status = $2, updated_at = $4
			WHERE id = $1 AND device_id = $3 AND `+advances, deliveryID, status, p.id, s.clock())
		return err
	})
}

// answered marks this phone's reminders of an appointment as answered.
func answered(ctx context.Context, tx sqldb.Tx, deviceID, appointmentID int64) error {
	_, err := tx.Exec(ctx, `UPDATE client_deliveries SET status = $2, updated_at = now()
		WHERE device_id = $1 AND appointment_id = $3 AND `+advances, deviceID, "answered", appointmentID)
	return err
}
