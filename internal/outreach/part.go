package outreach

import (
	"context"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/sqldb"
)

// ClientPart is what outreach keeps about a client, for the register's
// export and erasure of that client: the phones, the links, the answers
// (their reasons are the client's own words), the messages and the
// deliveries.
func ClientPart() clients.Part {
	return clients.Part{Name: "outreach", Export: exportClient, Erase: eraseClient}
}

// Exported is a client's outreach in their export.
type Exported struct {
	Phones     []Device    `json:"phones"`
	Answers    []Answered  `json:"answers"`
	Deliveries []Delivered `json:"deliveries"`
	Messages   []Message   `json:"messages"`
}

func exportClient(ctx context.Context, tx sqldb.Tx, clientID int64) (any, error) {
	return History(ctx, tx, clientID)
}

// eraseClient removes everything outreach holds about the client; the
// tasks the answers made are erased by the task queue's own part.
func eraseClient(ctx context.Context, tx sqldb.Tx, clientID int64) error {
	for _, table := range []string{"client_deliveries", "campaign_recipients", "client_messages", "client_answers", "client_devices", "client_enrolments"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE client_id = $1`, clientID); err != nil {
			return err
		}
	}
	return nil
}

// devices lists the client's phones, removed ones too, by id in order
// ("ASC" or "DESC").
func devices(ctx context.Context, tx sqldb.Tx, clientID int64, order string) ([]Device, error) {
	rows, err := tx.Query(ctx, `SELECT id, created_at, last_seen_at, revoked_at, coalesce(revoked_by, ''),
		push_subscription IS NOT NULL, notifications_off FROM client_devices WHERE client_id = $1 ORDER BY id `+order, clientID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, scanDevice)
}

func scanDevice(r sqldb.Row) (Device, error) {
	var d Device
	err := r.Scan(&d.ID, &d.CreatedAt, &d.LastSeen, &d.RevokedAt, &d.RevokedBy, &d.Push, &d.NotificationsOff)
	return d, err
}

func scanAnswered(r sqldb.Row) (Answered, error) {
	var a Answered
	err := r.Scan(&a.Kind, &a.AppointmentID, &a.Reason, &a.At)
	return a, err
}
