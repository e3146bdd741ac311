package portal_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/portal/portaltest"
)

// The helpers below (sec…) are shared by session_test.go, csrf_test.go and
// authz_matrix_test.go: a portal with the demo data, and a scripted browser
// that keeps its cookies by hand so a test can plant, keep or replay any.

// secPassword is every seeded account's password in these tests.
const secPassword = "a long test password"

// secStart starts a portal on a fresh database seeded with the demo.
func secStart(t *testing.T, more ...portaltest.Option) *portaltest.Instance {
	t.Helper()
	opts := append([]portaltest.Option{portaltest.WithSeed(func(t testing.TB, _ *store.DB, ownerURL string) {
		if err := demo.Seed(context.Background(), ownerURL, secPassword); err != nil {
			t.Fatalf("demo seed: %v", err)
		}
	})}, more...)
	return portaltest.Start(t, opts...)
}

// secOwner opens the owner connection of an instance's database, for
// set-up and inspection past row-level security.
func secOwner(t *testing.T, in *portaltest.Instance) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, in.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// secBrowser is one browser: its cookies, and headers it adds to every
// request (say X-Forwarded-Proto behind a TLS proxy).
type secBrowser struct {
	t       *testing.T
	base    string
	client  *http.Client
	cookies map[string]string
	header  http.Header
	csrf    string // the session's CSRF token, once logged in
}

type secResponse struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
	Cookies  []*http.Cookie
}

