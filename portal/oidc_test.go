package portal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/koto-portal/portal/internal/demo"
)

// testProvider is an OpenID Connect provider running in the test
// (oauth2-proxy's mockoidc: real RSA signatures, discovery, JWKS, PKCE). A
// test may rewrite the ID token the token endpoint hands out, to play a
// provider (or someone between) that misbehaves.
type testProvider struct {
	*mockoidc.MockOIDC
	mu      sync.Mutex
	rewrite func(t *testing.T, idToken string) string
}

func startProvider(t *testing.T) *testProvider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &testProvider{MockOIDC: m}
	if err := m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			rewrite := p.rewrite
			p.mu.Unlock()
			// mockoidc releases groups under a "groups" scope; a real
			// provider is set up to put them in the token.
			if strings.HasSuffix(r.URL.Path, "/authorize") {
				q := r.URL.Query()
				q.Set("scope", q.Get("scope")+" groups")
				r.URL.RawQuery = q.Encode()
			}
			if !strings.HasSuffix(r.URL.Path, "/token") || rewrite == nil {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				return
			}
			body["id_token"] = rewrite(t, body["id_token"].(string))
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(body)
		})
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

func (p *testProvider) setRewrite(f func(t *testing.T, idToken string) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rewrite = f
}

// resign changes the ID token's claims and signs it again with the
// provider's own key: a token the provider really signed, for another use.
func (p *testProvider) resign(change func(jwt.MapClaims)) func(*testing.T, string) string {
	return func(t *testing.T, raw string) string {
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
			t.Fatal(err)
		}
		change(claims)
		signed, err := p.Keypair.SignJWT(claims)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
}

