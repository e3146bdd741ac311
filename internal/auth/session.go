package auth

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Session is a logged-in staff member's session as the web layer sees it.
type Session struct {
	Token     string // the cookie value; only its hash is stored
	CSRF      string
	Principal Principal
	Expires   time.Time
	// Stage is StageFull once sign-in is complete; a session half-way
	// through (StageVerify, StageEnrol) opens only its next step.
	Stage string
	// Browser is the User-Agent the session started with; the full
	// session that follows a half-way one keeps it.
	Browser string
}

// Stages of a session.
const (
	StageFull   = "full"
	StageVerify = "verify" // the password was right; the second factor is next
	StageEnrol  = "enrol"  // the password was right; a second factor must be set up first
)

// PendingTimeout is how long the second step of a sign-in may take.
const PendingTimeout = 10 * time.Minute

// Login starts a new session for st. The id is always new, and any session
// the browser brought (a planted one included) is deleted: an id known
// before login never becomes a logged-in one. A password account with a
// second factor, or one its municipality requires to have one, gets a
// half-way session first; one through the municipality's provider relies
// on the provider's second factor. The sign-in is written to the access
// log.
func (s *Service) Login(ctx context.Context, st Staff, previousToken string) (Session, error) {
	purpose := PurposePassword
	if st.Provider {
		purpose = PurposeProvider
	}
	return s.startSession(ctx, st, previousToken, "", purpose)
}

// startSession is Login with the stage decided by the caller ("": by the
// account's factors and the municipality's rule). A session that starts
// full is a sign-in, recorded in the access log under purpose: how the
// person proved who they are last.
func (s *Service) startSession(ctx context.Context, st Staff, previousToken, stage, purpose string) (Session, error) {
	if previousToken != "" {
		_ = s.Logout(ctx, previousToken)
	}
	token, csrf := NewToken(), NewToken()
	now := s.now()
	var sess Session
	err := s.db.InTenant(ctx, st.Tenant, func(tx sqldb.Tx) error {
		var err error
		if stage == "" {
			if stage, err = signinStage(ctx, tx, st); err != nil {
				return err
			}
		}
		expires := now.Add(AbsoluteTimeout)
		if stage != StageFull {
			expires = now.Add(PendingTimeout)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id_hash, municipality_id, staff_id, csrf_token, created_at, last_seen_at, expires_at, stage, user_agent)
			VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8)`, Hash(token), st.Tenant, st.ID, csrf, now, expires, stage, clip(st.Browser, 200)); err != nil {
			return err
		}
		p, err := loadPrincipal(ctx, tx, st.Tenant, st.ID)
		if err != nil {
			return err
		}
		sess = Session{Token: token, CSRF: csrf, Principal: p, Expires: expires, Stage: stage, Browser: clip(st.Browser, 200)}
		if stage == StageFull {
			return logSignin(ctx, tx, st.Tenant, st.ID, purpose, audit.ResultOK)
		}
		return nil
	})
	return sess, err
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
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
		err := tx.QueryRow(ctx, `SELECT staff_id, csrf_token, last_seen_at, expires_at, stage, user_agent FROM sessions WHERE id_hash = $1`, h).
			Scan(&staffID, &sess.CSRF, &lastSeen, &expires, &sess.Stage, &sess.Browser)
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
