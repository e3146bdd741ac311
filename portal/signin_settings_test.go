package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
)

// An admin sets how the municipality signs in: mistakes come back beside
// their fields, the client secret is never shown back (and an empty field
// keeps it), and turning password sign-in off sends the staff to the
// provider.
func TestSigninSettingsForm(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)
	post := func(v url.Values) *secResponse {
		v.Set("_csrf", admin.csrf)
		return admin.do(http.MethodPost, "/staff/signin-settings?lang=en", v, map[string]string{"Origin": in.URL})
	}
	good := func() url.Values {
		return url.Values{"oidc_enabled": {"1"}, "oidc_name": {"Demo Entra"}, "oidc_issuer": {"https://login.example.org/tenant/v2.0"},
			"oidc_client_id": {"portal"}, "groups_claim": {"groups"}, "password_signin": {"1"},
			"mappings": {"koto-experts, expert, " + demo.ServicePoint + "\nkoto-admins, admin"}}
	}
	for name, c := range map[string]struct {
		change func(url.Values)
		want   string
	}{
		"no secret yet":            {func(url.Values) {}, "Give the client secret"},
		"issuer not https":         {func(v url.Values) { v.Set("oidc_issuer", "ftp://login.example.org") }, "begins with https://"},
		"unknown service point":    {func(v url.Values) { v.Set("mappings", "koto, expert, nowhere") }, "a service point the municipality does not have"},
		"admin in a service point": {func(v url.Values) { v.Set("mappings", "koto, admin, "+demo.ServicePoint) }, "Each line must be"},
		"no way to sign in":        {func(v url.Values) { v.Del("password_signin"); v.Del("oidc_enabled") }, "only while the municipality"},
	} {
		v := good()
		if name != "no secret yet" {
			v.Set("oidc_client_secret", "some secret")
		}
		c.change(v)
		if r := post(v); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, c.want) {
			t.Errorf("%s: %d, want 422 with %q", name, r.Status, c.want)
		}
	}
	v := good()
	v.Set("oidc_client_secret", "a-secret-only-the-provider-knows")
	if r := post(v); r.Status != http.StatusSeeOther {
		t.Fatalf("valid settings: %d", r.Status)
	}
	page := admin.get("/staff/signin-settings?lang=en")
	if strings.Contains(page.Body, "a-secret-only-the-provider-knows") || !strings.Contains(page.Body, "A secret is stored") {
		t.Error("the page shows the secret back, or does not say one is stored")
	}
	if !strings.Contains(page.Body, "koto-experts, expert, "+demo.ServicePoint) {
		t.Error("the mappings do not come back as lines")
	}
	// Saving again with the secret field empty keeps the secret.
	v = good()
	v.Del("password_signin")
	if r := post(v); r.Status != http.StatusSeeOther {
		t.Fatalf("saving without the secret: %d", r.Status)
	}
	var secret string
	if err := owner.QueryRow(context.Background(), `SELECT oidc_client_secret FROM signin_settings`).Scan(&secret); err != nil || secret != "a-secret-only-the-provider-knows" {
		t.Errorf("stored secret %q (%v)", secret, err)
	}
	// Password sign-in is off: the right password gets the provider's way.
	b := newSecBrowser(t, in)
	if r := b.submitLogin(demo.ExpertEmail, secPassword); r.Status != http.StatusForbidden || !strings.Contains(r.Body, "Demo Entra") ||
		!strings.Contains(r.Body, "kunnan omalla kirjautumispalvelulla") {
		t.Errorf("password sign-in while off: %d", r.Status)
	}
	if got := strings.Join(accessLogRows(t, owner, demo.AdminEmail), "\n"); !strings.Contains(got, "update/signin_settings/ok 127.0.0.1") {
		t.Errorf("the access log lacks the change:\n%s", got)
	}
}
