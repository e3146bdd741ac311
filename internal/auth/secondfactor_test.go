package auth_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
)

// codeAt is what an authenticator app shows at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// fixClock stops the clock 15 seconds into a 30-second step (of today:
// the database judges a session's expiry by its own clock).
func (e *env) fixClock() time.Time {
	at := time.Now().Truncate(30 * time.Second).Add(15 * time.Second)
	e.clock.mu.Lock()
	e.clock.t = at
	e.clock.mu.Unlock()
	return at
}

// accessLog lists "action/purpose/result" of the account's access-log rows
// with the address they name, oldest first.
func (e *env) accessLog(t *testing.T, staffID int64) []string {
	t.Helper()
	rows, err := e.owner.Query(e.ctx, `SELECT action || '/' || purpose || '/' || result || coalesce(' from ' || host(client_addr), '')
		FROM access_log WHERE staff_id = $1 ORDER BY id`, staffID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// enrolTOTP sets up an authenticator app for the fixture's expert and
// returns its secret and the recovery codes.
func (e *env) enrolTOTP(t *testing.T) (string, []string) {
	t.Helper()
	sess := e.login(t)
	setup, err := e.svc.BeginTOTP(e.ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.ConfirmTOTP(e.ctx, sess, codeAt(t, setup.Secret, e.clock.Now()))
	if err != nil {
		t.Fatalf("confirm with the current code: %v", err)
	}
	return setup.Secret, out.RecoveryCodes
}

func TestTOTPSetupNeedsACurrentCode(t *testing.T) {
	e := newEnv(t)
	now := e.fixClock()
	sess := e.login(t)
	setup, err := e.svc.BeginTOTP(e.ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(setup.URL, "otpauth://totp/") || !strings.Contains(setup.URL, "secret="+setup.Secret) {
		t.Errorf("key URI %q", setup.URL)
	}
	again, err := e.svc.BeginTOTP(e.ctx, sess)
	if err != nil || again.Secret != setup.Secret {
		t.Errorf("a reload gave secret %q (%v), want the same one until confirmed", again.Secret, err)
	}
	for name, code := range map[string]string{
		"two steps old":   codeAt(t, setup.Secret, now.Add(-60*time.Second)),
		"two steps ahead": codeAt(t, setup.Secret, now.Add(60*time.Second)),
		"not digits":      "abcdef",
		"too short":       "12345",
	} {
		if _, err := e.svc.ConfirmTOTP(e.ctx, sess, code); !errors.Is(err, auth.ErrBadCode) {
			t.Errorf("%s: %v, want ErrBadCode", name, err)
		}
	}
	out, err := e.svc.ConfirmTOTP(e.ctx, sess, codeAt(t, setup.Secret, now.Add(-30*time.Second)))
	if err != nil {
		t.Fatalf("a code one step old (a phone's clock a little behind): %v", err)
	}
	if len(out.RecoveryCodes) != auth.RecoveryCodeCount || out.Session != nil {
		t.Errorf("first factor gave %d recovery codes and session %v", len(out.RecoveryCodes), out.Session)
	}
	if _, err := e.svc.BeginTOTP(e.ctx, sess); !errors.Is(err, auth.ErrFactorExists) {
		t.Errorf("a second app: %v, want ErrFactorExists", err)
	}
}

func TestTOTPSignInWithFixedClock(t *testing.T) {
	e := newEnv(t)
	now := e.fixClock()
	secret, _ := e.enrolTOTP(t)
	ctx := audit.WithClientAddr(e.ctx, netip.MustParseAddr("192.0.2.7"))

	pending := e.login(t)
	if pending.Stage != auth.StageVerify {
		t.Fatalf("sign-in with an app set up: stage %q, want verify", pending.Stage)
	}
	if _, err := e.svc.Session(e.ctx, pending.Token); err != nil {
		t.Fatalf("the half-way session is not found: %v", err)
	}

	// The code used at enrolment is spent: the same step never counts again.
	if _, err := e.svc.VerifyTOTP(ctx, pending, codeAt(t, secret, now), "c1"); !errors.Is(err, auth.ErrBadCode) {
		t.Errorf("reused code: %v, want ErrBadCode", err)
	}
	// A code from outside the window (three steps ahead) is refused.
	e.clock.Add(30 * time.Second)
	if _, err := e.svc.VerifyTOTP(ctx, pending, codeAt(t, secret, now.Add(120*time.Second)), "c1"); !errors.Is(err, auth.ErrBadCode) {
		t.Errorf("code from the wrong window: %v, want ErrBadCode", err)
	}
	full, err := e.svc.VerifyTOTP(ctx, pending, codeAt(t, secret, e.clock.Now()), "c1")
	if err != nil {
		t.Fatalf("valid code: %v", err)
	}
	if full.Stage != auth.StageFull || full.Token == pending.Token {
		t.Errorf("after the code: stage %q, same token %v; want a new, full session", full.Stage, full.Token == pending.Token)
	}
	if n := e.sessionRows(t, pending.Token); n != 0 {
		t.Errorf("the half-way session is still stored (%d rows)", n)
	}
	// The full session's code cannot sign in a second browser.
	other := e.login(t)
	if _, err := e.svc.VerifyTOTP(ctx, other, codeAt(t, secret, e.clock.Now()), "c1"); !errors.Is(err, auth.ErrBadCode) {
		t.Errorf("the same code in another sign-in: %v, want ErrBadCode", err)
	}
	// A half-way session cannot do what a full one does.
	if _, err := e.svc.Account(e.ctx, other); !errors.Is(err, auth.ErrForbidden) {
		t.Errorf("account page with a half-way session: %v, want ErrForbidden", err)
	}

	want := []string{"create/totp/ok", "signin/totp/denied from 192.0.2.7", "signin/totp/denied from 192.0.2.7",
		"signin/totp/ok from 192.0.2.7", "signin/totp/denied from 192.0.2.7"}
	got := e.accessLog(t, e.staffID)
	// The first sign-in (password, no factor yet) precedes them.
	if len(got) < 1 || got[0] != "signin/password/ok" || strings.Join(got[1:], ",") != strings.Join(want, ",") {
		t.Errorf("access log:\n%s\nwant signin/password/ok then\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRecoveryCodesWorkOnce(t *testing.T) {
	e := newEnv(t)
	e.fixClock()
	_, codes := e.enrolTOTP(t)
	pending := e.login(t)
	typed := strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))
	full, err := e.svc.VerifyRecoveryCode(e.ctx, pending, typed, "c1")
	if err != nil || full.Stage != auth.StageFull {
		t.Fatalf("recovery code as typed %q: %v, stage %q", typed, err, full.Stage)
	}
	again := e.login(t)
	if _, err := e.svc.VerifyRecoveryCode(e.ctx, again, codes[3], "c1"); !errors.Is(err, auth.ErrBadCode) {
		t.Errorf("the same recovery code again: %v, want ErrBadCode", err)
	}
	acct, err := e.svc.Account(e.ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if acct.RecoveryCodesLeft != auth.RecoveryCodeCount-1 || !acct.TOTP {
		t.Errorf("account: %d codes left, app %v", acct.RecoveryCodesLeft, acct.TOTP)
	}
	fresh, err := e.svc.NewRecoveryCodes(e.ctx, full)
	if err != nil || len(fresh) != auth.RecoveryCodeCount {
		t.Fatalf("new codes: %d, %v", len(fresh), err)
	}
	if _, err := e.svc.VerifyRecoveryCode(e.ctx, again, codes[4], "c1"); !errors.Is(err, auth.ErrBadCode) {
		t.Errorf("an old code after new ones were made: %v, want ErrBadCode", err)
	}
}

// Guessing codes slows down like guessing passwords.
func TestSecondFactorGuessesAreThrottled(t *testing.T) {
	e := newEnv(t)
	e.fixClock()
	e.enrolTOTP(t)
	pending := e.login(t)
	var err error
	for i := 0; i < 8 && !errors.Is(err, auth.ErrThrottled); i++ {
		_, err = e.svc.VerifyTOTP(e.ctx, pending, "000000", "guesser")
	}
	if !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("eight wrong codes: %v, want ErrThrottled", err)
	}
}

func TestRequiredSecondFactorIsEnrolledAtSignIn(t *testing.T) {
	e := newEnv(t)
	e.fixClock()
	if _, err := e.owner.Exec(e.ctx, `INSERT INTO signin_settings (municipality_id, second_factor_required) VALUES ($1, true)`, e.tenant); err != nil {
		t.Fatal(err)
	}
	pending := e.login(t)
	if pending.Stage != auth.StageEnrol {
		t.Fatalf("stage %q, want enrol", pending.Stage)
	}
	setup, err := e.svc.BeginTOTP(e.ctx, pending)
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.svc.ConfirmTOTP(e.ctx, pending, codeAt(t, setup.Secret, e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if out.Session == nil || out.Session.Stage != auth.StageFull || len(out.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("enrolment gave session %+v and %d codes", out.Session, len(out.RecoveryCodes))
	}
	if err := e.svc.RemoveTOTP(e.ctx, *out.Session); !errors.Is(err, auth.ErrLastFactor) {
		t.Errorf("removing the only factor while required: %v, want ErrLastFactor", err)
	}
	if _, err := e.owner.Exec(e.ctx, `UPDATE signin_settings SET second_factor_required = false`); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RemoveTOTP(e.ctx, *out.Session); err != nil {
		t.Fatalf("removing it when not required: %v", err)
	}
	if next := e.login(t); next.Stage != auth.StageFull {
		t.Errorf("after removal: stage %q, want full", next.Stage)
	}
	if acct, _ := e.svc.Account(e.ctx, *out.Session); acct.RecoveryCodesLeft != 0 {
		t.Errorf("%d recovery codes outlived the last factor", acct.RecoveryCodesLeft)
	}
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	here, elsewhere := e.login(t), e.login(t)
	if err := e.svc.ChangePassword(e.ctx, here, "wrong password!", "a brand new password", "c1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("wrong current password: %v", err)
	}
	if e.sessionRows(t, elsewhere.Token) != 1 {
		t.Fatal("a refused change ended a session")
	}
	if err := e.svc.ChangePassword(e.ctx, here, testPassword, "a brand new password", "c1"); err != nil {
		t.Fatal(err)
	}
	if e.sessionRows(t, elsewhere.Token) != 0 || e.sessionRows(t, here.Token) != 1 {
		t.Error("want the other session ended and this one kept")
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, "a brand new password", "c1"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if err := e.svc.EndOtherSessions(context.Background(), here); err != nil {
		t.Fatal(err)
	}
	log := strings.Join(e.accessLog(t, e.staffID), ",")
	for _, want := range []string{"signin/password/denied", "update/password/ok", "delete/sessions/ok"} {
		if !strings.Contains(log, want) {
			t.Errorf("access log %s lacks %s", log, want)
		}
	}
}
