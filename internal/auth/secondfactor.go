package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Access-log purposes of sign-in and of the second factor.
const (
	PurposeProvider     = "oidc"
	PurposeTOTP         = "totp"
	PurposeWebAuthn     = "webauthn"
	PurposeRecoveryCode = "recovery_code"
	PurposeSessions     = "sessions"
	PurposeLanguage     = "language"
)

// Errors of the second factor.
var (
	ErrBadCode           = errors.New("auth: wrong, expired or used code")
	ErrNoPendingFactor   = errors.New("auth: no authenticator app is being set up")
	ErrFactorExists      = errors.New("auth: an authenticator app is already in use")
	ErrLastFactor        = errors.New("auth: the last second factor cannot be removed while one is required")
	ErrPasswordSigninOff = errors.New("auth: the municipality signs in through its provider")
	ErrNoPassword        = errors.New("auth: the account signs in through the provider")
	ErrNoFactor          = errors.New("auth: the account has no second factor")
)

// TOTP as every authenticator app understands it: six digits, thirty
// seconds, SHA-1 (RFC 6238's defaults).
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpSkew is how many steps either side of now a code may come from: a
// phone's clock a little off, or a code typed as it turned.
const totpSkew = 1

// RecoveryCodeCount codes are handed out at once; each works once.
const RecoveryCodeCount = 10

// secondFactorRule throttles second-factor codes of one account: six
// digits are guessed in a million tries, so after five the waits grow.
var secondFactorRule = throttleRule{free: 5, max: 15 * time.Minute, cleared: true}

// signinStage decides where a new session of st starts: full, or waiting
// for a second factor to be given or set up.
func signinStage(ctx context.Context, tx sqldb.Tx, st Staff) (string, error) {
	if st.Provider {
		return StageFull, nil
	}
	var hasFactor, required bool
	err := tx.QueryRow(ctx, `SELECT
		EXISTS (SELECT FROM totp_factors WHERE staff_id = $1 AND confirmed_at IS NOT NULL)
		  OR EXISTS (SELECT FROM webauthn_credentials WHERE staff_id = $1),
		coalesce((SELECT second_factor_required FROM signin_settings), false)
		  AND EXISTS (SELECT FROM staff_roles WHERE staff_id = $1)`, st.ID).Scan(&hasFactor, &required)
	switch {
	case err != nil:
		return "", err
	case hasFactor:
		return StageVerify, nil
	case required:
		return StageEnrol, nil
	}
	return StageFull, nil
}

// logSignin records a sign-in step of an account in the access log.
func logSignin(ctx context.Context, tx sqldb.Tx, tenant, staffID int64, purpose, result string) error {
	return audit.Write(ctx, tx, audit.Entry{Tenant: tenant, StaffID: staffID, SubjectKind: "staff", SubjectID: staffID,
		Action: audit.ActionSignIn, Purpose: purpose, Result: result})
}

// logFailure records a refused sign-in step in a transaction of its own
// (the step's own transaction, if any, rolled back). Failing to write it
// must not turn a refusal into a different answer, so its error is dropped.
func (s *Service) logFailure(ctx context.Context, st Staff, purpose string) {
	_ = s.db.InTenant(ctx, st.Tenant, func(tx sqldb.Tx) error {
		return logSignin(ctx, tx, st.Tenant, st.ID, purpose, audit.ResultDenied)
	})
}

// TOTPSetup is an authenticator app being set up: its secret, to type in,
// and the otpauth:// address a QR code carries.
type TOTPSetup struct {
	Secret, URL string
}

