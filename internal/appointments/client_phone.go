package appointments

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Upcoming lists a client's appointments that are still to come (booked or
// confirmed, not over by since), the soonest first, inside the caller's
// tenant transaction: the client's own phone shows them, with no staff
// member acting, once the caller has checked the phone's credential.
func Upcoming(ctx context.Context, tx sqldb.Tx, clientID int64, since time.Time) ([]Appointment, error) {
	return list(ctx, tx, `WHERE a.client_id = $1 AND a.status IN ('booked','confirmed')
		AND a.starts_at + a.duration_minutes * interval '1 minute' > $2 ORDER BY a.starts_at, a.id LIMIT 20`, clientID, since)
}

// SetByClient records the client's own answer about one of their
// appointments (Confirmed or CancelledByClient) inside the caller's tenant
// transaction; ErrNotFound if it is not theirs, ErrWrongState if it is no
// longer open or the answer changes nothing.
func SetByClient(ctx context.Context, tx sqldb.Tx, clientID, id int64, to Status, at time.Time) (Appointment, error) {
	a, err := OfClient(ctx, tx, clientID, id)
	if err != nil {
		return Appointment{}, err
	}
	if (to != Confirmed && to != CancelledByClient) || !a.Status.Allows(to) {
		return a, ErrWrongState
	}
	err = record(ctx, tx, &a, to, at, nil)
	return a, err
}

// OfClient reads one of the client's appointments, locked, inside the
// caller's tenant transaction; ErrNotFound if it is not theirs.
func OfClient(ctx context.Context, tx sqldb.Tx, clientID, id int64) (Appointment, error) {
	a, err := scan(tx.QueryRow(ctx, `SELECT `+cols+from+` WHERE a.id = $1 AND a.client_id = $2 FOR UPDATE OF a`, id, clientID))
	return a, sqldb.NotFound(err)
}
