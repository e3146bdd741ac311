package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/sqldb"
)

// CloseDay ends the service days that are over at a service point: tickets
// still waiting or called from an earlier day, or from today once the last
// closing time has passed, become not_served. No visit is recorded for them
// (no visit happened); statistics count them by state. The follow tokens and
// push subscriptions of every earlier day are deleted, as the privacy rules
// ask, with the live channels of those tickets; today's tokens keep working
// until midnight so a phone can still read how its ticket ended.
func (s *Service) CloseDay(ctx context.Context, tenant, spID int64) (closed int, err error) {
	err = s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		sp, err := s.loadServicePoint(ctx, tx, spID)
		if err != nil {
			return err
		}
		now := s.clock()
		today := sp.serviceDay(now)
		rows, err := tx.Query(ctx, `WITH t AS (
			UPDATE tickets SET state = 'not_served', finished_at = $4
			WHERE service_point_id = $1 AND state IN ('waiting', 'called')
			  AND (service_day < $2 OR ($3 AND service_day = $2))
			RETURNING *)
			SELECT `+ticketCols+cteFrom+` ORDER BY t.id`,
			spID, today, sp.hours.PastClosing(now.In(sp.loc)), now)
		if err != nil {
			return err
		}
		tickets, err := collectTickets(rows)
		if err != nil {
			return err
		}
		closed = len(tickets)
		if _, err := tx.Exec(ctx, `
			DELETE FROM ticket_push p USING tickets t
			WHERE p.ticket_id = t.id AND t.service_point_id = $1
			  AND (t.service_day < $2 OR t.state NOT IN ('waiting', 'called', 'serving'))`, spID, today); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE tickets SET token_hash = NULL, token_expires_at = NULL
			WHERE service_point_id = $1 AND service_day < $2 AND token_hash IS NOT NULL`, spID, today); err != nil {
			return err
		}
		// Nobody waits on an earlier day any more: its waiting counts are
		// all zero, and only today's are read.
		if _, err := tx.Exec(ctx, `DELETE FROM topic_waiting WHERE service_point_id = $1 AND service_day < $2`,
			spID, today); err != nil {
			return err
		}
		// Nobody can follow those tickets any more, so their live channels
		// (TicketChannel) go too; the ones closed just now keep theirs until
		// the next run, for the event below. A week back is ample: this runs
		// every few minutes, and the window keeps it to an index range.
		closedIDs := make([]int64, len(tickets))
		for i, t := range tickets {
			closedIDs[i] = t.ID
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM live_channels c USING tickets t
			WHERE t.service_point_id = $1 AND t.service_day < $2 AND t.service_day >= $2::date - 7
			  AND t.id <> ALL ($3) AND c.channel = 'ticket:' || t.id`, spID, today, closedIDs); err != nil {
			return err
		}
		if closed == 0 {
			return nil
		}
		// The service point's channel first, as everywhere, then each phone.
		if _, err := live.Publish(ctx, tx, SPChannel(spID), EventDayClosed, map[string]int{"closed": closed}); err != nil {
			return err
		}
		for _, t := range tickets {
			if _, err := live.Publish(ctx, tx, TicketChannel(t.ID), EventNotServed, summarize(t)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return closed, nil
}

// CloseAllDue runs CloseDay for every service point of every tenant, for a
// periodic job. One service point's failure does not stop the others; the
// errors come back joined.
func (s *Service) CloseAllDue(ctx context.Context) (closed int, err error) {
	type point struct{ id, tenant int64 }
	var points []point
	err = s.db.Tx(ctx, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, municipality_id FROM koto_service_points_all()`)
		if err != nil {
			return err
		}
		points, err = sqldb.CollectRows(rows, func(r sqldb.Row) (point, error) {
			var p point
			return p, r.Scan(&p.id, &p.tenant)
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, p := range points {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		n, err := s.CloseDay(ctx, p.tenant, p.id)
		if err != nil {
			errs = append(errs, fmt.Errorf("service point %d: %w", p.id, err))
			continue
		}
		closed += n
	}
	return closed, errors.Join(errs...)
}
