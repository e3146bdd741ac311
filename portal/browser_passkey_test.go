package portal_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

// secHostName gives the portal a public address with a host name:
// passkeys belong to one, and browsers take none for an IP address.
var secHostName = portaltest.WithConfig(func(c *config.Config) {
	_, port, _ := net.SplitHostPort(c.Addr)
	c.BaseURL = "http://localhost:" + port
})

// addAuthenticator plugs a virtual platform authenticator into the
// browser (Chromium's DevTools WebAuthn domain): it keeps passkeys and
// answers prompts at once, as a person touching a sensor would.
func addAuthenticator(ctx context.Context, t *testing.T) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true, IsUserVerified: true,
			AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("add a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

func signOut(ctx context.Context, t *testing.T) {
	t.Helper()
	submitAndWait(ctx, t, `form[action="/logout"] button`, "#email")
}

// createPasskey sets up a passkey from the account page; the first factor
// shows the recovery codes.
func createPasskey(ctx context.Context, t *testing.T, base, name string) {
	t.Helper()
	browsertest.Open(ctx, t, base+"/staff/account/factors/passkey")
	browsertest.Axe(ctx, t)
	typeText(ctx, t, "#name", name)
	submitAndWait(ctx, t, "main form button[type=submit]", "#recovery-codes")
}

// TestPasskeyInBrowser: a lead creates a passkey with the browser's
// authenticator and signs in with it after the password. With that
// authenticator gone, another one's key is refused: by the browser when
// the portal names the lead's key, and by the portal when the browser is
// made to offer an admin's key instead. An admin's answer with a broken
// signature is refused too; each refusal is in the access log.
func TestPasskeyInBrowser(t *testing.T) {
	in := secStart(t, secHostName)
	owner := secOwner(t, in)
	base := in.Config.PublicURL()
	ctx := browsertest.New(t)
	first := addAuthenticator(ctx, t)

	browserLogin(ctx, t, base, demo.LeadEmail, secPassword)
	browsertest.Open(ctx, t, base+"/staff/account?lang=fi")
	createPasskey(ctx, t, base, "Läppäri")
	browsertest.Screenshot(ctx, t, "passkey-recovery-codes-fi")
	signOut(ctx, t)

	browserPassword(ctx, t, base, demo.LeadEmail, secPassword, "#use-passkey")
	browsertest.Axe(ctx, t)
	browsertest.Screenshot(ctx, t, "passkey-verify-fi")
	submitAndWait(ctx, t, "#use-passkey", "form.logout")
	if path := browsertest.Eval[string](ctx, t, `location.pathname`); path != "/staff" && path != "/staff/" {
		t.Errorf("after the passkey the browser is at %s", path)
	}
	browsertest.Open(ctx, t, base+"/staff/account")
	if got := browsertest.Text(ctx, t, ".passkeys"); !strings.Contains(got, "Läppäri") {
		t.Errorf("the account page lists %q, want the new passkey", got)
	}
	signOut(ctx, t)

	// The lead's authenticator is lost; another one holds an admin's key.
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator, webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: first}); err != nil {
		t.Fatal(err)
	}
	second := addAuthenticator(ctx, t)
	browserLogin(ctx, t, base, demo.AdminEmail, secPassword)
	// The admin sets theirs up in Arabic: the set-up page and its recovery
	// codes right to left, checked by axe as the Finnish ones were.
	browsertest.Open(ctx, t, base+"/staff/account?lang=ar")
	createPasskey(ctx, t, base, "Admin key")
	if dir := browsertest.Attr(ctx, t, "html", "dir"); dir != "rtl" {
		t.Errorf("the admin's recovery codes page is dir=%q, want rtl", dir)
	}
	browsertest.Axe(ctx, t)
	browsertest.Screenshot(ctx, t, "passkey-recovery-codes-ar")
	signOut(ctx, t)

	browserPassword(ctx, t, base, demo.LeadEmail, secPassword, "#use-passkey")
	click(ctx, t, "#use-passkey")
	browsertest.WaitVisible(ctx, t, ".passkey-problem")
	// Made to offer whatever key it has, the browser signs with the
	// admin's: the portal refuses it for the lead.
	browsertest.Eval[bool](ctx, t, `(() => {
		const get = navigator.credentials.get.bind(navigator.credentials);
		navigator.credentials.get = (o) => { o.publicKey.allowCredentials = []; return get(o); };
		return true;
	})()`)
	submitAndWait(ctx, t, "#use-passkey", "#credential-error")
	if got := browsertest.Text(ctx, t, "#credential-error"); !strings.HasPrefix(got, "Pääsyavainta ei hyväksytty") {
		t.Errorf("another account's key: %q", got)
	}
	browsertest.Axe(ctx, t)
	if path := browsertest.Eval[string](ctx, t, `location.pathname`); !strings.HasPrefix(path, "/login/verify") {
		t.Errorf("after a refused key the browser is at %s", path)
	}
	signOut(ctx, t)

	// The admin's own key, with its signature broken, is refused; whole, it
	// signs the admin in.
	browserPassword(ctx, t, base, demo.AdminEmail, secPassword, "#use-passkey")
	bogus := true
	if _, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: second, IsBogusSignature: &bogus}); err != nil {
		t.Fatal(err)
	}
	submitAndWait(ctx, t, "#use-passkey", "#credential-error")
	bogus = false
	if _, err := chromedp.Call(ctx, webauthn.SetResponseOverrideBits, webauthn.SetResponseOverrideBitsParams{AuthenticatorID: second, IsBogusSignature: &bogus}); err != nil {
		t.Fatal(err)
	}
	submitAndWait(ctx, t, "#use-passkey", "form.logout")

	lead := strings.Join(accessLogRows(t, owner, demo.LeadEmail), "\n")
	admin := strings.Join(accessLogRows(t, owner, demo.AdminEmail), "\n")
	for who, want := range map[string][]string{lead: {"create/webauthn/ok", "signin/webauthn/ok", "signin/webauthn/denied"},
		admin: {"create/webauthn/ok", "signin/webauthn/denied", "signin/webauthn/ok"}} {
		for _, w := range want {
			if !strings.Contains(who, w) {
				t.Errorf("access log lacks %s:\n%s", w, who)
			}
		}
	}
}
