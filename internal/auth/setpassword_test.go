package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

// issueLink makes a password link for the fixture's expert, valid for d
// on the fixture's clock.
func (e *env) issueLink(t *testing.T, d time.Duration) string {
	t.Helper()
	var token string
	err := e.db.InTenant(e.ctx, e.tenant, func(tx sqldb.Tx) error {
		var err error
		token, err = auth.IssuePasswordLink(e.ctx, tx, e.tenant, e.staffID, e.clock.Now().Add(d))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func TestPasswordLinkSetsThePasswordOnceAndEndsOtherSessions(t *testing.T) {
	e := newEnv(t)
	elsewhere := e.login(t)
	token := e.issueLink(t, time.Hour)

	link, err := e.svc.OpenPasswordLink(e.ctx, token)
	if err != nil || link.StaffID != e.staffID || link.Email != e.email || link.Locale != "en" || link.Tenant != e.tenant {
		t.Fatalf("open: %+v %v", link, err)
	}
	sess, err := e.svc.SetPasswordByLink(e.ctx, token, "a brand new password", "")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Principal.StaffID != e.staffID || e.sessionRows(t, sess.Token) != 1 {
		t.Fatalf("no new session: %+v", sess)
	}
	if e.sessionRows(t, elsewhere.Token) != 0 {
		t.Error("the session opened with the old password survived the change")
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, testPassword, "c1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("old password: %v", err)
	}
	if _, err := e.svc.Authenticate(e.ctx, e.email, "a brand new password", "c1"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := e.svc.SetPasswordByLink(e.ctx, token, "yet another password", ""); !errors.Is(err, auth.ErrLinkUsed) {
		t.Errorf("second use: %v, want ErrLinkUsed", err)
	}
	if _, err := e.svc.OpenPasswordLink(e.ctx, token); !errors.Is(err, auth.ErrLinkUsed) {
		t.Errorf("open after use: %v, want ErrLinkUsed", err)
	}
	var logged int
	if err := e.owner.QueryRow(e.ctx, `SELECT count(*) FROM access_log WHERE staff_id = $1 AND subject_kind = 'staff'
		AND subject_id = $1 AND action = 'update' AND purpose = $2`, e.staffID, auth.PurposePassword).Scan(&logged); err != nil || logged != 1 {
		t.Errorf("access log rows for the change: %d %v", logged, err)
	}
}

func TestPasswordLinkRefusals(t *testing.T) {
	e := newEnv(t)
	expired := e.issueLink(t, time.Hour)
	e.clock.Add(time.Hour)
	if _, err := e.svc.SetPasswordByLink(e.ctx, expired, "a brand new password", ""); !errors.Is(err, auth.ErrLinkExpired) {
		t.Errorf("expired: %v", err)
	}

	first := e.issueLink(t, time.Hour)
	second := e.issueLink(t, time.Hour)
	if _, err := e.svc.OpenPasswordLink(e.ctx, first); !errors.Is(err, auth.ErrLinkUnknown) {
		t.Errorf("a link replaced by a newer one: %v, want ErrLinkUnknown", err)
	}
	for _, bogus := range []string{"", "no-such-link", auth.NewToken() + auth.NewToken() + auth.NewToken() + auth.NewToken()} {
		if _, err := e.svc.SetPasswordByLink(e.ctx, bogus, "a brand new password", ""); !errors.Is(err, auth.ErrLinkUnknown) {
			t.Errorf("%q: %v, want ErrLinkUnknown", bogus, err)
		}
	}
	if _, err := e.owner.Exec(e.ctx, `UPDATE staff SET active = false WHERE id = $1`, e.staffID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPasswordByLink(e.ctx, second, "a brand new password", ""); !errors.Is(err, auth.ErrLinkUnknown) {
		t.Errorf("switched-off account: %v, want ErrLinkUnknown", err)
	}
	var unused bool
	if err := e.owner.QueryRow(e.ctx, `SELECT used_at IS NULL FROM password_links WHERE id_hash = $1`, auth.Hash(second)).Scan(&unused); err != nil || !unused {
		t.Errorf("a refused link was used up: %v", err)
	}
}

// Two submissions of one link at once (a double click, or the link in two
// hands): exactly one sets the password. The test holds the link's row
// until both are waiting on it, so the two really meet.
func TestPasswordLinkWorksOnceUnderRace(t *testing.T) {
	e := newEnv(t)
	token := e.issueLink(t, time.Hour)
	hold, err := e.owner.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(e.ctx)
	if _, err := hold.Exec(e.ctx, `SELECT 1 FROM password_links WHERE id_hash = $1 FOR UPDATE`, auth.Hash(token)); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, pw := range []string{"first racing password", "second racing password"} {
		go func() {
			_, err := e.svc.SetPasswordByLink(e.ctx, token, pw, "")
			errs <- err
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for waiting := 0; waiting < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 submissions reached the link's lock", waiting)
		}
		time.Sleep(50 * time.Millisecond)
		// The count runs inside the holding transaction, where PostgreSQL
		// keeps the list of backends it read first: a connection the pool
		// opened after that would never be seen waiting. Read it afresh.
		if _, err := e.owner.Exec(e.ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		if err := e.owner.QueryRow(e.ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND usename = 'koto_app' AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if err := hold.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	var ok, used int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, auth.ErrLinkUsed):
			used++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 || used != 1 {
		t.Errorf("%d succeeded and %d were told the link was used, want 1 and 1", ok, used)
	}
}
