// Package live owns the portal's live updates: numbering each change on a
// channel and announcing it through PostgreSQL NOTIFY (Publish), the one
// listener per instance that hears the announcements (Listener), and the hub
// that fans them out to the websocket subscribers of that instance (Hub).
package live

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/koto-portal/portal/internal/sqldb"
)

// NotifyChannel is the PostgreSQL notification channel every instance listens on.
const NotifyChannel = "koto_live"

// MaxPayload is the largest notification PostgreSQL accepts in its default
// configuration (payloads must be shorter than 8000 bytes).
const MaxPayload = 7999

// Limits on names, so that an event stripped of its data always fits.
const (
	maxChannelLen = 200
	maxTypeLen    = 100
)

// Event is one numbered change on a channel, as clients receive it.
type Event struct {
	Channel string          `json:"channel"`
	Seq     int64           `json:"seq"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data,omitempty"`
	// Truncated marks an event whose data did not fit in a notification:
	// the client learns the seq and fetches a snapshot instead.
	Truncated bool `json:"truncated,omitempty"`
}

// Keys of what a socket's right rests on (Subscription.Keys). The database
// announces their ends itself (migration 00008), in the same words.
func SessionKey(idHash []byte) string { return "session:" + hex.EncodeToString(idHash) }

// StaffKey is a staff member's account and roles.
func StaffKey(staffID int64) string { return "staff:" + strconv.FormatInt(staffID, 10) }

// DeviceKey is a paired device's credential.
func DeviceKey(deviceID int64) string { return "device:" + strconv.FormatInt(deviceID, 10) }

// SetupKey is a service point's set-up as kiosks show it (names, time
// zone, opening hours, topics): instances that keep it in memory forget it
// when it is announced to end (changed).
func SetupKey(servicePointID int64) string { return "setup:" + strconv.FormatInt(servicePointID, 10) }

