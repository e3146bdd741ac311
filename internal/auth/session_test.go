package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
)

func TestLoginStartsAFreshSession(t *testing.T) {
	e := newEnv(t)
	s1, s2 := e.login(t), e.login(t)
	if len(s1.Token) != 43 || len(s1.CSRF) != 43 {
		t.Errorf("token %d and CSRF %d characters, want 43 (256 bits)", len(s1.Token), len(s1.CSRF))
	}
	if s1.Token == s2.Token || s1.CSRF == s2.CSRF || s1.Token == s1.CSRF {
		t.Error("two logins share a token or a CSRF token")
	}
	if !s1.Expires.Equal(e.clock.Now().Add(auth.AbsoluteTimeout)) {
		t.Errorf("expires %v, want login + %v", s1.Expires, auth.AbsoluteTimeout)
	}
	// Only the hash is stored.
	var n int
	if err := e.owner.QueryRow(e.ctx, `SELECT count(*) FROM sessions WHERE id_hash = $1::text::bytea OR csrf_token = $1`, s1.Token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 || e.sessionRows(t, s1.Token) != 1 {
		t.Errorf("the token is stored in the clear (%d) or its hash is missing (%d)", n, e.sessionRows(t, s1.Token))
	}
	got, err := e.svc.Session(e.ctx, s1.Token)
	if err != nil {
		t.Fatal(err)
	}
	if got.Principal.StaffID != e.staffID || got.Principal.Tenant != e.tenant || got.CSRF != s1.CSRF {
		t.Errorf("Session = %+v", got)
	}
	if got.CSRF == s2.CSRF {
		t.Error("two sessions share a CSRF token")
	}
}

// A session the browser brought to the login (planted by someone else, or
// left from before) is deleted; the new id is unrelated to it.
func TestLoginDeletesThePreviousSession(t *testing.T) {
	e := newEnv(t)
	planted := e.login(t) // a real session someone else holds the cookie of
	st, err := e.svc.Authenticate(e.ctx, e.email, e.password, "c")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := e.svc.Login(e.ctx, st, planted.Token)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Token == planted.Token {
		t.Fatal("login kept the planted id")
	}
	if _, err := e.svc.Session(e.ctx, planted.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("the planted session still works after login: %v", err)
	}
	if n := e.sessionRows(t, planted.Token); n != 0 {
		t.Errorf("the planted session's row is still stored (%d)", n)
	}
	if _, err := e.svc.Session(e.ctx, fresh.Token); err != nil {
		t.Errorf("the new session: %v", err)
	}

	// A made-up id never becomes a session either.
	madeUp := auth.NewToken()
	again, err := e.svc.Login(e.ctx, st, madeUp)
	if err != nil {
		t.Fatal(err)
	}
	if again.Token == madeUp {
		t.Fatal("login adopted the made-up id")
	}
	if _, err := e.svc.Session(e.ctx, madeUp); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("made-up id: %v", err)
	}
}

func TestSessionRefusesGarbage(t *testing.T) {
	e := newEnv(t)
	for _, tok := range []string{"", "x", auth.NewToken(), string(make([]byte, 200))} {
		if _, err := e.svc.Session(e.ctx, tok); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("Session(%q…): %v, want ErrNoSession", tok[:min(len(tok), 8)], err)
		}
	}
}

// Thirty minutes without a request end a session: it is refused and its
// row deleted, so no instance brings it back. Twenty-nine minutes do not.
func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t)
	kept, idle := e.login(t), e.login(t)
	e.clock.Add(29 * time.Minute)
	if _, err := e.svc.Session(e.ctx, kept.Token); err != nil {
		t.Fatalf("after 29 idle minutes: %v", err)
	}
	e.clock.Add(2 * time.Minute) // idle: 31 minutes; kept: 2
	if _, err := e.svc.Session(e.ctx, idle.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after 31 idle minutes: %v, want ErrNoSession", err)
	}
	if n := e.sessionRows(t, idle.Token); n != 0 {
		t.Errorf("the idle session's row is still stored (%d rows) after it was refused", n)
	}
	if _, err := e.svc.Session(e.ctx, kept.Token); err != nil {
		t.Errorf("a session used 2 minutes ago: %v", err)
	}
}

// Once one instance has refused an idle session, another whose clock runs
// a little behind must not take it back (and refresh it).
func TestIdleSessionStaysEndedAcrossInstances(t *testing.T) {
	e := newEnv(t)
	s := e.login(t)
	e.clock.Add(auth.IdleTimeout + time.Second)
	if _, err := e.svc.Session(e.ctx, s.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Fatalf("idle for 30 min 1 s: %v, want ErrNoSession", err)
	}
	behind := auth.New(e.db, func() time.Time { return e.clock.Now().Add(-2 * time.Second) })
	if _, err := behind.Session(e.ctx, s.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("an instance 2 s behind revives the ended session: %v", err)
	}
}

