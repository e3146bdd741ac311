package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/store"
)

// TestPasswordLinkInBrowser: a new municipality's first admin, whose
// language is Arabic, opens the one-time link in a browser; the page is
// right to left in Arabic and passes axe-core, a mistyped second password
// comes back marked beside its field (checked by axe too), and the right
// pair signs the admin in to the staff pages.
func TestPasswordLinkInBrowser(t *testing.T) {
	in := secStart(t)
	f, err := org.FoundMunicipality(context.Background(), store.Owner(in.OwnerURL), org.Founding{Slug: "turku", Name: "Turku",
		AdminEmail: "admin@turku.example", AdminName: "Tuula", AdminLocale: "ar", LinkValidity: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	browsertest.Open(ctx, t, in.URL+"/password/"+f.LinkToken)
	if lang, dir := browsertest.Attr(ctx, t, "html", "lang"), browsertest.Attr(ctx, t, "html", "dir"); lang != "ar" || dir != "rtl" {
		t.Errorf("the page is %s/%s, want the admin's ar/rtl", lang, dir)
	}
	browsertest.Axe(ctx, t)

	fill := func(password, again string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx,
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.SendKeys(chromedp.CSS("#password2"), again),
		); err != nil {
			t.Fatal(err)
		}
	}
	fill("a long enough password", "a long enough passw0rd")
	submitAndWait(ctx, t, "form button[type=submit]", "#password2-error")
	if got := browsertest.Attr(ctx, t, "#password2", "aria-invalid"); got != "true" {
		t.Errorf("the second field is not marked invalid (%q)", got)
	}
	browsertest.Axe(ctx, t)
	browsertest.Screenshot(ctx, t, "password-link-error-ar")

	fill("a long enough password", "a long enough password")
	submitAndWait(ctx, t, "form button[type=submit]", "form.logout")
	if path := browsertest.Eval[string](ctx, t, `location.pathname`); !strings.HasPrefix(path, "/staff") {
		t.Errorf("after the password the browser is at %s, want the staff pages", path)
	}
}