// End announces, inside the caller's transaction, that what key names has
// ended or changed: once the transaction commits, every instance's
// listener closes the sockets resting on it and tells its watchers.
func End(ctx context.Context, tx sqldb.Tx, key string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, json_build_object('end', $2::text)::text)`, NotifyChannel, key); err != nil {
		return fmt.Errorf("live: announce the end of %s: %w", key, err)
	}
	return nil
}

// Publish numbers a change on channel and announces it, inside the caller's
// transaction: the notification goes out only if that transaction commits,
// so a rolled-back change announces nothing and uses up no number. The row
// lock on the channel's counter makes concurrent publishers on one channel
// commit, and so notify, in seq order. Numbering and announcing are one
// statement, so the lock is held for one round trip less before the commit:
// on a busy channel (every ticket of a service point) that lock is what the
// publishers queue on.
func Publish(ctx context.Context, tx sqldb.Tx, channel, typ string, data any) (int64, error) {
	if err := checkNames(channel, typ); err != nil {
		return 0, err
	}
	var raw json.RawMessage
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return 0, fmt.Errorf("live: encode %s data: %w", typ, err)
		}
		raw = b
	}
	head, tail, err := encodeNotification(Event{Channel: channel, Type: typ, Data: raw})
	if err != nil {
		return 0, err
	}
	var seq int64
	err = tx.QueryRow(ctx, `WITH c AS (`+nextSeq("$1", "VALUES ($1, 1)")+`)
		SELECT c.seq FROM c, LATERAL (SELECT pg_notify($2, $3 || c.seq || $4)) n`,
		channel, NotifyChannel, head, tail).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("live: publish %s on %s: %w", typ, channel, err)
	}
	return seq, nil
}

// nextSeq is the statement that numbers the next event on the channel
// named by the SQL expression channel, returning its seq; rows is the one
// row it is numbered for, the values it is a list of, or a FROM list whose
// statement then runs first.
func nextSeq(channel, rows string) string {
	return `INSERT INTO live_channels AS lc (channel, seq) ` + rows + `
		ON CONFLICT (channel) DO UPDATE SET seq = lc.seq + 1 RETURNING seq`
}

// Announcement publishes an event from inside a statement of the caller's
// that also makes the change the event tells of, its data built by that
// statement from the rows it writes: a ticket's number is counted, the
// ticket inserted and its event numbered and announced in one statement,
// which Tx.Last sends with the commit, so the rows that every ticket of a
// service point locks are held only while the database works. Publish is
// for everything else; its data is bounded to fit a notification, where an
// Announcement's data must be small by construction (PostgreSQL refuses a
// payload of 8000 bytes or more, and the statement with it).
type Announcement struct {
	channel, typ string
}

// Announce names the channel and type of an event that a statement builds.
func Announce(channel, typ string) (Announcement, error) {
	return Announcement{channel, typ}, checkNames(channel, typ)
}

// CTEs are the two common table expressions to add to the statement's WITH
// list: live_seq numbers the event and live_note announces it, with data the
// JSON the SQL expression data yields over from (a FROM list over the
// caller's CTEs, one row in all). Numbering reads from, so the caller's
// changes run first and the channel's row, the busiest lock, is taken last.
// The statement must join live_note, else PostgreSQL skips the
// announcement. Their parameters are args, numbered from first on.
func (a Announcement) CTEs(data, from string, first int) (ctes string, args []any) {
	head, tail, _ := encodeNotification(Event{Channel: a.channel, Type: a.typ, Data: json.RawMessage(`0`)})
	// tail ends with the placeholder data and the event's closing brace.
	mid := strings.TrimSuffix(tail, `0}`)
	p := func(i int) string { return "$" + strconv.Itoa(first+i) }
	ctes = `live_seq AS (` + nextSeq(p(0), `SELECT `+p(0)+`, 1 FROM `+from) + `),
		live_note AS (SELECT live_seq.seq, pg_notify(` + p(1) + `, ` + p(2) + ` || live_seq.seq || ` + p(3) +
		` || (` + data + `)::text || '}') FROM live_seq, ` + from + `)`
	return ctes, []any{a.channel, NotifyChannel, head, mid}
}

// maxSeqDigits is the longest a seq can be written (an int64).
const maxSeqDigits = 19

// encodeNotification encodes ev as its notification, split around the seq
// the database numbers it with (ev.Seq is ignored): head, the seq's digits,
// then tail. The data of an event too large for NOTIFY is dropped.
func encodeNotification(ev Event) (head, tail string, err error) {
	ev.Seq = 0
	b, err := json.Marshal(ev)
	if err != nil {
		return "", "", fmt.Errorf("live: encode event: %w", err)
	}
	if len(b)-1+maxSeqDigits > MaxPayload {
		ev.Data, ev.Truncated = nil, true
		if b, err = json.Marshal(ev); err != nil {
			return "", "", fmt.Errorf("live: encode event: %w", err)
		}
	}
	// The channel is the first field and the seq the second, so the zero
	// after the channel's name is the seq's.
	name, err := json.Marshal(ev.Channel)
	if err != nil {
		return "", "", fmt.Errorf("live: encode event: %w", err)
	}
	n := len(`{"channel":`) + len(name) + len(`,"seq":`)
	if n >= len(b) || string(b[n-len(`,"seq":`):n+1]) != `,"seq":0` {
		return "", "", fmt.Errorf("live: encode event: no seq after the channel in %.40s", b)
	}
	return string(b[:n]), string(b[n+1:]), nil
}

func checkNames(channel, typ string) error {
	switch {
	case channel == "" || len(channel) > maxChannelLen:
		return fmt.Errorf("live: channel name must be 1–%d bytes, got %d", maxChannelLen, len(channel))
	case typ == "" || len(typ) > maxTypeLen:
		return fmt.Errorf("live: event type must be 1–%d bytes, got %d", maxTypeLen, len(typ))
	}
	return nil
}

// CurrentSeq is the seq of the last change published on channel (0 when
// none), for a snapshot to carry. Read it in the snapshot's transaction
// under REPEATABLE READ; under READ COMMITTED read it before the state, so
// that a change committed in between is at worst delivered again on top of
// the snapshot (apply events idempotently) rather than skipped.
func CurrentSeq(ctx context.Context, tx sqldb.Tx, channel string) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `SELECT seq FROM live_channels WHERE channel = $1`, channel).Scan(&seq)
	if errors.Is(err, sqldb.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("live: read seq of %s: %w", channel, err)
	}
	return seq, nil
}
