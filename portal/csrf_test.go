package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
)

func secCount(t *testing.T, owner *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A logged-in staff member's state-changing requests need their own
// session's token, from their own origin; anything else is refused with 403
// and changes nothing.
func TestStaffPostsNeedTheSessionToken(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	lead, expert := secLogin(t, in, demo.LeadEmail), secLogin(t, in, demo.ExpertEmail)
	if lead.csrf == expert.csrf {
		t.Fatal("two sessions share a CSRF token")
	}
	self := in.URL
	forged := auth.NewToken()

	type attempt struct {
		name    string
		token   string            // the _csrf field; "" leaves it out
		cookies map[string]string // extra cookies for this request
		header  map[string]string
	}
	refused := []attempt{
		{name: "no token"},
		{name: "no token, same origin", header: map[string]string{"Origin": self}},
		{name: "wrong token", token: forged},
		{name: "another session's token", token: expert.csrf},
		{name: "the double-submit cookie instead of the session's", token: forged, cookies: map[string]string{"koto_csrf": forged}},
		{name: "right token from another origin", token: lead.csrf, header: map[string]string{"Origin": "http://evil.example"}},
		// "Origin: null" (no-referrer pages, sandboxed frames) leaves the
		// check to the token, which a forged request does not have.
		{name: "opaque origin, another session's token", token: expert.csrf, header: map[string]string{"Origin": "null"}},
		{name: "right token from another port", token: lead.csrf, header: map[string]string{"Origin": "http://127.0.0.1:1"}},
	}
	send := func(path string, form url.Values, a attempt) *secResponse {
		t.Helper()
		if a.token != "" {
			form.Set("_csrf", a.token)
		}
		saved := map[string]string{}
		for k, v := range a.cookies {
			saved[k] = lead.cookies[k]
			lead.cookies[k] = v
		}
		r := lead.do(http.MethodPost, path, form, a.header)
		for k, v := range saved {
			if v == "" {
				delete(lead.cookies, k)
			} else {
				lead.cookies[k] = v
			}
		}
		return r
	}

	t.Run("logout", func(t *testing.T) {
		for _, a := range refused {
			r := send("/logout", url.Values{}, a)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", a.name, r.Status)
			}
			if n := secSessionCount(t, owner); n != 2 {
				t.Errorf("%s: %d sessions stored, want both still there", a.name, n)
			}
			if !lead.loggedIn() {
				t.Fatalf("%s: the refused logout ended the session", a.name)
			}
		}
	})

	t.Run("new desk", func(t *testing.T) {
		if !lead.loggedIn() {
			t.Fatal("the lead's session ended in an earlier step")
		}
		desks := func() int { return secCount(t, owner, `SELECT count(*) FROM desks`) }
		before := desks()
		for _, a := range refused {
			r := send("/staff/setup/demo/desks", url.Values{"name": {"Desk from " + a.name}}, a)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s: %d, want 403", a.name, r.Status)
			}
			if n := desks(); n != before {
				t.Errorf("%s: %d desks, want %d (nothing added)", a.name, n, before)
			}
		}
		// The same form with the right token from the same origin works.
		r := send("/staff/setup/demo/desks", url.Values{"name": {"Desk 9"}}, attempt{token: lead.csrf, header: map[string]string{"Origin": self}})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("right token, same origin: %d, want 303", r.Status)
		}
		if n := secCount(t, owner, `SELECT count(*) FROM desks d JOIN service_points sp ON sp.id = d.service_point_id
			WHERE sp.slug = 'demo' AND d.name = 'Desk 9'`); n != 1 {
			t.Errorf("the accepted form added %d desks named Desk 9, want 1", n)
		}
		// The token may come in a header instead (for scripts).
		r = send("/staff/setup/demo/desks", url.Values{"name": {"Desk 10"}}, attempt{header: map[string]string{"X-CSRF-Token": lead.csrf}})
		if r.Status != http.StatusSeeOther {
			t.Errorf("right token in X-CSRF-Token: %d, want 303", r.Status)
		}
	})

	t.Run("logout accepted", func(t *testing.T) {
		if !lead.loggedIn() {
			t.Fatal("the lead's session ended in an earlier step")
		}
		r := send("/logout", url.Values{}, attempt{token: lead.csrf, header: map[string]string{"Origin": self}})
		if r.Status != http.StatusSeeOther || r.Location != "/login" {
			t.Fatalf("right token, same origin: %d to %q", r.Status, r.Location)
		}
		if n := secSessionCount(t, owner); n != 1 {
			t.Errorf("%d sessions stored after one of two logged out, want 1", n)
		}
		if !expert.loggedIn() {
			t.Error("logging one session out ended another")
		}
	})
}