// BeginTOTP gives the account an authenticator-app secret to confirm. The
// same secret comes back until it is confirmed, so reloading the page does
// not break a phone that already scanned it. An account has one app.
func (s *Service) BeginTOTP(ctx context.Context, sess Session) (TOTPSetup, error) {
	p := sess.Principal
	var setup TOTPSetup
	err := s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull || sess.Stage == StageEnrol); err != nil {
			return err
		}
		var secret string
		var confirmed *time.Time
		err := tx.QueryRow(ctx, `SELECT secret, confirmed_at FROM totp_factors WHERE staff_id = $1`, p.StaffID).Scan(&secret, &confirmed)
		switch {
		case err == nil && confirmed != nil:
			return ErrFactorExists
		case err == nil:
		case errors.Is(err, sqldb.ErrNoRows):
			key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: p.Email, Period: totpOpts.Period,
				Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm, SecretSize: 20})
			if err != nil {
				return err
			}
			secret = key.Secret()
			if _, err := tx.Exec(ctx, `INSERT INTO totp_factors (staff_id, municipality_id, secret) VALUES ($1, $2, $3)`,
				p.StaffID, p.Tenant, secret); err != nil {
				return err
			}
		default:
			return err
		}
		setup = TOTPSetup{Secret: secret, URL: totpURL(secret, p.Email)}
		return nil
	})
	return setup, err
}

// totpURL is the key-uri an authenticator app reads from a QR code.
func totpURL(secret, account string) string {
	q := url.Values{"secret": {secret}, "issuer": {totpIssuer}, "period": {"30"}, "digits": {"6"}, "algorithm": {"SHA1"}}
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + account, RawQuery: q.Encode()}
	return u.String()
}

// totpIssuer is the name the app lists the account under.
const totpIssuer = "Koto Portal"

// Enrolled is what setting up a second factor gives: recovery codes when
// the account had none (shown once), and a full session when the sign-in
// was waiting for this.
type Enrolled struct {
	RecoveryCodes []string
	Session       *Session
}

// ConfirmTOTP turns the app on once a code from it is right.
func (s *Service) ConfirmTOTP(ctx context.Context, sess Session, code string) (Enrolled, error) {
	p := sess.Principal
	var out Enrolled
	err := s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull || sess.Stage == StageEnrol); err != nil {
			return err
		}
		var secret string
		var confirmed *time.Time
		err := tx.QueryRow(ctx, `SELECT secret, confirmed_at FROM totp_factors WHERE staff_id = $1 FOR UPDATE`, p.StaffID).Scan(&secret, &confirmed)
		switch {
		case errors.Is(err, sqldb.ErrNoRows):
			return ErrNoPendingFactor
		case err != nil:
			return err
		case confirmed != nil:
			return ErrFactorExists
		}
		step, ok := s.totpStep(secret, code, 0)
		if !ok {
			return ErrBadCode
		}
		if _, err := tx.Exec(ctx, `UPDATE totp_factors SET confirmed_at = $2, last_step = $3 WHERE staff_id = $1`, p.StaffID, s.now(), step); err != nil {
			return err
		}
		out.RecoveryCodes, err = firstRecoveryCodes(ctx, tx, p)
		if err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionCreate, PurposeTOTP)
	})
	if err != nil {
		return Enrolled{}, err
	}
	return s.finishEnrolment(ctx, sess, out, PurposeTOTP)
}

// finishEnrolment completes a sign-in that waited for a factor to be set
// up: the half-way session gives way to a full one, with a new id.
func (s *Service) finishEnrolment(ctx context.Context, sess Session, out Enrolled, purpose string) (Enrolled, error) {
	if sess.Stage != StageEnrol {
		return out, nil
	}
	full, err := s.startSession(ctx, Staff{ID: sess.Principal.StaffID, Tenant: sess.Principal.Tenant, Browser: sess.Browser}, sess.Token, StageFull, purpose)
	if err != nil {
		return Enrolled{}, err
	}
	out.Session = &full
	return out, nil
}

func logOwnChange(ctx context.Context, tx sqldb.Tx, p Principal, action, purpose string) error {
	return audit.Write(ctx, tx, p.Audit("staff", p.StaffID, action, purpose, audit.ResultOK))
}

