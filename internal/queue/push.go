package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/sqldb"
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
	return s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
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
	err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT subscription, near_sent FROM ticket_push WHERE ticket_id = $1`, ticketID).
			Scan(&p.Subscription, &p.NearSent)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return Push{}, ErrNotFound
	}
	if err != nil {
		return Push{}, err
	}
	return p, nil
}

// DropPush deletes a ticket's push subscription, e.g. when the push service
// reports it gone.
func (s *Service) DropPush(ctx context.Context, tenant, ticketID int64) error {
	return s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		return dropPush(ctx, tx, ticketID)
	})
}

// Notices a ticket's phone gets by Web Push.
const (
	NoticeCalled = "called" // called to a desk, or recalled
	NoticeNear   = "near"   // among the first nearPositions in the line
)

// nearPositions is how close to the front a ticket is when its phone is told
// "your turn is near".
const nearPositions = 3

// ticketPushTTL is how long a ticket's notice is worth delivering.
const ticketPushTTL = 10 * time.Minute

// TicketPush is the job that tells one ticket's phone a notice. It carries
// ids only: the worker reads the ticket and its subscription under the
// tenant, so a ticket closed meanwhile (its subscription deleted) gets
// nothing.
type TicketPush struct {
	Tenant   int64  `json:"tenant"`
	TicketID int64  `json:"ticket_id"`
	Notice   string `json:"notice"`
}

// Kind names the job in River's table.
func (TicketPush) Kind() string { return "ticket_push" }

// InsertOpts: the news is stale within minutes, so a few attempts will do.
func (TicketPush) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// enqueuePushes enqueues, in the transaction that calls t, the push to t's
// phone and, with near, the "your turn is near" pushes to the phones now at
// the front of the line. Each near notice is claimed here, in the same
// transaction as its job, so it goes out once; a claim another call holds
// is skipped, not waited for (that call sends it, or rolls back and leaves
// it for the next). Without push nothing is enqueued.
func (s *Service) enqueuePushes(ctx context.Context, tx sqldb.Tx, t Ticket, near bool) error {
	if s.jobs == nil || !s.jobs.Pushing() {
		return nil
	}
	rows, err := tx.Query(ctx, `
		WITH front AS (
			SELECT id FROM tickets
			WHERE $4 AND service_point_id = $2 AND service_day = $3 AND state = 'waiting'
			ORDER BY created_at, id LIMIT $5),
		claim AS (
			SELECT p.ticket_id FROM ticket_push p JOIN front ON front.id = p.ticket_id
			WHERE NOT p.near_sent
			FOR UPDATE OF p SKIP LOCKED),
		near AS (
			UPDATE ticket_push p SET near_sent = true FROM claim WHERE p.ticket_id = claim.ticket_id
			RETURNING p.ticket_id)
		SELECT koto_tenant(), ticket_id, 'near' FROM near
		UNION ALL
		SELECT koto_tenant(), ticket_id, 'called' FROM ticket_push WHERE ticket_id = $1`,
		t.ID, t.ServicePointID, t.ServiceDay, near, nearPositions)
	if err != nil {
		return err
	}
	pushes, err := sqldb.CollectRows(rows, func(r sqldb.Row) (river.JobArgs, error) {
		var p TicketPush
		return p, r.Scan(&p.Tenant, &p.TicketID, &p.Notice)
	})
	if err != nil {
		return err
	}
	return s.jobs.InsertTx(ctx, tx, pushes...)
}

// ticketPushWorker sends TicketPush jobs.
type ticketPushWorker struct {
	river.WorkerDefaults[TicketPush]
	q       *Service
	jobs    *jobs.Service
	catalog *i18n.Catalog
}

// ticketMessage is what the service worker shows; it names no one.
type ticketMessage struct {
	Title  string `json:"title"`
	Body   string `json:"body"`
	Lang   string `json:"lang"`
	Dir    string `json:"dir"`
	Tag    string `json:"tag"`
	Ticket int64  `json:"ticket"`
	Urgent bool   `json:"urgent,omitempty"`
}

func (w *ticketPushWorker) Work(ctx context.Context, job *river.Job[TicketPush]) error {
	a := job.Args
	var t Ticket
	var subscription []byte
	err := w.q.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
		var err error
		if t, err = scanTicket(tx.QueryRow(ctx, `SELECT `+ticketCols+ticketFrom+`WHERE t.id = $1`, a.TicketID)); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT subscription FROM ticket_push WHERE ticket_id = $1`, a.TicketID).Scan(&subscription)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return nil // the ticket, or its subscription, is gone
	}
	if err != nil {
		return err
	}
	titleKey, bodyKey, urgency, want := "push.called_title", "push.called_body", push.UrgencyHigh, Called
	if a.Notice == NoticeNear {
		titleKey, bodyKey, urgency, want = "push.near_title", "push.near_body", push.UrgencyNormal, Waiting
	}
	if t.State != want {
		return nil // the news is overtaken: served, called, closed
	}
	lang, ok := w.catalog.Lookup(t.Language)
	if !ok {
		lang, _ = w.catalog.Lookup(i18n.Default)
	}
	tr := w.catalog.For(lang)
	name := fmt.Sprintf("ticket-%d", t.ID)
	payload, err := json.Marshal(ticketMessage{
		Title: tr.Get(titleKey, "Number", t.Label()), Body: tr.Get(bodyKey, "Number", t.Label(), "Desk", t.DeskName),
		Lang: lang.Code, Dir: lang.Dir(), Tag: name, Ticket: t.ID, Urgent: a.Notice == NoticeCalled,
	})
	if err != nil {
		return err
	}
	// One topic per ticket: a "called" replaces a "near" still undelivered.
	msg := push.Message{Payload: payload, TTL: ticketPushTTL, Urgency: urgency, Topic: w.jobs.Topic(name)}
	gone, err := w.jobs.Push(ctx, job.JobRow, subscription, msg)
	if gone {
		if derr := w.q.DropPush(ctx, a.Tenant, t.ID); derr != nil {
			return derr
		}
	}
	return err
}