// However busy, a session ends twelve hours after login.
func TestSessionAbsoluteTimeout(t *testing.T) {
	e := newEnv(t)
	s := e.login(t)
	start := e.clock.Now()
	var lastGood time.Duration
	for {
		e.clock.Add(20 * time.Minute)
		elapsed := e.clock.Now().Sub(start)
		_, err := e.svc.Session(e.ctx, s.Token)
		if elapsed <= auth.AbsoluteTimeout {
			if err != nil {
				t.Fatalf("used every 20 minutes, refused after %v: %v", elapsed, err)
			}
			lastGood = elapsed
			continue
		}
		if !errors.Is(err, auth.ErrNoSession) {
			t.Fatalf("still valid %v after login: %v", elapsed, err)
		}
		if n := e.sessionRows(t, s.Token); n != 0 {
			t.Errorf("the expired session's row is still stored (%d rows)", n)
		}
		break
	}
	if lastGood != auth.AbsoluteTimeout {
		t.Errorf("last accepted use %v after login, want exactly %v", lastGood, auth.AbsoluteTimeout)
	}
}

func TestLogoutEndsTheSessionServerSide(t *testing.T) {
	e := newEnv(t)
	s, other := e.login(t), e.login(t)
	if err := e.svc.Logout(e.ctx, s.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Session(e.ctx, s.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("after logout: %v, want ErrNoSession", err)
	}
	if n := e.sessionRows(t, s.Token); n != 0 {
		t.Errorf("%d rows left after logout", n)
	}
	if _, err := e.svc.Session(e.ctx, other.Token); err != nil {
		t.Errorf("logout ended another session: %v", err)
	}
	if err := e.svc.Logout(e.ctx, s.Token); err != nil {
		t.Errorf("second logout: %v", err)
	}
}

// Deactivating an account stops its live sessions at the next request.
func TestInactiveAccountLosesItsSession(t *testing.T) {
	e := newEnv(t)
	s := e.login(t)
	if _, err := e.owner.Exec(e.ctx, `UPDATE staff SET active = false WHERE id = $1`, e.staffID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Session(e.ctx, s.Token); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("session of a deactivated account: %v, want ErrNoSession", err)
	}
}

// A session loads who the staff member is and what they hold.
func TestSessionCarriesThePrincipal(t *testing.T) {
	e := newEnv(t)
	lead := e.addStaff(t, "lead@muni.example", testPassword, auth.RoleLead, e.sp2)
	if _, err := e.owner.Exec(e.ctx, `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, 'expert')`,
		e.tenant, lead, e.sp); err != nil {
		t.Fatal(err)
	}
	st, err := e.svc.Authenticate(e.ctx, "lead@muni.example", testPassword, "c")
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.Login(e.ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Session(e.ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Principal
	if p.Email != "lead@muni.example" || p.Locale != "en" || len(p.Languages) != 2 || len(p.Grants) != 2 {
		t.Fatalf("principal %+v", p)
	}
	if !p.CanManage(e.sp2) || p.CanManage(e.sp) || !p.CanWork(e.sp) || !p.CanWork(e.sp2) || p.IsAdmin() {
		t.Errorf("grants %+v give the wrong rights", p.Grants)
	}
}

// TestSweepEndsSessionsWhoseCookieNeverCameBack: a session past its limit
// must end even if nobody asks for it again, because ending it is what
// closes the sockets resting on it; live ones stay.
func TestSweepEndsSessionsWhoseCookieNeverCameBack(t *testing.T) {
	e := newEnv(t)
	idle := e.login(t)
	e.clock.Add(auth.IdleTimeout - time.Minute)
	live := e.login(t)
	e.clock.Add(2 * time.Minute) // idle is now past the limit, live is not
	n, err := e.svc.SweepSessions(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || e.sessionRows(t, idle.Token) != 0 || e.sessionRows(t, live.Token) != 1 {
		t.Fatalf("swept %d; idle session rows %d (want 0), live %d (want 1)", n, e.sessionRows(t, idle.Token), e.sessionRows(t, live.Token))
	}
	// Past the absolute limit even a session in use ends.
	if _, err := e.owner.Exec(e.ctx, `UPDATE sessions SET expires_at = $2 WHERE id_hash = $1`,
		auth.Hash(live.Token), e.clock.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SweepSessions(e.ctx); err != nil {
		t.Fatal(err)
	}
	if e.sessionRows(t, live.Token) != 0 {
		t.Fatal("a session past its absolute limit survived the sweep")
	}
}
