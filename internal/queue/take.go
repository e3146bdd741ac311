package queue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
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

// TakeRequest is one tap on a kiosk's "take a number".
type TakeRequest struct {
	TopicID     int64
	Language    string
	Interpreter bool
	// Key is the one-time key of the screen the tap came from (NewTakeKey):
	// the same tap sent again gets the same ticket, not a second number.
	Key string
}

// Taken is a ticket as the kiosk shows it right after the tap.
type Taken struct {
	View
	// Token is the follow link's token, shown once as a QR code.
	Token       string
	TopicLabels org.Labels
	Pictogram   string
	// Repeat is true when the tap had been answered before: no new number
	// was taken, this is the first one again.
	Repeat bool
}

// NewTakeKey makes the one-time key a kiosk's last screen before the
// ticket carries in its form.
func NewTakeKey() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// takeKey is a parsed one-time key: the hash stored with the ticket, and
// the follow token derived from it. Deriving the token lets a repeated tap
// show the same QR code although only hashes are stored; neither hash
// gives the token back.
type takeKey struct {
	hash      []byte
	token     string
	tokenHash []byte
}

func parseTakeKey(key string) (takeKey, error) {
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(raw) != tokenBytes {
		return takeKey{}, ErrInvalidKey
	}
	derived := sha256.Sum256(append([]byte("koto follow token\x00"), raw...))
	tok := derived[:tokenBytes]
	return takeKey{hash: hashToken(raw), token: base64.RawURLEncoding.EncodeToString(tok), tokenHash: hashToken(tok)}, nil
}

// TakeAtKiosk is a visitor's tap: it recognises the kiosk, and gives the
// next number for a topic with everything the ticket screen shows (people
// ahead, the wait, the topic's label and pictogram), all in one
// transaction. Place is filled whenever the kiosk was recognised, errors
// included, so the kiosk can say what went wrong on its own screen.
func (s *Service) TakeAtKiosk(ctx context.Context, k Device, r TakeRequest) (Place, Taken, error) {
	if k.Kind != auth.KindKiosk {
		return Place{}, Taken{}, ErrUnknownDevice
	}
	var place Place
	var out Taken
	var err error
	// A tap whose key has a ticket already (a tap sent again) is refused
	// by the tickets' unique key, and the retry finds that ticket; so do
	// two taps with one key at the same moment.
	for attempt := range 2 {
		err = s.inDeviceTenant(ctx, k, func(tx sqldb.Tx) error {
			var err error
			place, out, err = s.takeIn(ctx, tx, k, r, true, attempt > 0)
			return err
		})
		if !sqldb.IsUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return place, Taken{}, err
	}
	return place, out, nil
}

// takeIn does TakeAtKiosk's work inside the caller's transaction, with the
// kiosk's tenant set; last ends the transaction with the ticket's
// announcement (see newTicket.last), and again looks for the key's ticket
// first (see take).
func (s *Service) takeIn(ctx context.Context, tx sqldb.Tx, k Device, r TakeRequest, last, again bool) (Place, Taken, error) {
	// While a flood limit is set, the device row is locked, so two taps of
	// one kiosk count one after the other and the limit holds exactly.
	sp, deviceID, err := s.deviceAt(ctx, tx, k, s.FloodLimit > 0)
	if err != nil {
		return Place{}, Taken{}, err
	}
	place := sp.place()
	if _, err := parseTakeKey(r.Key); err != nil {
		return place, Taken{}, err
	}
	out, err := s.take(ctx, tx, sp, deviceID, r, last, again)
	return place, out, err
}

