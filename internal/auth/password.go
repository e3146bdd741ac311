package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/koto-portal/portal/internal/sqldb"
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
	// Provider: signed in through the municipality's OpenID Connect
	// provider, whose own second factor counts.
	Provider bool
	// Browser is the browser's own description (its User-Agent), shown on
	// the account page to tell one's sessions apart.
	Browser string
}

// HashSlots bounds the password comparisons running at once: each takes
// 64 MiB, so four cap the memory at 256 MiB however many try to log in.
const HashSlots = 4

// hashWait is how long a login waits for a free slot before it is told the
// portal is busy: long enough to ride out a shift's morning logins.
const hashWait = 2 * time.Second

// Authenticate checks an e-mail and password. Failures are counted in the
// database, so the limits hold across portal instances: per account, per
// account from one client, and per client (clientKey: a hash of the
// address). Each attempt is counted before its password is compared, under
// a lock, so parallel attempts cannot all slip under a limit; and at most
// HashSlots comparisons run at once (ErrBusy beyond).
func (s *Service) Authenticate(ctx context.Context, email, password, clientKey string) (Staff, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return Staff{}, err
	}
	defer release()
	// The account is found case-blind, so it is counted case-blind too.
	account := fmt.Sprintf("acct:%x", Hash(strings.ToLower(strings.TrimSpace(email))))
	keys := []throttleKey{
		{account, accountRule},
		{account + ":" + clientKey, accountClientRule},
		{"client:" + clientKey, clientRule},
	}
	if err := s.countAttempt(ctx, keys); err != nil {
		return Staff{}, err
	}
	var st Staff
	var hash string
	var active, passwordSignin bool
	err = s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT id, municipality_id, password_hash, active, password_signin FROM koto_staff_by_email($1)`, email).
			Scan(&st.ID, &st.Tenant, &hash, &active, &passwordSignin)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		_, _ = s.compare(password, dummyHash)
		return Staff{}, ErrBadCredentials
	} else if err != nil {
		return Staff{}, err
	}
	// An account of the provider has no password hash: compared like a
	// wrong password, so its existence does not show.
	if hash == "" {
		hash = dummyHash
	}
	ok, err := s.compare(password, hash)
	if err != nil || !ok || !active {
		if active {
			s.logFailure(ctx, st, PurposePassword)
		}
		return Staff{}, ErrBadCredentials
	}
	// Only someone who knows the password learns that their municipality
	// signs in through its provider now.
	if !passwordSignin {
		return Staff{}, ErrPasswordSigninOff
	}
	return st, s.forgive(ctx, keys)
}

// hashSlot waits for a free password-comparison slot.
func (s *Service) hashSlot(ctx context.Context) (release func(), err error) {
	t := time.NewTimer(s.hashWait)
	defer t.Stop()
	select {
	case s.hashing <- struct{}{}:
		return func() { <-s.hashing }, nil
	case <-t.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
