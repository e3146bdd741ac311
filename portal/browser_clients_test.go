package portal_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// An expert registers a client, finds them by another spelling of their
// name, names themself the responsible expert, ends the clientship and
// continues it, in Finnish and in Swedish, with axe-core checking every
// page on the way (a form that came back with errors among them).
func TestClientWorkInBrowser(t *testing.T) {
	in, owner := setupStart(t)
	expert := setupID(t, owner, `SELECT id FROM staff WHERE email = $1`, demo.ExpertEmail)
	ctx := browsertest.New(t)
	browserLogin(ctx, t, in.URL, demo.ExpertEmail, setupPassword)

	do := func(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range []string{"fi", "sv"} {
		t.Run(lang, func(t *testing.T) {
			last := "Shevchenko-" + lang
			browsertest.Open(ctx, t, in.URL+"/staff/clients/new?lang="+lang)
			browsertest.WaitVisible(ctx, t, "#last_name")
			browsertest.Axe(ctx, t)

			// A form without a name and with a mistyped identity code comes
			// back with both problems beside their fields, what was typed kept.
			do(t, chromedp.SendKeys(chromedp.CSS("#identity_code"), "010594Y9033"),
				chromedp.SendKeys(chromedp.CSS("#native_name"), "Олександр Шевченко"))
			submitAndWait(ctx, t, ".client-form button[type=submit]", "#client-errors")
			for _, field := range []string{"last_name", "identity_code"} {
				if got := browsertest.Attr(ctx, t, "#"+field, "aria-invalid"); got != "true" {
					t.Errorf("%s is not marked invalid", field)
				}
			}
			if got := browsertest.Attr(ctx, t, "#native_name", "value"); got != "Олександр Шевченко" {
				t.Errorf("the name in own script was not kept: %q", got)
			}
			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "client-form-errors-"+lang)

			do(t, chromedp.SetValue(chromedp.CSS("#identity_code"), "010594Y9032"),
				chromedp.SendKeys(chromedp.CSS("#first_names"), "Oleksandr"),
				chromedp.SendKeys(chromedp.CSS("#last_name"), last),
				chromedp.SendKeys(chromedp.CSS("#phone"), "040 123 4567"),
				chromedp.SetValue(chromedp.CSS("#language"), "uk"))
			submitAndWait(ctx, t, ".client-form button[type=submit]", ".notice.ok")
			if got := browsertest.Text(ctx, t, ".identity-code"); got != "010594Y****" {
				t.Errorf("the expert sees the identity code as %q", got)
			}
			browsertest.Axe(ctx, t)
			page := browsertest.Eval[string](ctx, t, `location.pathname`)

			// Search by another transliteration, in the other order.
			browsertest.Open(ctx, t, in.URL+"/staff/clients?lang="+lang)
			browsertest.WaitVisible(ctx, t, "#q")
			do(t, chromedp.SendKeys(chromedp.CSS("#q"), "shevchenko-"+lang+" Aleksandr"))
			submitAndWait(ctx, t, "form[role=search] button[type=submit]", "table.client-list")
			if got := browsertest.Attr(ctx, t, "table.client-list tbody tr:first-child a", "href"); got != page {
				t.Errorf("first result links to %q, want %q", got, page)
			}
			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "clients-search-"+lang)

			// Name the responsible expert.
			browsertest.Open(ctx, t, in.URL+page+"?lang="+lang)
			browsertest.WaitVisible(ctx, t, "#expert-responsible")
			do(t, chromedp.SetValue(chromedp.CSS("#expert-responsible"), strconv.FormatInt(expert, 10)))
			submitAndWait(ctx, t, "#expert button[type=submit]", ".notice.ok")
			if got := browsertest.Eval[string](ctx, t, `document.getElementById("expert-responsible").value`); got != strconv.FormatInt(expert, 10) {
				t.Errorf("responsible expert is %q after saving", got)
			}

			// End the clientship with a reason, then continue it.
			do(t, chromedp.SetValue(chromedp.CSS("#end-reason"), "moved"))
			submitAndWait(ctx, t, "#clientship form button[type=submit]", "#continue-on")
			browsertest.Axe(ctx, t)
			if rows := browsertest.Eval[int](ctx, t, `document.querySelectorAll('#clientship tbody tr').length`); rows != 2 {
				t.Errorf("history has %d rows after the end, want 2", rows)
			}
			submitAndWait(ctx, t, "#clientship form button[type=submit]", "#end-on")
			history := browsertest.Text(ctx, t, "#clientship tbody")
			if rows := browsertest.Eval[int](ctx, t, `document.querySelectorAll('#clientship tbody tr').length`); rows != 3 || !strings.Contains(history, browsertest.Eval[string](ctx, t, `document.querySelector("#end-reason option[value=moved]").textContent`)) {
				t.Errorf("history after continuing: %d rows: %s", rows, history)
			}
			browsertest.Axe(ctx, t)
			browsertest.Screenshot(ctx, t, "client-page-"+lang)
		})
	}
}