// tamper changes the ID token's subject without signing it again.
func tamper(t *testing.T, raw string) string {
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = bytes.Replace(payload, []byte(`"sub":"`), []byte(`"sub":"x`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// providerSignin walks a browser through the provider: the portal's start,
// the provider's authorization endpoint (which signs the queued user in at
// once), and back to the portal's callback. It returns the callback's
// answer and the callback's path, for replaying.
func providerSignin(t *testing.T, b *secBrowser, user *mockoidc.MockUser, p *testProvider) (*secResponse, string) {
	t.Helper()
	r := b.get("/login/oidc/" + demo.Municipality + "?next=%2Fstaff%2Faccount")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location, p.AuthorizationEndpoint()) {
		t.Fatalf("start: %d to %q", r.Status, r.Location)
	}
	u, _ := url.Parse(r.Location)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Errorf("the authorization request lacks PKCE, nonce or state: %s", u.RawQuery)
	}
	p.QueueUser(user)
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(r.Location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, b.base+"/login/oidc/callback?") {
		t.Fatalf("the provider sent the browser to %q (%d)", back, resp.StatusCode)
	}
	path := strings.TrimPrefix(back, b.base) + "&lang=en"
	return b.get(path), path
}

func loginMessage(r *secResponse) string {
	if m := secAlert.FindStringSubmatch(r.Body); m != nil {
		return m[1]
	}
	return ""
}

func TestProviderSignin(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	p := startProvider(t)
	ctx := context.Background()
	if _, err := owner.Exec(ctx, `INSERT INTO signin_settings (municipality_id, oidc_enabled, oidc_name, oidc_issuer, oidc_client_id, oidc_client_secret)
		SELECT id, true, 'Demo Entra', $2, $3, $4 FROM municipalities WHERE slug = $1`, demo.Municipality, p.Issuer(), p.ClientID, p.ClientSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Exec(ctx, `INSERT INTO oidc_role_mappings (municipality_id, claim_value, role, service_point_id)
		SELECT m.id, g.claim, g.role, CASE WHEN g.here THEN sp.id END FROM municipalities m JOIN service_points sp ON sp.municipality_id = m.id AND sp.slug = $2,
		(VALUES ('koto-experts', 'expert', true), ('koto-leads', 'lead', true)) g(claim, role, here) WHERE m.slug = $1`,
		demo.Municipality, demo.ServicePoint); err != nil {
		t.Fatal(err)
	}
	if r := newSecBrowser(t, in).get("/login?lang=en"); !strings.Contains(r.Body, "Sign in with Demo Entra") {
		t.Error("the login page does not offer the municipality's sign-in service")
	}

	aino := &mockoidc.MockUser{Subject: "aino-1", Email: "aino@demo.example", EmailVerified: true, Groups: []string{"koto-experts"}}
	roles := func() string {
		var s string
		if err := owner.QueryRow(ctx, `SELECT coalesce(string_agg(r.role, ',' ORDER BY r.role), '') FROM staff s
			LEFT JOIN staff_roles r ON r.staff_id = s.id WHERE s.oidc_subject = 'aino-1'`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("sign-in creates the account", func(t *testing.T) {
		b := newSecBrowser(t, in)
		r, _ := providerSignin(t, b, aino, p)
		if r.Status != http.StatusSeeOther || r.Location != "/staff/account" {
			t.Fatalf("callback: %d to %q: %s", r.Status, r.Location, loginMessage(r))
		}
		if !b.loggedIn() {
			t.Fatal("not signed in")
		}
		if got := roles(); got != "expert" {
			t.Errorf("roles %q, want expert", got)
		}
		// The account has no password: the account page says so.
		if page := b.get("/staff/account?lang=en"); !strings.Contains(page.Body, "keeps your password and second factor") {
			t.Error("the account page of a provider account offers a password")
		}
	})

	t.Run("roles are read again at each sign-in", func(t *testing.T) {
		moved := *aino
		moved.Groups = []string{"koto-leads"}
		r, _ := providerSignin(t, newSecBrowser(t, in), &moved, p)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("callback: %d: %s", r.Status, loginMessage(r))
		}
		if got := roles(); got != "lead" {
			t.Errorf("roles %q after the groups changed, want lead", got)
		}
	})

	refusals := []struct {
		name    string
		user    *mockoidc.MockUser
		rewrite func(*testing.T, string) string
		status  int
		message string
	}{
		{"tampered ID token", aino, tamper, http.StatusUnauthorized, "could not be verified"},
		{"wrong nonce", aino, p.resign(func(c jwt.MapClaims) { c["nonce"] = "another sign-in" }), http.StatusUnauthorized, "belongs to another sign-in"},
		{"wrong audience", aino, p.resign(func(c jwt.MapClaims) { c["aud"] = []string{"another-client"} }), http.StatusUnauthorized, "could not be verified"},
		{"expired token", aino, p.resign(func(c jwt.MapClaims) {
			c["iat"], c["nbf"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
		}), http.StatusUnauthorized, "could not be verified"},
		{"group with no role", &mockoidc.MockUser{Subject: "outsider", Email: "outsider@demo.example", EmailVerified: true, Groups: []string{"canteen"}},
			nil, http.StatusForbidden, "belongs to no group that gives a role"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			p.setRewrite(c.rewrite)
			defer p.setRewrite(nil)
			b := newSecBrowser(t, in)
			r, _ := providerSignin(t, b, c.user, p)
			if r.Status != c.status || !strings.Contains(loginMessage(r), c.message) {
				t.Errorf("%d %q, want %d with %q", r.Status, loginMessage(r), c.status, c.message)
			}
			if r.cookie("koto_session") != nil && r.cookie("koto_session").Value != "" {
				t.Error("a session cookie was set")
			}
		})
	}
	var outsiders int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM staff WHERE oidc_subject = 'outsider'`).Scan(&outsiders); err != nil || outsiders != 0 {
		t.Errorf("an account was made for a group with no role (%d, %v)", outsiders, err)
	}

	t.Run("replayed state", func(t *testing.T) {
		b := newSecBrowser(t, in)
		r, path := providerSignin(t, b, aino, p)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("first use: %d", r.Status)
		}
		u, _ := url.Parse(path)
		// Even with the browser's binding cookie put back, the state is spent.
		b.cookies["koto_oidc_state"] = u.Query().Get("state")
		again := newSecBrowser(t, in)
		again.cookies["koto_oidc_state"] = u.Query().Get("state")
		for _, who := range []*secBrowser{b, again} {
			r := who.get(path)
			if r.Status != http.StatusBadRequest || !strings.Contains(loginMessage(r), "expired, was already used") {
				t.Errorf("replay: %d %q", r.Status, loginMessage(r))
			}
		}
	})

	t.Run("a state from another browser", func(t *testing.T) {
		victim := newSecBrowser(t, in)
		attacker := newSecBrowser(t, in)
		r := attacker.get("/login/oidc/" + demo.Municipality)
		p.QueueUser(aino)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(r.Location)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r = victim.get(strings.TrimPrefix(resp.Header.Get("Location"), victim.base) + "&lang=en")
		if r.Status != http.StatusBadRequest || victim.loggedIn() {
			t.Errorf("a planted callback: %d, signed in %v", r.Status, victim.loggedIn())
		}
	})

	t.Run("deactivated account", func(t *testing.T) {
		if _, err := owner.Exec(ctx, `UPDATE staff SET active = false WHERE oidc_subject = 'aino-1'`); err != nil {
			t.Fatal(err)
		}
		r, _ := providerSignin(t, newSecBrowser(t, in), aino, p)
		if r.Status != http.StatusForbidden || !strings.Contains(loginMessage(r), "switched off") {
			t.Errorf("%d %q", r.Status, loginMessage(r))
		}
	})

	got := strings.Join(accessLogRows(t, owner, "aino@demo.example"), "\n")
	for _, want := range []string{"signin/oidc/ok 127.0.0.1", "signin/oidc/denied 127.0.0.1"} {
		if !strings.Contains(got, want) {
			t.Errorf("access log lacks %q:\n%s", want, got)
		}
	}
}