// totpStep finds the time step whose code is code, within the skew and
// after last (a step already used never counts again).
func (s *Service) totpStep(secret, code string, last int64) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	period := int64(totpOpts.Period)
	now := s.now().Unix() / period
	for step := now - totpSkew; step <= now+totpSkew; step++ {
		if step <= last {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*period, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// firstRecoveryCodes makes recovery codes when the account has no unused
// one left: the first factor set up comes with them.
func firstRecoveryCodes(ctx context.Context, tx sqldb.Tx, p Principal) ([]string, error) {
	var left int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE staff_id = $1 AND used_at IS NULL`, p.StaffID).Scan(&left); err != nil {
		return nil, err
	}
	if left > 0 {
		return nil, nil
	}
	return replaceRecoveryCodes(ctx, tx, p)
}

// recoveryEncoding writes codes in lower-case letters and digits 2–7,
// which are hard to mistake for one another.
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func replaceRecoveryCodes(ctx context.Context, tx sqldb.Tx, p Principal) ([]string, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE staff_id = $1`, p.StaffID); err != nil {
		return nil, err
	}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 10) // 80 bits
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		c := recoveryEncoding.EncodeToString(b)
		codes[i] = c[:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:]
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (code_hash, municipality_id, staff_id) VALUES ($1, $2, $3)`,
			Hash(normalRecoveryCode(codes[i])), p.Tenant, p.StaffID); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// normalRecoveryCode forgives case, spaces and dashes as typed.
func normalRecoveryCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
}

// NewRecoveryCodes replaces the account's recovery codes; the old ones stop
// working.
func (s *Service) NewRecoveryCodes(ctx context.Context, sess Session) ([]string, error) {
	p := sess.Principal
	var codes []string
	err := s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull); err != nil {
			return err
		}
		// Codes stand in for a factor: without one they would be a
		// second password.
		stage, err := signinStage(ctx, tx, Staff{ID: p.StaffID, Tenant: p.Tenant})
		if err != nil {
			return err
		}
		if stage != StageVerify {
			return ErrNoFactor
		}
		if codes, err = replaceRecoveryCodes(ctx, tx, p); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionCreate, PurposeRecoveryCode)
	})
	return codes, err
}

// RemoveTOTP switches the authenticator app off. Where the municipality
// requires a second factor, the last one cannot go.
func (s *Service) RemoveTOTP(ctx context.Context, sess Session) error {
	p := sess.Principal
	return s.db.InTenant(ctx, p.Tenant, func(tx sqldb.Tx) error {
		if err := Authorize(ctx, tx, p, sess.Stage == StageFull); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM totp_factors WHERE staff_id = $1`, p.StaffID)
		if err != nil || n.RowsAffected() == 0 {
			return err
		}
		if err := keepRequiredFactor(ctx, tx, p); err != nil {
			return err
		}
		return logOwnChange(ctx, tx, p, audit.ActionDelete, PurposeTOTP)
	})
}

// keepRequiredFactor refuses a removal that left the account without a
// second factor its municipality requires. With no factor left at all,
// the recovery codes go too: they recover a factor that no longer exists.
func keepRequiredFactor(ctx context.Context, tx sqldb.Tx, p Principal) error {
	stage, err := signinStage(ctx, tx, Staff{ID: p.StaffID, Tenant: p.Tenant})
	switch {
	case err != nil:
		return err
	case stage == StageEnrol:
		return ErrLastFactor
	case stage == StageFull:
		_, err = tx.Exec(ctx, `DELETE FROM recovery_codes WHERE staff_id = $1`, p.StaffID)
	}
	return err
}

