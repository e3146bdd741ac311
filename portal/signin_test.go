package portal_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/koto-portal/portal/internal/demo"
)

var (
	totpSecretInPage = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`)
	recoveryInPage   = regexp.MustCompile(`<li><code>([a-z2-7-]+)</code></li>`)
	resetLinkInPage  = regexp.MustCompile(`<code id="reset-link">[^<]*/password/([A-Za-z0-9_-]+)</code>`)
)

// totpCode is the app's code at now+offset.
func totpCode(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, time.Now().Add(offset), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// formToken reads the _csrf field of a page.
func formToken(t *testing.T, r *secResponse) string {
	t.Helper()
	m := secHiddenCSRF.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no _csrf field in the page (%d)", r.Status)
	}
	return html.UnescapeString(m[1])
}

// enrolTOTPOverHTTP sets up an authenticator app from the browser's
// account and returns its secret and the recovery codes shown.
func enrolTOTPOverHTTP(t *testing.T, b *secBrowser, origin string) (string, []string) {
	t.Helper()
	r := b.get("/staff/account/factors/totp?lang=en")
	m := totpSecretInPage.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("TOTP set-up page: %d, secret found %v", r.Status, m != nil)
	}
	secret, token := m[1], formToken(t, r)
	r = b.do(http.MethodPost, "/staff/account/factors/totp?lang=en", url.Values{"_csrf": {token}, "code": {"000000"}, "next": {"/staff"}},
		map[string]string{"Origin": origin})
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, "The code is wrong or too old") {
		t.Errorf("a wrong code: %d, want 422 with the message", r.Status)
	}
	r = b.do(http.MethodPost, "/staff/account/factors/totp", url.Values{"_csrf": {token}, "code": {totpCode(t, secret, 0)}, "next": {"/staff"}},
		map[string]string{"Origin": origin})
	var codes []string
	for _, c := range recoveryInPage.FindAllStringSubmatch(r.Body, -1) {
		codes = append(codes, c[1])
	}
	if r.Status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("confirming the app: %d with %d recovery codes", r.Status, len(codes))
	}
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("the recovery codes page may be cached: %q", cc)
	}
	return secret, codes
}

func accessLogRows(t *testing.T, owner *pgx.Conn, email string) []string {
	t.Helper()
	rows, err := owner.Query(context.Background(), `SELECT a.action || '/' || a.purpose || '/' || a.result || ' ' || coalesce(host(a.client_addr), '-')
		FROM access_log a JOIN staff s ON s.id = a.staff_id WHERE s.email = $1 ORDER BY a.id`, email)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSecondFactorSignInOverHTTP(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	first := newSecBrowser(t, in)
	first.login(demo.LeadEmail)
	secret, codes := enrolTOTPOverHTTP(t, first, in.URL)

	b := newSecBrowser(t, in)
	r := b.submitLogin(demo.LeadEmail, secPassword)
	if r.Status != http.StatusSeeOther || r.Location != "/login/verify?next=%2Fstaff" {
		t.Fatalf("password right, factor set up: %d to %q", r.Status, r.Location)
	}
	// Half-way, no staff page opens.
	for _, path := range []string{"/staff/", "/staff/account", "/staff/account/factors/totp"} {
		if r := b.get(path); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/login/verify?next=") {
			t.Errorf("GET %s half-way: %d to %q", path, r.Status, r.Location)
		}
	}
	r = b.get("/login/verify?next=%2Fstaff&lang=en")
	if r.Status != http.StatusOK {
		t.Fatalf("verify page: %d", r.Status)
	}
	token := formToken(t, r)
	post := func(path, field, code string) *secResponse {
		return b.do(http.MethodPost, path+"?lang=en", url.Values{"_csrf": {token}, field: {code}, "next": {"/staff"}}, map[string]string{"Origin": in.URL})
	}
	// The code used to set the app up is spent.
	if r := post("/login/verify/totp", "code", totpCode(t, secret, 0)); r.Status != http.StatusUnauthorized ||
		!strings.Contains(r.Body, "The code is wrong, too old or already used") {
		t.Errorf("the enrolment's code again: %d, want 401 with the message", r.Status)
	}
	if r := post("/login/verify/recovery", "recovery", "aaaa-bbbb-cccc-dddd"); r.Status != http.StatusUnauthorized ||
		!strings.Contains(r.Body, "The recovery code is wrong or already used") {
		t.Errorf("a made-up recovery code: %d", r.Status)
	}
	// The next step's code (the app a little ahead) completes the sign-in.
	r = post("/login/verify/totp", "code", totpCode(t, secret, 30*time.Second))
	if r.Status != http.StatusSeeOther || r.Location != "/staff" {
		t.Fatalf("the next code: %d to %q", r.Status, r.Location)
	}
	b.csrf = b.staffCSRF()

	// A third browser signs in with a recovery code.
	c := newSecBrowser(t, in)
	c.submitLogin(demo.LeadEmail, secPassword)
	token = formToken(t, c.get("/login/verify"))
	r = c.do(http.MethodPost, "/login/verify/recovery", url.Values{"_csrf": {token}, "recovery": {strings.ToUpper(codes[0])}, "next": {"/staff/account"}},
		map[string]string{"Origin": in.URL})
	if r.Status != http.StatusSeeOther || r.Location != "/staff/account" {
		t.Fatalf("recovery code: %d to %q", r.Status, r.Location)
	}

	// The account page lists the three sessions; signing the others out
	// leaves one.
	page := c.get("/staff/account?lang=en")
	if n := strings.Count(page.Body, "Go-http-client"); page.Status != http.StatusOK || n != 3 {
		t.Errorf("account page: %d listing %d sessions, want 3", page.Status, n)
	}
	if !strings.Contains(page.Body, "Unused recovery codes: 9") {
		t.Error("the account page does not count the recovery codes left")
	}
	r = c.do(http.MethodPost, "/staff/account/sessions/end-others", url.Values{"_csrf": {formToken(t, page)}}, map[string]string{"Origin": in.URL})
	if r.Status != http.StatusSeeOther || first.loggedIn() || b.loggedIn() || !c.loggedIn() {
		t.Errorf("end others: %d; first %v, second %v, this %v", r.Status, first.loggedIn(), b.loggedIn(), c.loggedIn())
	}

	got := strings.Join(accessLogRows(t, owner, demo.LeadEmail), "\n")
	for _, want := range []string{"signin/password/ok 127.0.0.1", "create/totp/ok 127.0.0.1", "signin/totp/denied 127.0.0.1",
		"signin/recovery_code/denied 127.0.0.1", "signin/totp/ok 127.0.0.1", "signin/recovery_code/ok 127.0.0.1", "delete/sessions/ok 127.0.0.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("access log lacks %q:\n%s", want, got)
		}
	}
}

func TestRequiredSecondFactorHoldsSignIn(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	if _, err := owner.Exec(context.Background(), `INSERT INTO signin_settings (municipality_id, second_factor_required)
		SELECT id, true FROM municipalities WHERE slug = $1`, demo.Municipality); err != nil {
		t.Fatal(err)
	}
	b := newSecBrowser(t, in)
	r := b.submitLogin(demo.ExpertEmail, secPassword)
	if r.Status != http.StatusSeeOther || r.Location != "/staff/account/factors?next=%2Fstaff" {
		t.Fatalf("sign-in without the required factor: %d to %q", r.Status, r.Location)
	}
	for _, path := range []string{"/staff/", "/staff/account", "/staff/queue/demo"} {
		if r := b.get(path); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, "/staff/account/factors?next=") {
			t.Errorf("GET %s before enrolment: %d to %q", path, r.Status, r.Location)
		}
	}
	if r := b.get("/staff/account/factors?lang=en"); r.Status != http.StatusOK || !strings.Contains(r.Body, "requires a second factor") {
		t.Errorf("the choice page: %d", r.Status)
	}
	enrolTOTPOverHTTP(t, b, in.URL)
	if !b.loggedIn() {
		t.Fatal("enrolment did not complete the sign-in")
	}
}

func TestAdminResetLink(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)
	expert := newSecBrowser(t, in)
	expert.login(demo.ExpertEmail)
	id := azID(staffID(t, owner, demo.ExpertEmail))
	r := admin.do(http.MethodPost, "/staff/people/"+id+"/reset-link?lang=en", url.Values{"_csrf": {admin.csrf}}, map[string]string{"Origin": in.URL})
	m := resetLinkInPage.FindStringSubmatch(r.Body)
	if r.Status != http.StatusOK || m == nil {
		t.Fatalf("reset link: %d\n%s", r.Status, r.Body)
	}
	var expires time.Time
	if err := owner.QueryRow(context.Background(), `SELECT expires_at FROM password_links l JOIN staff s ON s.id = l.staff_id
		WHERE s.email = $1 AND used_at IS NULL`, demo.ExpertEmail).Scan(&expires); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expires); d < 59*time.Minute || d > time.Hour {
		t.Errorf("the link lives %v, want an hour", d)
	}
	if len(m[1]) < 43 { // 256 bits in base64url
		t.Errorf("the link's secret has %d characters", len(m[1]))
	}
	other := newSecBrowser(t, in)
	token := other.passwordForm("/password/" + m[1])
	r = other.do(http.MethodPost, "/password/"+m[1], url.Values{"_csrf": {token}, "password": {"a reset password"}, "password2": {"a reset password"}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("setting the password: %d", r.Status)
	}
	if expert.loggedIn() {
		t.Error("the expert's old session outlived the reset")
	}
	if r := other.get("/password/" + m[1] + "?lang=en"); !strings.Contains(r.Body, "already been used") {
		t.Errorf("the link a second time: %d", r.Status)
	}
	got := strings.Join(accessLogRows(t, owner, demo.AdminEmail), "\n")
	if !strings.Contains(got, "create/reset_link/ok 127.0.0.1") {
		t.Errorf("the admin's access log lacks the reset link:\n%s", got)
	}
}

// TestAdminClearsSecondFactors: someone who lost the phone with their
// authenticator app gets back in through their admin, and the phone's
// session ends with the factors.
func TestAdminClearsSecondFactors(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	lead := newSecBrowser(t, in)
	lead.login(demo.LeadEmail)
	enrolTOTPOverHTTP(t, lead, in.URL)
	id := azID(staffID(t, owner, demo.LeadEmail))
	factors := func() int {
		t.Helper()
		var n int
		if err := owner.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM totp_factors WHERE staff_id = $1)
			+ (SELECT count(*) FROM recovery_codes WHERE staff_id = $1)`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if factors() == 0 {
		t.Fatal("the enrolment left no factor to clear")
	}
	if r := newSecBrowser(t, in).submitLogin(demo.LeadEmail, secPassword); !strings.HasPrefix(r.Location, "/login/verify") {
		t.Fatalf("with the app set up, sign-in went to %q, want the second step", r.Location)
	}

	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)
	clear := func() string {
		t.Helper()
		r := admin.do(http.MethodPost, "/staff/people/"+id+"/clear-factors", url.Values{"_csrf": {admin.csrf}}, map[string]string{"Origin": in.URL})
		if r.Status != http.StatusSeeOther {
			t.Fatalf("clearing: %d\n%s", r.Status, r.Body)
		}
		return r.Location
	}
	if got, want := clear(), "/staff/people/"+id+"?factors=cleared"; got != want {
		t.Errorf("cleared, went to %q, want %q", got, want)
	}
	if n := factors(); n != 0 {
		t.Errorf("%d factor rows left", n)
	}
	if lead.loggedIn() {
		t.Error("the lead's session outlived the removal of the factors")
	}
	if r := newSecBrowser(t, in).submitLogin(demo.LeadEmail, secPassword); r.Status != http.StatusSeeOther || r.Location != "/staff" {
		t.Errorf("after the removal the password alone went to %d %q, want /staff", r.Status, r.Location)
	}
	if r := admin.get("/staff/people/" + id + "?factors=cleared&lang=fi"); !strings.Contains(r.Body, "Toinen tunnistautumisvaihe poistettiin") {
		t.Errorf("the staff member's page does not say the factors went (in Finnish): %d", r.Status)
	}
	// Nothing left to remove: said so, and nothing logged as removed.
	if got, want := clear(), "/staff/people/"+id+"?factors=none"; got != want {
		t.Errorf("cleared twice, went to %q, want %q", got, want)
	}
	got := accessLogRows(t, owner, demo.AdminEmail)
	if n := strings.Count(strings.Join(got, "\n"), "delete/clear_factors/ok 127.0.0.1"); n != 1 {
		t.Errorf("the admin's access log has %d removals, want 1:\n%s", n, strings.Join(got, "\n"))
	}
}
