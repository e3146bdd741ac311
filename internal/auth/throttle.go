package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// throttleRule says how a key slows down: its first free failures cost
// nothing; after them each failure makes the next try wait twice as long as
// the one before (1 s, 2 s, 4 s …) up to max. A key quiet for
// throttleForget starts over.
type throttleRule struct {
	free int
	max  time.Duration
	// cleared: a success wipes the key's failures (the account's own keys);
	// otherwise it only takes back its own count (a client's keys, which
	// many people share behind one office address).
	cleared bool
}

const throttleForget = time.Hour

var (
	// An account, from anywhere: a stranger who knows a staff address can
	// make its owner wait a minute at most, while guessing from many
	// addresses stays at about one try a minute.
	accountRule = throttleRule{free: 10, max: time.Minute, cleared: true}
	// An account from one client: guessing from one place slows to one try
	// in fifteen minutes.
	accountClientRule = throttleRule{free: 5, max: 15 * time.Minute, cleared: true}
	// A client, across accounts: one place trying many addresses.
	clientRule = throttleRule{free: 20, max: 15 * time.Minute}
	// Pairing codes typed on one client.
	pairRule = throttleRule{free: 5, max: 15 * time.Minute}
)

// delay is the wait after a key's nth failure.
func (r throttleRule) delay(n int) time.Duration {
	if n < r.free {
		return 0
	}
	if n-r.free >= 30 {
		return r.max
	}
	return min(time.Second<<(n-r.free), r.max)
}

type throttleKey struct {
	key  string
	rule throttleRule
}

// countAttempt refuses the attempt (ErrThrottled) while any of its keys must
// still wait, and otherwise counts it as a failure before it is evaluated:
// forgive takes that back when it succeeds. Check and count happen in one
// transaction holding the keys' rows, so parallel attempts queue on them
// and each sees those before it: no more than the free attempts are ever
// evaluated, however many arrive at once. A refused attempt changes
// nothing, so hammering does not lengthen the wait.
func (s *Service) countAttempt(ctx context.Context, keys []throttleKey) error {
	keys = slices.Clone(keys)
	// One lock order for every attempt, so two cannot deadlock.
	slices.SortFunc(keys, func(a, b throttleKey) int { return strings.Compare(a.key, b.key) })
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	now := s.now()
	return s.db.Tx(ctx, func(tx sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO login_throttle (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO NOTHING`, names); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT key, failures, last_failure, blocked_until FROM login_throttle
			WHERE key = ANY($1) ORDER BY key FOR UPDATE`, names)
		if err != nil {
			return err
		}
		type state struct {
			failures int
			last     *time.Time
			blocked  *time.Time
		}
		found := map[string]state{}
		for rows.Next() {
			var k string
			var st state
			if err := rows.Scan(&k, &st.failures, &st.last, &st.blocked); err != nil {
				return err
			}
			found[k] = st
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			if st := found[k.key]; st.blocked != nil && now.Before(*st.blocked) {
				return ErrThrottled
			}
		}
		for _, k := range keys {
			st := found[k.key]
			n := st.failures
			if st.last == nil || now.Sub(*st.last) > throttleForget {
				n = 0
			}
			n++
			var blocked *time.Time
			if d := k.rule.delay(n); d > 0 {
				t := now.Add(d)
				blocked = &t
			}
			if _, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = $2, last_failure = $3, blocked_until = $4 WHERE key = $1`,
				k.key, n, now, blocked); err != nil {
				return err
			}
		}
		return nil
	})
}

// forgive takes back the failure countAttempt counted for an attempt that
// succeeded: cleared keys start over, the others lose this one. Rows quiet for a day
// go at the same time, which keeps the table small without a job.
func (s *Service) forgive(ctx context.Context, keys []throttleKey) error {
	var clear, takeBack []string
	for _, k := range keys {
		if k.rule.cleared {
			clear = append(clear, k.key)
		} else {
			takeBack = append(takeBack, k.key)
		}
	}
	return s.db.Tx(ctx, func(tx sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = 0, blocked_until = NULL WHERE key = ANY($1)`, clear); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE login_throttle SET failures = greatest(failures - 1, 0) WHERE key = ANY($1)`, takeBack); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE last_failure < $1::timestamptz - interval '1 day'`, s.now())
		return err
	})
}
