package auth

import (
	"context"
	"errors"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Session is a logged-in staff member's session as the web layer sees it.
type Session struct {
	Token     string // the cookie value; only its hash is stored
	CSRF      string
	Principal Principal
	Expires   time.Time
}

// Login starts a new session for st. The id is always new, and any session
// the browser brought (a planted one included) is deleted: an id known
// before login never becomes a logged-in one.
func (s *Service) Login(ctx context.Context, st Staff, previousToken string) (Session, error) {
	if previousToken != "" {
		_ = s.Logout(ctx, previousToken)
	}
	token, csrf := NewToken(), NewToken()
	now := s.now()
	var sess Session
	err := s.db.InTenant(ctx, st.Tenant, func(tx sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, municipality_id, staff_id, csrf_token, created_at, last_seen_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $5, $6)`, Hash(token), st.Tenant, st.ID, csrf, now, now.Add(AbsoluteTimeout)); err != nil {
			return err
		}
		p, err := loadPrincipal(ctx, tx, st.Tenant, st.ID)
		sess = Session{Token: token, CSRF: csrf, Principal: p, Expires: now.Add(AbsoluteTimeout)}
		return err
	})
	return sess, err
}

// Session finds the live session for a cookie and marks it used. Idle and
// absolute timeouts are checked here, against the database's record.
func (s *Service) Session(ctx context.Context, token string) (Session, error) {
	if token == "" || len(token) > 100 {
		return Session{}, ErrNoSession
	}
	h := Hash(token)
	var tenant *int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_session_tenant($1)`, h).Scan(&tenant)
	}); err != nil {
		return Session{}, err
	}
	if tenant == nil {
		return Session{}, ErrNoSession
	}
	now := s.now()
	var sess Session
	// An ended session is deleted in a transaction that commits: returning
	// an error from inside would roll the delete back.
	ended := false
	err := s.db.InTenant(ctx, *tenant, func(tx sqldb.Tx) error {
		var staffID int64
		var lastSeen, expires time.Time
		err := tx.QueryRow(ctx, `SELECT staff_id, csrf_token, last_seen_at, expires_at FROM sessions WHERE id_hash = $1`, h).
			Scan(&staffID, &sess.CSRF, &lastSeen, &expires)
		if errors.Is(err, sqldb.ErrNoRows) {
			return ErrNoSession
		} else if err != nil {
			return err
		}
		if now.After(expires) || now.Sub(lastSeen) > IdleTimeout {
			ended = true
			_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, h)
			return err
		}
		// Writing on every request would make each page a write; a minute's
		// slack on a thirty-minute idle limit is harmless.
		if now.Sub(lastSeen) > time.Minute {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1`, h, now); err != nil {
				return err
			}
		}
		sess.Token, sess.Expires = token, expires
		sess.Principal, err = loadPrincipal(ctx, tx, *tenant, staffID)
		return err
	})
	if ended || errors.Is(err, ErrNoSession) || errors.Is(err, errInactive) {
		return Session{}, ErrNoSession
	}
	return sess, err
}

// Logout deletes the session server-side, so a copied cookie is worthless.
func (s *Service) Logout(ctx context.Context, token string) error {
	h := Hash(token)
	var tenant *int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT koto_session_tenant($1)`, h).Scan(&tenant)
	}); err != nil || tenant == nil {
		return err
	}
	return s.db.InTenant(ctx, *tenant, func(tx sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, h)
		return err
	})
}
