package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/testdb"
	"github.com/koto-portal/portal/portal/portaltest"
)

// TestMain stops the private PostgreSQL cluster that testdb starts for the
// tests that need a database, so no postgres process outlives go test.
func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// emptyDatabase is a database with nothing in it yet, as an operator's
// new one is; dropped when the test ends.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	srv := testdb.Server(t)
	ctx := context.Background()
	name := fmt.Sprintf("fresh_%d", time.Now().UnixNano())
	if err := srv.EnsureDatabase(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, srv.URL("postgres")); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return srv.URL(name)
}

func runPortal(args ...string) (code int, stdout, stderr string) {
	var out, errs bytes.Buffer
	code = run(args, &out, &errs)
	return code, out.String(), errs.String()
}

var printedLink = regexp.MustCompile(`(?m)^  (https://koto\.example\.fi(/password/[A-Za-z0-9_-]{43}))$`)

// browser is a cookie-keeping client that does not follow redirects, so
// the test sees where each answer points.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

var hiddenCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// submit opens path and posts its form with fields added.
func (b *browser) submit(path string, fields url.Values) (*http.Response, string) {
	b.t.Helper()
	resp, page := b.do(http.MethodGet, path, nil)
	m := hiddenCSRF.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no form:\n%s", path, resp.StatusCode, page)
	}
	fields.Set("_csrf", html.UnescapeString(m[1]))
	return b.do(http.MethodPost, path, fields)
}

// An operator starts a municipality on a new database; its first admin
// opens the printed link, chooses a password, is signed in, and can sign
// in again with it. The link works once, and a second municipality with
// the same address name is refused without a trace.
func TestMunicipalityCreateThenFirstAdminSignsIn(t *testing.T) {
	dbURL := emptyDatabase(t)
	t.Setenv("DATABASE_URL", dbURL)
	t.Setenv("PORTAL_BASE_URL", "https://koto.example.fi")
	t.Setenv("PORTAL_LOG_FORMAT", "text")
	create := []string{"municipality", "create", "--slug", "lahti", "--name", "Lahden kaupunki",
		"--admin-email", "Admin@Lahti.example", "--admin-name", "Aino Admin", "--language", "sv"}

	code, _, stderr := runPortal(create...)
	if code != 1 || !strings.Contains(stderr, "portal migrate") {
		t.Fatalf("on an unmigrated database: exit %d, want 1 with advice to migrate:\n%s", code, stderr)
	}
	code, stdout, stderr := runPortal(append(create, "--migrate")...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	m := printedLink.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no one-time link in the output:\n%s", stdout)
	}
	if strings.Contains(stderr, m[2]) {
		t.Error("the link's secret reached the log")
	}
	link := m[2]

	in := portaltest.Start(t, portaltest.WithDatabase(dbURL))
	b := newBrowser(t, in.URL)
	resp, page := b.do(http.MethodGet, link, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
		!strings.Contains(page, `lang="sv"`) || !strings.Contains(page, "admin@lahti.example") {
		t.Fatalf("the link's page: %d, Referrer-Policy %q:\n%s", resp.StatusCode, resp.Header.Get("Referrer-Policy"), page)
	}
	resp, _ = b.submit(link, url.Values{"password": {"lahti admin password"}, "password2": {"lahti admin password"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff" {
		t.Fatalf("setting the password: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.do(http.MethodGet, "/staff/", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Aino Admin") || !strings.Contains(page, `href="/staff/people"`) {
		t.Fatalf("the admin's staff page: %d\n%s", resp.StatusCode, page)
	}

	again := newBrowser(t, in.URL)
	resp, page = again.do(http.MethodGet, link, nil)
	if resp.StatusCode != http.StatusGone || !strings.Contains(page, "Linkkiä on jo käytetty") {
		t.Errorf("the link a second time: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = again.submit("/login", url.Values{"email": {"admin@lahti.example"}, "password": {"lahti admin password"}, "next": {"/staff"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff" {
		t.Errorf("signing in with the chosen password: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	code, stdout, stderr = runPortal("municipality", "create", "--slug", "lahti", "--name", "Toinen", "--admin-email", "other@lahti.example")
	if code != 1 || !strings.Contains(stderr, `"lahti" already exists`) || stdout != "" {
		t.Errorf("a taken address name: exit %d\n%s%s", code, stdout, stderr)
	}
	var staff int
	if err := in.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM koto_staff_by_email('other@lahti.example')`).Scan(&staff); err != nil || staff != 0 {
		t.Errorf("the refused founding left %d staff (%v)", staff, err)
	}
}

// Mistakes on the command line are named flag by flag, before any
// database is touched.
func TestMunicipalityCreateChecksItsFlags(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
	code, _, stderr := runPortal("municipality", "create", "--slug", "Bad Slug", "--admin-email", "not-an-address", "--language", "xx", "--link-valid", "0s")
	for _, want := range []string{"--slug: Use lower-case", "--name: Please fill in", "--admin-email: Please enter an e-mail", "--language: use one of fi, sv, en", "--link-valid"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("missing %q in:\n%s", want, stderr)
		}
	}
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	if code, _, stderr := runPortal("municipality"); code != 2 || !strings.Contains(stderr, "municipality create") {
		t.Errorf("no subcommand: exit %d\n%s", code, stderr)
	}
}

// The real binary on the embedded default, as an operator meets it: a new
// data folder, `portal municipality create --migrate`, then `portal serve`,
// and the admin signs in through the printed link. A second founding with
// the same short name exits 1.
func TestMunicipalityCreateWithTheBinary(t *testing.T) {
	p := buildPortal(t)
	var out, errs bytes.Buffer
	create := p.command(nil, "municipality", "create", "--migrate", "--slug", "kotka", "--name", "Kotka", "--admin-email", "admin@kotka.example")
	create.Stdout, create.Stderr = &out, &errs
	if err := create.Run(); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errs.String())
	}
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(p.base()) + `(/password/[A-Za-z0-9_-]{43})$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no link to %s in:\n%s", p.base(), out.String())
	}
	again := p.command(nil, "municipality", "create", "--slug", "kotka", "--name", "Kotka 2", "--admin-email", "other@kotka.example")
	if msg, err := again.CombinedOutput(); again.ProcessState.ExitCode() != 1 || !strings.Contains(string(msg), "already exists") {
		t.Errorf("a taken short name: %v\n%s", err, msg)
	}

	p.serve(t)
	b := newBrowser(t, p.base())
	resp, _ := b.submit(m[1], url.Values{"password": {"kotka admin password"}, "password2": {"kotka admin password"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff" {
		t.Fatalf("setting the password: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, page := b.do(http.MethodGet, "/staff/", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `href="/staff/people"`) {
		t.Fatalf("the admin's staff page: %d\n%s", resp.StatusCode, page)
	}
}