// Before login there is no session to hold a token: the login form is
// guarded by a double-submit cookie, which must be present and match.
func TestLoginNeedsTheDoubleSubmitToken(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	token := auth.NewToken()
	other := auth.NewToken()
	creds := func() url.Values {
		return url.Values{"email": {demo.LeadEmail}, "password": {secPassword}, "next": {"/staff"}}
	}
	cases := []struct {
		name          string
		cookie, field string
		origin        string
	}{
		{name: "neither cookie nor field"},
		{name: "cookie only", cookie: token},
		{name: "field only", field: token},
		{name: "cookie and field differ", cookie: token, field: other},
		{name: "matching, from another origin", cookie: token, field: token, origin: "http://evil.example"},
	}
	for _, c := range cases {
		b := newSecBrowser(t, in)
		form := creds()
		if c.cookie != "" {
			b.cookies["koto_csrf"] = c.cookie
		}
		if c.field != "" {
			form.Set("_csrf", c.field)
		}
		var hdr map[string]string
		if c.origin != "" {
			hdr = map[string]string{"Origin": c.origin}
		}
		r := b.do(http.MethodPost, "/login", form, hdr)
		if r.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", c.name, r.Status)
		}
		if r.cookie("koto_session") != nil {
			t.Errorf("%s: a session cookie was set", c.name)
		}
	}
	if n := secSessionCount(t, owner); n != 0 {
		t.Errorf("%d sessions after refused logins, want 0", n)
	}
	if n := secCount(t, owner, `SELECT coalesce(sum(failures), 0) FROM login_throttle`); n != 0 {
		t.Errorf("refused requests reached the password check (%d failures counted)", n)
	}
	// The pair the login page hands out, from the same origin, logs in.
	b := newSecBrowser(t, in)
	field := b.loginForm()
	if b.cookies["koto_csrf"] != field {
		t.Fatalf("the login page's field %q and cookie %q differ", field, b.cookies["koto_csrf"])
	}
	form := creds()
	form.Set("_csrf", field)
	r := b.do(http.MethodPost, "/login", form, map[string]string{"Origin": in.URL})
	if r.Status != http.StatusSeeOther || r.cookie("koto_session") == nil {
		t.Fatalf("login with the page's token: %d, cookie %v", r.Status, r.cookie("koto_session"))
	}
	if n := secSessionCount(t, owner); n != 1 {
		t.Errorf("%d sessions after one login", n)
	}
}

// The sign-in and account forms refuse a request without the session's
// token, or from another origin, and change nothing; so does the second
// step of a sign-in, whose half-way session has a token of its own.
func TestSigninFormsNeedTheSessionToken(t *testing.T) {
	f := &azFixture{}
	in := secStart(t, azSeed(f), secHostName)
	owner := secOwner(t, in)
	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)
	// The lead has an app set up, so its next sign-in stops half-way.
	lead := newSecBrowser(t, in)
	lead.login(demo.LeadEmail)
	enrolTOTPOverHTTP(t, lead, in.URL)
	pending := newSecBrowser(t, in)
	pending.submitLogin(demo.LeadEmail, secPassword)
	pending.csrf = formToken(t, pending.get("/login/verify"))

	routes := []struct {
		b    *secBrowser
		path string
		form url.Values
	}{
		{admin, "/staff/account/password", url.Values{"current": {secPassword}, "password": {"a forged password"}, "password2": {"a forged password"}}},
		{admin, "/staff/account/language", url.Values{"locale": {"sv"}}},
		{admin, "/staff/account/sessions/end-others", url.Values{}},
		{lead, "/staff/account/totp/remove", url.Values{}},
		{lead, "/staff/account/recovery-codes", url.Values{}},
		{admin, "/staff/account/factors/totp", url.Values{"code": {"123456"}}},
		{admin, "/staff/account/factors/passkey", url.Values{"name": {"Key"}, "credential": {"{}"}}},
		{admin, "/staff/account/passkeys/" + azID(f.personPasskey) + "/remove", url.Values{}},
		{admin, "/staff/signin-settings", url.Values{"second_factor_required": {"1"}, "password_signin": {"1"}, "groups_claim": {"groups"}}},
		{admin, "/staff/people/" + azID(f.person) + "/reset-link", url.Values{}},
		{admin, "/staff/people/" + azID(f.person) + "/clear-factors", url.Values{}},
		{admin, "/staff/message-templates", url.Values{"name": {"Forged"}, "text_fi": {"Hei"}}},
		{admin, "/staff/campaigns", url.Values{"service_point": {azID(f.demoSP)}, "template": {azID(f.template)}}},
		{admin, "/staff/campaigns/" + azID(f.campaigns[azAdmin]) + "/cancel", url.Values{}},
		{admin, "/staff/clients/" + azID(f.client) + "/messages", url.Values{"text": {"Forged"}}},
		{admin, "/staff/clients/" + azID(f.client) + "/messages/" + azID(f.messages[azAdmin]) + "/cancel", url.Values{}},
		{pending, "/login/verify/totp", url.Values{"code": {"123456"}}},
		{pending, "/login/verify/recovery", url.Values{"recovery": {"aaaa-bbbb-cccc-dddd"}}},
		{pending, "/login/verify/passkey", url.Values{"credential": {"{}"}}},
	}
	for _, rt := range routes {
		for name, a := range map[string]struct {
			token  string
			origin string
		}{
			"no token":                        {origin: in.URL},
			"another session's token":         {token: lead.csrf, origin: in.URL},
			"right token from another origin": {token: rt.b.csrf, origin: "http://evil.example"},
		} {
			if rt.b == lead && a.token == lead.csrf {
				a.token = admin.csrf
			}
			form := url.Values{}
			for k, v := range rt.form {
				form[k] = v
			}
			if a.token != "" {
				form.Set("_csrf", a.token)
			}
			before := azSnapshot(t, owner)
			r := rt.b.do(http.MethodPost, rt.path, form, map[string]string{"Origin": a.origin})
			if r.Status != http.StatusForbidden {
				t.Errorf("POST %s, %s: %d, want 403", rt.path, name, r.Status)
			}
			if changed := azUnchanged(t, owner, before, azSnapshot(t, owner)); len(changed) > 0 {
				t.Errorf("POST %s, %s: refused but changed %v", rt.path, name, changed)
			}
		}
	}
	if !admin.loggedIn() || !lead.loggedIn() {
		t.Error("a refused request ended a session")
	}
}
