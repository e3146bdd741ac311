package appointments

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Exported is one appointment in a data subject's export. The check-in
// code is left out: it is a credential, not information about the person.
type Exported struct {
	StartsAt            time.Time  `json:"starts_at"`
	Minutes             int        `json:"minutes"`
	Channel             Channel    `json:"channel"`
	ServicePoint        string     `json:"service_point"`
	Desk                string     `json:"desk,omitempty"`
	Expert              string     `json:"expert"`
	InterpreterLanguage string     `json:"interpreter_language,omitempty"`
	Status              Status     `json:"status"`
	CheckedInAt         *time.Time `json:"checked_in_at,omitempty"`
	CreatedAt           time.Time  `json:"created_at"`
}

// ClientPart is appointments' share of the client register's page, export
// and erasure: register it with the register's service while wiring.
func ClientPart() clients.Part {
	return clients.Part{Name: "appointments", Export: exportClient, Erase: EraseClient, Page: clientPage}
}

// clientPage lists a client's latest appointments for their page, the
// latest first, in the register's transaction (which logs the read).
func clientPage(ctx context.Context, tx sqldb.Tx, clientID int64) (any, error) {
	return list(ctx, tx, `WHERE a.client_id = $1 ORDER BY a.starts_at DESC, a.id DESC LIMIT 50`, clientID)
}

// exportClient lists a client's appointments for their export, in the
// register's transaction.
func exportClient(ctx context.Context, tx sqldb.Tx, clientID int64) (any, error) {
	as, err := list(ctx, tx, `WHERE a.client_id = $1 ORDER BY a.starts_at, a.id`, clientID)
	if err != nil {
		return nil, err
	}
	out := make([]Exported, 0, len(as))
	for _, a := range as {
		out = append(out, Exported{StartsAt: a.StartsAt, Minutes: a.Minutes, Channel: a.Channel, ServicePoint: a.ServicePoint,
			Desk: a.DeskName, Expert: a.StaffName, InterpreterLanguage: a.InterpreterLanguage, Status: a.Status,
			CheckedInAt: a.CheckedInAt, CreatedAt: a.CreatedAt})
	}
	return out, nil
}