func newSecBrowser(t *testing.T, in *portaltest.Instance) *secBrowser {
	return &secBrowser{t: t, base: in.URL, cookies: map[string]string{}, header: http.Header{},
		client: &http.Client{
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
}

// secLogin is a new browser logged in as email.
func secLogin(t *testing.T, in *portaltest.Instance, email string) *secBrowser {
	t.Helper()
	b := newSecBrowser(t, in)
	b.login(email)
	return b
}

// cookie returns the Set-Cookie of name in r, or nil.
func (r *secResponse) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// do sends one request with the browser's cookies and takes the cookies
// the answer sets (or clears). hdr adds headers for this request only.
func (b *secBrowser) do(method, path string, form url.Values, hdr map[string]string) *secResponse {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return b.send(req)
}

// send sends req with the browser's cookies and headers (those already
// on req win) and keeps the cookies the answer sets.
func (b *secBrowser) send(req *http.Request) *secResponse {
	b.t.Helper()
	for k, vs := range b.header {
		if req.Header.Get(k) != "" {
			continue
		}
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	for name, value := range b.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	r := &secResponse{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(raw),
		Header: resp.Header, Cookies: resp.Cookies()}
	for _, c := range r.Cookies {
		if c.MaxAge < 0 || c.Value == "" || !c.Expires.IsZero() && c.Expires.Before(time.Now()) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return r
}

func (b *secBrowser) get(path string) *secResponse { return b.do(http.MethodGet, path, nil, nil) }

var (
	secHiddenCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	secMetaCSRF   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
	secAlert      = regexp.MustCompile(`(?s)<p class="notice error" role="alert" id="login-error">(.*?)</p>`)
)

// loginForm opens the login page and returns the token its form carries
// (the double-submit one, also set as a cookie).
func (b *secBrowser) loginForm() string {
	b.t.Helper()
	r := b.get("/login")
	if r.Status != http.StatusOK {
		b.t.Fatalf("GET /login: %d", r.Status)
	}
	m := secHiddenCSRF.FindStringSubmatch(r.Body)
	if m == nil {
		b.t.Fatal("the login page has no _csrf field")
	}
	return html.UnescapeString(m[1])
}

// submitLogin posts the login form as a browser does after loginForm.
func (b *secBrowser) submitLogin(email, password string) *secResponse {
	b.t.Helper()
	token := b.loginForm()
	return b.do(http.MethodPost, "/login", url.Values{"_csrf": {token}, "email": {email}, "password": {password}, "next": {"/staff"}}, nil)
}

// login logs in and reads the session's CSRF token from a staff page.
func (b *secBrowser) login(email string) {
	b.t.Helper()
	r := b.submitLogin(email, secPassword)
	if r.Status != http.StatusSeeOther || r.Location != "/staff" {
		b.t.Fatalf("login as %s: %d to %q", email, r.Status, r.Location)
	}
	b.csrf = b.staffCSRF()
}

// staffCSRF opens the staff home and returns the token its pages carry.
func (b *secBrowser) staffCSRF() string {
	b.t.Helper()
	r := b.get("/staff/")
	if r.Status != http.StatusOK {
		b.t.Fatalf("GET /staff/ after login: %d (location %q)", r.Status, r.Location)
	}
	m := secMetaCSRF.FindStringSubmatch(r.Body)
	if m == nil {
		b.t.Fatal("the staff page has no csrf-token meta")
	}
	return html.UnescapeString(m[1])
}

// loggedIn tells whether the browser's session cookie opens a staff page.
func (b *secBrowser) loggedIn() bool {
	b.t.Helper()
	r := b.get("/staff/")
	switch {
	case r.Status == http.StatusOK:
		return true
	case r.Status == http.StatusSeeOther && strings.HasPrefix(r.Location, "/login"):
		return false
	}
	b.t.Fatalf("GET /staff/: unexpected %d %q", r.Status, r.Location)
	return false
}

func secSessionCount(t *testing.T, owner *pgx.Conn) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A session id set in the browser before login (by an attacker, say) never
// becomes the logged-in session: login sets a new one, and the planted one
// opens nothing, whether it was made up or a real session of someone else.
func TestPlantedSessionDoesNotSurviveLogin(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)

	for _, kind := range []string{"made up", "another person's live session"} {
		t.Run(kind, func(t *testing.T) {
			var planted string
			var attacker *secBrowser
			if kind == "made up" {
				planted = auth.NewToken()
			} else {
				attacker = newSecBrowser(t, in)
				attacker.login(demo.ExpertEmail)
				planted = attacker.cookies["koto_session"]
			}
			victim := newSecBrowser(t, in)
			token := victim.loginForm()
			victim.cookies["koto_session"] = planted // planted after the page load, just before the POST
			if attacker != nil {
				// With a live session in the browser, every page (a login
				// form included) carries that session's token.
				token = attacker.csrf
			}
			r := victim.do(http.MethodPost, "/login", url.Values{"_csrf": {token}, "email": {demo.LeadEmail},
				"password": {secPassword}, "next": {"/staff"}}, nil)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("login: %d", r.Status)
			}
			set := r.cookie("koto_session")
			if set == nil || set.Value == "" {
				t.Fatal("login set no session cookie")
			}
			if set.Value == planted {
				t.Fatal("login kept the planted session id")
			}
			if !victim.loggedIn() {
				t.Fatal("the new session does not work")
			}
			replay := newSecBrowser(t, in)
			replay.cookies["koto_session"] = planted
			if replay.loggedIn() {
				t.Error("the planted id opens a staff page after the victim's login")
			}
			var n int
			if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE id_hash = $1`, auth.Hash(planted)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("the planted session is still stored (%d)", n)
			}
		})
	}
}

// Logout ends the session on the server: the old cookie, replayed, is
// sent to the login page.
func TestLogoutEndsTheSession(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	b := newSecBrowser(t, in)
	b.login(demo.LeadEmail)
	old := b.cookies["koto_session"]
	if secSessionCount(t, owner) != 1 {
		t.Fatalf("%d sessions stored after one login", secSessionCount(t, owner))
	}
	r := b.do(http.MethodPost, "/logout", url.Values{"_csrf": {b.csrf}}, nil)
	if r.Status != http.StatusSeeOther || r.Location != "/login" {
		t.Fatalf("logout: %d to %q", r.Status, r.Location)
	}
	if c := r.cookie("koto_session"); c == nil || c.Value != "" {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	if n := secSessionCount(t, owner); n != 0 {
		t.Errorf("%d sessions stored after logout", n)
	}
	replay := newSecBrowser(t, in)
	replay.cookies["koto_session"] = old
	r = replay.get("/staff/setup")
	if r.Status != http.StatusSeeOther || r.Location != "/login?next="+url.QueryEscape("/staff/setup") {
		t.Errorf("old cookie after logout: %d to %q, want 303 to the login page", r.Status, r.Location)
	}
	r = replay.do(http.MethodPost, "/logout", url.Values{"_csrf": {b.csrf}}, nil)
	if r.Status != http.StatusForbidden {
		// Without a session the old session's token is no double-submit token.
		t.Errorf("POST with the old cookie and old token: %d, want 403", r.Status)
	}
}

// The session cookie: HttpOnly, SameSite=Lax, the whole site; Secure and
// __Host- prefixed behind TLS, plain over http.
func TestSessionCookieAttributes(t *testing.T) {
	in := secStart(t, trustLoopbackProxy)
	check := func(t *testing.T, c *http.Cookie, secure bool) {
		t.Helper()
		if c == nil {
			t.Fatal("no session cookie set")
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != secure {
			t.Errorf("cookie %s: HttpOnly=%v SameSite=%v Path=%q Domain=%q Secure=%v; want HttpOnly, Lax, /, no domain, Secure=%v",
				c.Name, c.HttpOnly, c.SameSite, c.Path, c.Domain, c.Secure, secure)
		}
		if d := time.Until(c.Expires); d > auth.AbsoluteTimeout || d < auth.AbsoluteTimeout-time.Minute {
			t.Errorf("cookie %s expires in %v, want the session's %v", c.Name, d, auth.AbsoluteTimeout)
		}
	}
	t.Run("http", func(t *testing.T) {
		b := newSecBrowser(t, in)
		r := b.submitLogin(demo.LeadEmail, secPassword)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.Status)
		}
		check(t, r.cookie("koto_session"), false)
		if r.cookie("__Host-koto_session") != nil {
			t.Error("__Host- cookie set over plain http")
		}
	})
	t.Run("behind TLS", func(t *testing.T) {
		b := newSecBrowser(t, in)
		b.header.Set("X-Forwarded-Proto", "https")
		r := b.submitLogin(demo.LeadEmail, secPassword)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.Status)
		}
		check(t, r.cookie("__Host-koto_session"), true)
		if r.cookie("koto_session") != nil {
			t.Error("the plain-named cookie was set behind TLS")
		}
		if _, ok := b.cookies["__Host-koto_csrf"]; !ok {
			t.Error("the double-submit cookie is not __Host- behind TLS")
		}
		if !b.loggedIn() {
			t.Error("the __Host- session does not open a staff page")
		}
	})
}

// A failed login says the same, in the page's language, whether the address
// is unknown or the password wrong.
func TestLoginFailureMessage(t *testing.T) {
	in := secStart(t)
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"fi", "en"} {
		t.Run(code, func(t *testing.T) {
			lang, ok := catalog.Lookup(code)
			if !ok {
				t.Fatalf("no language %s", code)
			}
			want := catalog.For(lang).Get("login.failed")
			if want == "" || want == "login.failed" {
				t.Fatalf("no %s text for login.failed", code)
			}
			alert := func(email string) (int, string) {
				b := newSecBrowser(t, in)
				b.get("/login?lang=" + code) // remembered in the lang cookie
				r := b.submitLogin(email, "not the password")
				m := secAlert.FindStringSubmatch(r.Body)
				if m == nil {
					t.Fatalf("%s: %d, no error message on the page", email, r.Status)
				}
				if r.cookie("koto_session") != nil {
					t.Errorf("%s: a failed login set a session cookie", email)
				}
				return r.Status, html.UnescapeString(strings.TrimSpace(m[1]))
			}
			wrongStatus, wrongText := alert(demo.LeadEmail)
			unknownStatus, unknownText := alert("nobody@example.org")
			if wrongText != want {
				t.Errorf("wrong password: %q, want %q", wrongText, want)
			}
			if unknownStatus != wrongStatus || unknownText != wrongText {
				t.Errorf("unknown address: %d %q; wrong password: %d %q; want them the same", unknownStatus, unknownText, wrongStatus, wrongText)
			}
			if wrongStatus != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", wrongStatus)
			}
		})
	}
	fi, _ := catalog.Lookup("fi")
	en, _ := catalog.Lookup("en")
	if catalog.For(fi).Get("login.failed") == catalog.For(en).Get("login.failed") {
		t.Error("the Finnish message is the English one")
	}
}
