package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// typeText types text into the field sel.
func typeText(ctx context.Context, t *testing.T, sel, text string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		t.Fatalf("type into %s: %v", sel, err)
	}
}

// TestAccountAndTOTPEnrolmentInBrowser: in Finnish and in Swedish, a staff
// member opens their account page and sets up an authenticator app: the
// account page, the set-up page, a wrong code coming back beside its field
// and the recovery codes each pass axe-core, in the page's language.
func TestAccountAndTOTPEnrolmentInBrowser(t *testing.T) {
	in := secStart(t)
	for _, c := range []struct {
		lang, email, heading, wrong, codes string
	}{
		{"fi", demo.LeadEmail, "Oma tili", "Koodi on väärin", "Varakoodisi"},
		{"sv", demo.AdminEmail, "Mitt konto", "Koden är fel", "Dina reservkoder"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			ctx := browsertest.New(t)
			browserLogin(ctx, t, in.URL, c.email, secPassword)
			browsertest.Open(ctx, t, in.URL+"/staff/account?lang="+c.lang)
			if lang := browsertest.Attr(ctx, t, "html", "lang"); lang != c.lang {
				t.Errorf("account page in %q, want %q", lang, c.lang)
			}
			if h := browsertest.Text(ctx, t, "h1"); h != c.heading {
				t.Errorf("heading %q, want %q", h, c.heading)
			}
			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "account-"+c.lang)

			click(ctx, t, `a[href="/staff/account/factors/totp"]`)
			browsertest.WaitVisible(ctx, t, "#totp-secret")
			browsertest.Axe(ctx, t)
			secret := browsertest.Text(ctx, t, "#totp-secret")

			typeText(ctx, t, "#code", "000000")
			submitAndWait(ctx, t, "main form button[type=submit]", "#code-error")
			if got := browsertest.Text(ctx, t, "#code-error"); !strings.HasPrefix(got, c.wrong) {
				t.Errorf("wrong code message %q, want it to start %q", got, c.wrong)
			}
			if got := browsertest.Attr(ctx, t, "#code", "aria-invalid"); got != "true" {
				t.Errorf("the code field is not marked invalid (%q)", got)
			}
			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "totp-setup-error-"+c.lang)

			typeText(ctx, t, "#code", totpCode(t, secret, 0))
			submitAndWait(ctx, t, "main form button[type=submit]", "#recovery-codes")
			if h := browsertest.Text(ctx, t, "h1"); h != c.codes {
				t.Errorf("recovery page heading %q, want %q", h, c.codes)
			}
			if n := browsertest.Eval[int](ctx, t, `document.querySelectorAll("#recovery-codes li").length`); n != 10 {
				t.Errorf("%d recovery codes shown, want 10", n)
			}
			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "recovery-codes-"+c.lang)
		})
	}
}
