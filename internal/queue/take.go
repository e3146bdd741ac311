package queue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/live"
)

// tokenBytes is the randomness of a ticket's follow link: 128 bits.
const tokenBytes = 16

func newToken() (token string, hash []byte) {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics instead)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(b)
}

func hashToken(raw []byte) []byte {
	h := sha256.Sum256(raw)
	return h[:]
}

// parseToken turns the text of a follow link into its stored hash; anything
// that is not one of ours is simply not found.
func parseToken(token string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return nil, ErrNotFound
	}
	return hashToken(raw), nil
}

// TakeTicket gives a visitor the next number for a topic of a service point
// and the token of the ticket's follow link (shown once, as a QR code).
// deviceID is the kiosk (0 for a ticket made by staff, which has no flood
// limit).
func (s *Service) TakeTicket(ctx context.Context, tenant, spID, topicID int64, language string, interpreter bool, deviceID int64) (t Ticket, token string, err error) {
	err = s.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		t, token, err = s.takeTicketTx(ctx, tx, spID, topicID, language, interpreter, deviceID)
		return err
	})
	if err != nil {
		return Ticket{}, "", err
	}
	return t, token, nil
}

// Take is TakeTicket for the kiosk's ticket screen: in the same
// transaction it also counts the people ahead and estimates the wait, so
// showing the new number costs no second visit to the database.
func (s *Service) Take(ctx context.Context, tenant, spID, topicID int64, language string, interpreter bool, deviceID int64) (v View, token string, err error) {
	err = s.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		if v.Ticket, token, err = s.takeTicketTx(ctx, tx, spID, topicID, language, interpreter, deviceID); err != nil {
			return err
		}
		if v.Ahead, err = ahead(ctx, tx, v.Ticket); err != nil {
			return err
		}
		v.Position = v.Ahead + 1
		v.WaitMin, v.WaitMax, err = s.Estimate(ctx, tx, spID, v.Ticket.TopicID, v.Ahead)
		return err
	})
	if err != nil {
		return View{}, "", err
	}
	return v, token, nil
}

// takeTicketTx does TakeTicket's work inside the caller's transaction (with
// the tenant set): the counter row is updated there too, so a rollback gives
// the number back and the committed numbers stay gapless.
func (s *Service) takeTicketTx(ctx context.Context, tx pgx.Tx, spID, topicID int64, language string, interpreter bool, deviceID int64) (Ticket, string, error) {
	if !validLanguage(language) {
		return Ticket{}, "", ErrInvalidLanguage
	}
	sp, err := s.loadServicePoint(ctx, tx, spID)
	if err != nil {
		return Ticket{}, "", err
	}
	var prefix string
	err = tx.QueryRow(ctx, `SELECT prefix FROM topics WHERE id = $1 AND service_point_id = $2 AND active`,
		topicID, spID).Scan(&prefix)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Ticket{}, "", ErrUnknownTopic
		}
		return Ticket{}, "", err
	}
	now := s.clock()
	local := now.In(sp.loc)
	if !sp.hours.OpenAt(local) {
		return Ticket{}, "", &ClosedError{OpensAt: sp.hours.NextOpening(local)}
	}
	var device *int64
	if deviceID != 0 {
		if err := s.checkFlood(ctx, tx, spID, deviceID); err != nil {
			return Ticket{}, "", err
		}
		device = &deviceID
	}
	day := sp.serviceDay(now)
	var number int
	err = tx.QueryRow(ctx, `
		INSERT INTO ticket_counters (municipality_id, service_point_id, prefix, service_day, last_number)
		VALUES ($1, $2, $3, $4, 1)
		ON CONFLICT (service_point_id, prefix, service_day)
		DO UPDATE SET last_number = ticket_counters.last_number + 1
		RETURNING last_number`, sp.tenant, spID, prefix, day).Scan(&number)
	if err != nil {
		return Ticket{}, "", err
	}
	token, hash := newToken()
	t, err := scanTicket(tx.QueryRow(ctx, `WITH t AS (
		INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number,
			service_day, language, interpreter, device_id, created_at, token_hash, token_expires_at)
		VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		RETURNING *)
		SELECT `+ticketCols+cteFrom,
		sp.tenant, spID, topicID, prefix, number, day, language, interpreter, device, now, hash, sp.dayEnd(now)))
	if err != nil {
		return Ticket{}, "", err
	}
	if _, err := live.Publish(ctx, tx, SPChannel(spID), EventCreated, summarize(t)); err != nil {
		return Ticket{}, "", err
	}
	return t, token, nil
}

// checkFlood refuses a kiosk that takes tickets faster than any queue of
// people could. The device row is locked first, so two requests from one
// kiosk count one after the other and the limit holds exactly.
func (s *Service) checkFlood(ctx context.Context, tx pgx.Tx, spID, deviceID int64) error {
	// Without a limit there is nothing to count, so no lock to queue on;
	// the device must still be a live kiosk of this service point.
	lock := " FOR NO KEY UPDATE"
	if s.FloodLimit <= 0 {
		lock = ""
	}
	var ok bool
	err := tx.QueryRow(ctx, `
		SELECT true FROM devices
		WHERE id = $1 AND service_point_id = $2 AND kind = 'kiosk' AND revoked_at IS NULL`+lock, deviceID, spID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrUnknownDevice
	}
	if err != nil {
		return err
	}
	if s.FloodLimit <= 0 {
		return nil // switched off, for load tests
	}
	var recent int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM tickets WHERE device_id = $1 AND created_at > $2`,
		deviceID, s.clock().Add(-s.FloodWindow)).Scan(&recent); err != nil {
		return err
	}
	if recent >= s.FloodLimit {
		return ErrRateLimited
	}
	return nil
}
