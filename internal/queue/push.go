package queue

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Push is the Web Push subscription a visitor's phone gave for one ticket.
type Push struct {
	TicketID int64 `json:"ticket_id"`
	// Subscription is the browser's PushSubscription JSON, as given.
	Subscription json.RawMessage `json:"subscription"`
	// NearSent records that "your turn is near" went out already.
	NearSent bool `json:"near_sent"`
}

// SetPush stores (or replaces) the push subscription of the ticket behind a
// follow token. The caller checks the subscription's contents with
// internal/push; here it must only be a small JSON object. A closed ticket
// takes no subscription.
func (s *Service) SetPush(ctx context.Context, token string, subscription []byte) error {
	if !validSubscription(subscription) {
		return ErrInvalidSubscription
	}
	hash, err := parseToken(token)
	if err != nil {
		return err
	}
	tenant, err := s.tokenTenant(ctx, hash)
	if err != nil {
		return err
	}
	return s.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		// Locked, so a ticket closing at the same moment either drops this
		// row or is seen closed here.
		t, err := s.ticketByHash(ctx, tx, hash, true)
		if err != nil {
			return err
		}
		if t.State != Waiting && t.State != Called {
			return ErrWrongState
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO ticket_push (ticket_id, municipality_id, subscription) VALUES ($1, $2, $3)
			ON CONFLICT (ticket_id) DO UPDATE SET subscription = excluded.subscription`,
			t.ID, tenant, string(subscription))
		return err
	})
}

// PushFor reads a ticket's push subscription; ErrNotFound when it has none.
func (s *Service) PushFor(ctx context.Context, tenant, ticketID int64) (Push, error) {
	p := Push{TicketID: ticketID}
	err := s.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT subscription, near_sent FROM ticket_push WHERE ticket_id = $1`, ticketID).
			Scan(&p.Subscription, &p.NearSent)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Push{}, ErrNotFound
	}
	if err != nil {
		return Push{}, err
	}
	return p, nil
}

// MarkNearSent claims the one "your turn is near" notice of a ticket: it
// reports true to exactly one caller, so two workers never both send it.
func (s *Service) MarkNearSent(ctx context.Context, tenant, ticketID int64) (bool, error) {
	var n int64
	err := s.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE ticket_push SET near_sent = true WHERE ticket_id = $1 AND NOT near_sent`, ticketID)
		n = tag.RowsAffected()
		return err
	})
	return n == 1, err
}

// DropPush deletes a ticket's push subscription, e.g. when the push service
// reports it gone.
func (s *Service) DropPush(ctx context.Context, tenant, ticketID int64) error {
	return s.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		return dropPush(ctx, tx, ticketID)
	})
}