// take gives the next number in the caller's transaction (tenant set, the
// kiosk locked by deviceAt; deviceID 0 for a ticket made without a kiosk,
// which has no flood limit). The counter row is updated there too, so a
// rollback gives the number back and the committed numbers stay gapless.
//
// A tap sent again (the same key) gets its first ticket back, whatever
// has changed since. The key is not looked up before every new ticket:
// that statement was a fifth of a ticket's time in the database, for a
// case a network hiccup makes. The new ticket's insert is refused by the
// key's unique index instead, and the caller tries again with again set,
// which looks first. Only a tap that would be refused (an unknown topic,
// closed, too many) looks at once.
func (s *Service) take(ctx context.Context, tx sqldb.Tx, sp servicePoint, deviceID int64, r TakeRequest, last, again bool) (Taken, error) {
	if !validLanguage(r.Language) {
		return Taken{}, ErrInvalidLanguage
	}
	var key takeKey
	if r.Key != "" {
		var err error
		if key, err = parseTakeKey(r.Key); err != nil {
			return Taken{}, err
		}
	}
	// refuse answers with the key's first ticket when there is one, else
	// with the refusal.
	refuse := func(refusal error) (Taken, error) {
		if out, ok, err := s.repeated(ctx, tx, sp, key); ok || err != nil {
			return out, err
		}
		return Taken{}, refusal
	}
	if again {
		if out, ok, err := s.repeated(ctx, tx, sp, key); ok || err != nil {
			return out, err
		}
	}
	var prefix string
	var out Taken
	err := tx.QueryRow(ctx, `SELECT prefix, labels, pictogram FROM topics WHERE id = $1 AND service_point_id = $2 AND active`,
		r.TopicID, sp.id).Scan(&prefix, &out.TopicLabels, &out.Pictogram)
	if errors.Is(err, sqldb.ErrNoRows) {
		return refuse(ErrUnknownTopic)
	}
	if err != nil {
		return Taken{}, err
	}
	now := s.clock()
	local := now.In(sp.loc)
	if !sp.hours.OpenAt(local) {
		return refuse(&ClosedError{OpensAt: sp.hours.NextOpening(local)})
	}
	var device *int64
	if deviceID != 0 {
		err := s.checkFlood(ctx, tx, deviceID)
		if errors.Is(err, ErrRateLimited) {
			return refuse(err)
		}
		if err != nil {
			return Taken{}, err
		}
		device = &deviceID
	}
	return s.issue(ctx, tx, sp, now, newTicket{topicID: r.TopicID, prefix: prefix, language: r.Language,
		interpreter: r.Interpreter, device: device, key: key, last: last}, out)
}

// repeated finds the ticket a tap's key was given before, if any (ok).
func (s *Service) repeated(ctx context.Context, tx sqldb.Tx, sp servicePoint, key takeKey) (out Taken, ok bool, err error) {
	if key.hash == nil {
		return Taken{}, false, nil
	}
	t, err := scanTicket(tx.QueryRow(ctx, `SELECT `+ticketCols+ticketFrom+`
		WHERE t.municipality_id = $3 AND t.service_point_id = $1 AND t.take_key = $2`, sp.id, key.hash, sp.tenant))
	if errors.Is(err, sqldb.ErrNoRows) {
		return Taken{}, false, nil
	}
	if err != nil {
		return Taken{}, false, err
	}
	out, err = s.describe(ctx, tx, Taken{View: View{Ticket: t}, Token: key.token, Repeat: true})
	return out, err == nil, err
}

// newTicket is what a ticket is made of: a walk-in's tap, or a checked-in
// appointment (which is for its expert and carries its time).
type newTicket struct {
	topicID     int64
	prefix      string
	language    string
	interpreter bool
	device      *int64
	key         takeKey // zero: a follow token of its own
	forStaff    *int64
	bookedFor   *time.Time
	// last: the ticket's statement ends the transaction and is sent with
	// its commit (sqldb.Tx.Last), the kiosk's tap.
	last bool
}

