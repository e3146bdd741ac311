package api

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// How Idempotency-Key behaves.
const (
	// KeepAnswers is how long the first answer to a key is replayed.
	KeepAnswers = 24 * time.Hour
	// waitForFirst is how long a repeat that arrives while the first
	// request is still being worked on waits for its answer.
	waitForFirst = 10 * time.Second
	// abandonedAfter is when a first request that never answered (its
	// instance died) stops holding the key, so the caller can try again.
	abandonedAfter = 2 * time.Minute
	pollEvery      = 50 * time.Millisecond
)

var (
	// ErrIdempotencyMismatch: the key was used before with another request.
	ErrIdempotencyMismatch = errors.New("api: the Idempotency-Key was used with a different request")
	// ErrIdempotencyBusy: the first request with the key is still running.
	ErrIdempotencyBusy = errors.New("api: a request with this Idempotency-Key is still in progress")
)

// Answer is a response as it is kept for repeats.
type Answer struct {
	Status      int
	ContentType string
	Headers     map[string]string
	Body        []byte
}

// Claim takes an Idempotency-Key for one request (identified by hash, over
// its method, path and body). first is true when this request is the one to
// run: the caller then runs it and calls Keep with its answer, or Release
// when it failed in a way worth retrying. Otherwise answer is the first
// request's, to be sent again; a request still running is waited for.
func (s *Service) Claim(ctx context.Context, actor auth.Principal, key string, hash []byte) (first bool, answer Answer, err error) {
	deadline := s.now().Add(waitForFirst)
	for {
		var status *int
		var stored []byte
		var created time.Time
		err = s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
			err := tx.QueryRow(ctx, `INSERT INTO api_idempotency (municipality_id, api_key_id, key, request_hash)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (api_key_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, created_at = now(),
				  status = NULL, content_type = '', headers = '{}', body = ''
				  WHERE api_idempotency.created_at < now() - $5::interval
				     OR api_idempotency.status IS NULL AND api_idempotency.created_at < now() - $6::interval
				RETURNING true`, actor.Tenant, actor.APIKeyID, key, hash, KeepAnswers, abandonedAfter).Scan(&first)
			if err == nil || !errors.Is(err, sqldb.ErrNoRows) {
				return err
			}
			return tx.QueryRow(ctx, `SELECT request_hash, status, content_type, headers, body, created_at
				FROM api_idempotency WHERE api_key_id = $1 AND key = $2`, actor.APIKeyID, key).
				Scan(&stored, &status, &answer.ContentType, &answer.Headers, &answer.Body, &created)
		})
		switch {
		case err != nil:
			return false, Answer{}, err
		case first:
			return true, Answer{}, nil
		case !bytes.Equal(stored, hash):
			return false, Answer{}, ErrIdempotencyMismatch
		case status != nil:
			answer.Status = *status
			return false, answer, nil
		case s.now().After(deadline):
			return false, Answer{}, ErrIdempotencyBusy
		}
		select {
		case <-ctx.Done():
			return false, Answer{}, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// Keep stores the first answer to key, for every repeat.
func (s *Service) Keep(ctx context.Context, actor auth.Principal, key string, a Answer) error {
	if a.Headers == nil {
		a.Headers = map[string]string{}
	}
	return s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE api_idempotency SET status = $3, content_type = $4, headers = $5, body = $6
			WHERE api_key_id = $1 AND key = $2`, actor.APIKeyID, key, a.Status, a.ContentType, a.Headers, a.Body)
		return err
	})
}

// Release gives key up after a failure that changed nothing, so that the
// caller's retry runs again instead of replaying the failure.
func (s *Service) Release(ctx context.Context, actor auth.Principal, key string) error {
	return s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM api_idempotency WHERE api_key_id = $1 AND key = $2 AND status IS NULL`, actor.APIKeyID, key)
		return err
	})
}

// Sweep forgets kept answers and rate windows that are over, for every
// municipality; a periodic job runs it.
func (s *Service) Sweep(ctx context.Context) (n int64, err error) {
	now := s.now()
	err = s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_sweep_api($1, $2)`, now.Add(-KeepAnswers), now.Add(-5*Window)).Scan(&n)
	})
	return n, err
}
