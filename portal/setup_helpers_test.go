package portal_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

// setupPassword is the demo staff's password in these tests.
const setupPassword = "set-up screens test password"

// setupStart starts a portal with the demo municipality and returns an
// owner connection for looking at (and moving) what the portal stored.
func setupStart(t *testing.T) (*portaltest.Instance, *pgx.Conn) {
	t.Helper()
	in := portaltest.Start(t)
	ctx := context.Background()
	if err := demo.Seed(ctx, in.OwnerURL, setupPassword); err != nil {
		t.Fatalf("seed demo: %v", err)
	}
	owner, err := pgx.Connect(ctx, in.OwnerURL)
	if err != nil {
		t.Fatalf("owner connection: %v", err)
	}
	t.Cleanup(func() { _ = owner.Close(context.Background()) })
	return in, owner
}

// setupAgent is a browser without JavaScript: a cookie jar, no automatic
// redirects (the tests check them), and the last CSRF token it saw.
type setupAgent struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string
}

func newSetupAgent(t *testing.T, in *portaltest.Instance) *setupAgent {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &setupAgent{t: t, base: in.URL, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (a *setupAgent) do(req *http.Request) (*http.Response, string) {
	a.t.Helper()
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	body := string(b)
	if m := csrfField.FindStringSubmatch(body); m != nil {
		a.csrf = m[1]
	}
	return resp, body
}

func (a *setupAgent) get(path string) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.base+path, nil)
	return a.do(req)
}

// post sends a form with the agent's CSRF token.
func (a *setupAgent) post(path string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", a.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, a.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

// postRaw sends a body as is, for input no browser would make.
func (a *setupAgent) postRaw(path, body string) (*http.Response, string) {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.base+path, strings.NewReader("_csrf="+url.QueryEscape(a.csrf)+"&"+body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

// login signs in through the login form, as a person would.
func (a *setupAgent) login(email string) {
	a.t.Helper()
	a.loginWith(email, setupPassword)
}

func (a *setupAgent) loginWith(email, password string) {
	a.t.Helper()
	a.get("/login")
	resp, body := a.post("/login", url.Values{"email": {email}, "password": {password}, "next": {"/staff"}})
	if resp.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("login as %s: %d\n%s", email, resp.StatusCode, body)
	}
	// The session has its own token: pick it up from a staff page.
	a.get("/staff")
}

func setupLogin(t *testing.T, in *portaltest.Instance, email string) *setupAgent {
	t.Helper()
	a := newSetupAgent(t, in)
	a.login(email)
	return a
}

func wantStatus(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%.3000s", what, resp.StatusCode, status, body)
	}
}

// wantShown checks that a page shows what was typed, escaped as HTML.
func wantShown(t *testing.T, what, body, typed string) {
	t.Helper()
	if !strings.Contains(body, html.EscapeString(typed)) && !strings.Contains(body, templateEscaped(typed)) {
		t.Errorf("%s: the page does not show what was typed: %q", what, typed)
	}
}

// templateEscaped is how html/template writes an attribute value: it
// escapes a few more characters than html.EscapeString.
func templateEscaped(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func setupCount(t *testing.T, owner *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func setupID(t testing.TB, owner *pgx.Conn, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// otherMunicipality adds a second municipality with a service point, to
// prove one tenant never reaches another's.
func otherMunicipality(t *testing.T, owner *pgx.Conn) (tenant, sp int64) {
	t.Helper()
	tenant = setupID(t, owner, `INSERT INTO municipalities (slug, name) VALUES ('muu', 'Muu kunta') RETURNING id`)
	sp = setupID(t, owner, `INSERT INTO service_points (municipality_id, slug, names) VALUES ($1, 'muualla', '{"fi": "Muualla"}') RETURNING id`, tenant)
	return tenant, sp
}