// issue numbers and inserts a ticket in the caller's transaction and
// fills out with it, the people ahead and the wait.
func (s *Service) issue(ctx context.Context, tx sqldb.Tx, sp servicePoint, now time.Time, n newTicket, out Taken) (Taken, error) {
	day := sp.serviceDay(now)
	// Who is ahead and the wait are read first: the new ticket will be
	// behind every waiting ticket of its topic not kept for a desk. Their
	// number is kept per topic and day by a trigger (migration 00016): one
	// row, however long the day's queue has grown.
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT waiting FROM topic_waiting
		WHERE municipality_id = $1 AND service_point_id = $2 AND topic_id = $3 AND service_day = $4), 0)`,
		sp.tenant, sp.id, n.topicID, day).Scan(&out.Ahead)
	if err != nil {
		return Taken{}, err
	}
	out.Ahead = max(out.Ahead, 0)
	out.Position = out.Ahead + 1
	if out.WaitMin, out.WaitMax, err = s.Estimate(ctx, tx, sp.id, n.topicID, out.Ahead); err != nil {
		return Taken{}, err
	}
	tokenHash := n.key.tokenHash
	if n.key.hash == nil {
		out.Token, tokenHash = newToken()
	} else {
		out.Token = n.key.token
	}
	// The two rows every ticket of the service point updates, its number's
	// counter and the live channel's sequence, are locked by one statement
	// that numbers, inserts and announces the ticket, the transaction's
	// last: their locks are held for as short a time as possible (they
	// queue the tickets of one service point one after another), and a
	// kiosk's tap sends it with the commit, so not even a round trip to
	// the portal happens under them.
	ann, err := live.Announce(SPChannel(sp.id), EventCreated)
	if err != nil {
		return Taken{}, err
	}
	ctes, annArgs := ann.CTEs(summarySQL, cteFrom[len(" FROM "):], 15)
	query := tx.QueryRow
	if n.last {
		query = tx.Last
	}
	out.Ticket, err = scanTicket(query(ctx, `WITH n AS (
		INSERT INTO ticket_counters (municipality_id, service_point_id, prefix, service_day, last_number)
		VALUES ($1, $2, $4, $5, 1)
		ON CONFLICT (service_point_id, prefix, service_day)
		DO UPDATE SET last_number = ticket_counters.last_number + 1
		RETURNING last_number
	), t AS (
		INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number,
			service_day, language, interpreter, device_id, created_at, token_hash, token_expires_at, take_key,
			for_staff_id, booked_for)
		VALUES ($1, $2, $3, $3, $4, (SELECT last_number FROM n), $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		RETURNING *), `+ctes+`
		SELECT `+ticketCols+cteFrom+` CROSS JOIN live_note`,
		append([]any{sp.tenant, sp.id, n.topicID, n.prefix, day, n.language, n.interpreter, n.device, now, tokenHash,
			sp.dayEnd(now), n.key.hash, n.forStaff, n.bookedFor}, annArgs...)...))
	return out, err
}

// describe completes a repeated tap's answer with its topic as the ticket
// now has it.
func (s *Service) describe(ctx context.Context, tx sqldb.Tx, out Taken) (Taken, error) {
	err := tx.QueryRow(ctx, `SELECT labels, pictogram FROM topics WHERE id = $1`, out.Ticket.TopicID).
		Scan(&out.TopicLabels, &out.Pictogram)
	if err != nil {
		return Taken{}, err
	}
	if out.Ticket.State != Waiting {
		return out, nil
	}
	return s.estimate(ctx, tx, out)
}

// estimate counts the people ahead of a waiting ticket and its wait.
func (s *Service) estimate(ctx context.Context, tx sqldb.Tx, out Taken) (Taken, error) {
	var err error
	if out.Ahead, err = ahead(ctx, tx, out.Ticket); err != nil {
		return Taken{}, err
	}
	out.Position = out.Ahead + 1
	out.WaitMin, out.WaitMax, err = s.Estimate(ctx, tx, out.Ticket.ServicePointID, out.Ticket.TopicID, out.Ahead)
	return out, err
}

// checkFlood refuses a kiosk that takes tickets faster than any queue of
// people could; deviceAt has locked its row.
func (s *Service) checkFlood(ctx context.Context, tx sqldb.Tx, deviceID int64) error {
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
