package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
)

// Argon2id parameters: RFC 9106's second recommended option (64 MiB, 3
// passes), parallelism matched to small servers.
var passwordParams = &argon2id.Params{Memory: 64 * 1024, Iterations: 3, Parallelism: 2, SaltLength: 16, KeyLength: 32}

// dummyHash is compared against when an account does not exist, so a wrong
// address takes as long as a wrong password.
var dummyHash, _ = argon2id.CreateHash("no such account", passwordParams)

// HashPassword hashes a new password.
func HashPassword(password string) (string, error) {
	if len(password) < 10 {
		return "", errors.New("auth: password shorter than 10 characters")
	}
	return argon2id.CreateHash(password, passwordParams)
}

// Staff is the account a login found.
type Staff struct {
	ID, Tenant int64
}

// Authenticate checks an e-mail and password. Failures are counted per
// account and per client (clientKey: a hash of the address), in the
// database so the limit holds across portal instances.
func (s *Service) Authenticate(ctx context.Context, email, password, clientKey string) (Staff, error) {
	// The account is found case-blind, so it is counted case-blind too.
	keys := []string{"acct:" + fmt.Sprintf("%x", Hash(strings.ToLower(strings.TrimSpace(email)))), "client:" + clientKey}
	if err := s.checkThrottle(ctx, keys); err != nil {
		return Staff{}, err
	}
	var st Staff
	var hash string
	var active bool
	err := s.db.Tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, municipality_id, password_hash, active FROM koto_staff_by_email($1)`, email).
			Scan(&st.ID, &st.Tenant, &hash, &active)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		_, _ = argon2id.ComparePasswordAndHash(password, dummyHash)
		s.recordFailure(ctx, keys)
		return Staff{}, ErrBadCredentials
	} else if err != nil {
		return Staff{}, err
	}
	ok, err := argon2id.ComparePasswordAndHash(password, hash)
	if err != nil || !ok || !active {
		s.recordFailure(ctx, keys)
		return Staff{}, ErrBadCredentials
	}
	return st, nil
}

// Limits on failed logins within the window.
const (
	throttleWindowMinutes = 15
	maxAccountFailures    = 5
	maxClientFailures     = 20
)

func (s *Service) checkThrottle(ctx context.Context, keys []string) error {
	var acct, client int
	err := s.db.Tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `
			SELECT count(*) FILTER (WHERE key = $1), count(*) FILTER (WHERE key = $2)
			FROM login_failures WHERE key IN ($1, $2) AND at > $3::timestamptz - make_interval(mins => $4)`,
			keys[0], keys[1], s.now(), throttleWindowMinutes).Scan(&acct, &client)
	})
	if err != nil {
		return err
	}
	if acct >= maxAccountFailures || client >= maxClientFailures {
		return ErrThrottled
	}
	return nil
}

func (s *Service) recordFailure(ctx context.Context, keys []string) {
	_ = s.db.Tx(ctx, func(tx pgx.Tx) error {
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `INSERT INTO login_failures (key, at) VALUES ($1, $2)`, k, s.now()); err != nil {
				return err
			}
		}
		// Old rows serve no one; trimming here keeps the table small without a job.
		_, err := tx.Exec(ctx, `DELETE FROM login_failures WHERE at < $1::timestamptz - interval '1 day'`, s.now())
		return err
	})
}