// VerifyTOTP completes a half-way sign-in with a code from the app.
func (s *Service) VerifyTOTP(ctx context.Context, pending Session, code, clientKey string) (Session, error) {
	return s.verify(ctx, pending, clientKey, PurposeTOTP, func(tx sqldb.Tx) error {
		var secret string
		var last int64
		err := tx.QueryRow(ctx, `SELECT secret, last_step FROM totp_factors WHERE staff_id = $1 AND confirmed_at IS NOT NULL FOR UPDATE`,
			pending.Principal.StaffID).Scan(&secret, &last)
		if errors.Is(err, sqldb.ErrNoRows) {
			return ErrBadCode
		} else if err != nil {
			return err
		}
		step, ok := s.totpStep(secret, code, last)
		if !ok {
			return ErrBadCode
		}
		_, err = tx.Exec(ctx, `UPDATE totp_factors SET last_step = $2 WHERE staff_id = $1`, pending.Principal.StaffID, step)
		return err
	})
}

// VerifyRecoveryCode completes a half-way sign-in with a recovery code,
// which is then used up.
func (s *Service) VerifyRecoveryCode(ctx context.Context, pending Session, code, clientKey string) (Session, error) {
	return s.verify(ctx, pending, clientKey, PurposeRecoveryCode, func(tx sqldb.Tx) error {
		n, err := tx.Exec(ctx, `UPDATE recovery_codes SET used_at = $3 WHERE code_hash = $1 AND staff_id = $2 AND used_at IS NULL`,
			Hash(normalRecoveryCode(code)), pending.Principal.StaffID, s.now())
		if err != nil {
			return err
		}
		if n.RowsAffected() != 1 {
			return ErrBadCode
		}
		return nil
	})
}

// verify runs one second-factor check of a half-way session under the
// account's throttle and, when check passes, replaces the session with a
// full one. Success and failure both go to the access log.
func (s *Service) verify(ctx context.Context, pending Session, clientKey, purpose string, check func(tx sqldb.Tx) error) (Session, error) {
	p := pending.Principal
	if pending.Stage != StageVerify || p.StaffID == 0 {
		return Session{}, ErrNoSession
	}
	account := fmt.Sprintf("2fa:%d", p.StaffID)
	keys := []throttleKey{{account, secondFactorRule}, {account + ":" + clientKey, secondFactorRule}}
	if err := s.countAttempt(ctx, keys); err != nil {
		return Session{}, err
	}
	err := s.db.InTenant(ctx, p.Tenant, check)
	if errors.Is(err, ErrBadCode) || errors.Is(err, ErrBadPasskey) {
		s.logFailure(ctx, Staff{ID: p.StaffID, Tenant: p.Tenant}, purpose)
		return Session{}, err
	} else if err != nil {
		return Session{}, err
	}
	if err := s.forgive(ctx, keys); err != nil {
		return Session{}, err
	}
	return s.startSession(ctx, Staff{ID: p.StaffID, Tenant: p.Tenant, Browser: pending.Browser}, pending.Token, StageFull, purpose)
}

// ClearFactors removes every second factor of staff member staffID (the
// authenticator app, passkeys and recovery codes) and ends their sessions,
// in the caller's transaction: an admin's way back in for someone who lost
// the phone or key they sign in with. Where the municipality requires a
// second factor, their next sign-in sets up a new one. It reports whether
// there was anything to remove; when there was not, nothing changes.
func ClearFactors(ctx context.Context, tx sqldb.Tx, staffID int64) (bool, error) {
	var removed int
	err := tx.QueryRow(ctx, `WITH t AS (DELETE FROM totp_factors WHERE staff_id = $1 RETURNING 1),
			w AS (DELETE FROM webauthn_credentials WHERE staff_id = $1 RETURNING 1),
			r AS (DELETE FROM recovery_codes WHERE staff_id = $1 RETURNING 1)
		SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM w) + (SELECT count(*) FROM r)`, staffID).Scan(&removed)
	if err != nil || removed == 0 {
		return false, err
	}
	// A lost phone may still hold a session; the person signs in again.
	_, err = tx.Exec(ctx, `DELETE FROM sessions WHERE staff_id = $1`, staffID)
	return true, err
}
