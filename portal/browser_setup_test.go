package portal_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// submitAndWait clicks a form's submit button, waits for the page the
// submission leads to and then for what it shows. The old page is marked
// before the click: the awaited element may be on it too (a client list
// before and after a search), and finding it there would read the page
// before the answer came.
func submitAndWait(ctx context.Context, t *testing.T, button, next string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	err := chromedp.Do(sctx, chromedp.Evaluate[chromedp.Void](`window.kotoSubmitted = true`), chromedp.Click(chromedp.CSS(button)))
	for err == nil {
		// While the browser navigates, reading the page may fail: the old
		// page's script context is gone before the new one exists.
		if left, evalErr := chromedp.Run(sctx, chromedp.Evaluate[bool](`window.kotoSubmitted === undefined`)); evalErr == nil && left {
			break
		}
		if err = sctx.Err(); err == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if err == nil {
		err = chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS(next)))
	}
	if err != nil {
		t.Fatalf("submit %s, wait for %s: %v", button, next, err)
	}
}

// TestSetupPagesInBrowser opens every set-up page as the demo admin and
// has axe-core check it against WCAG 2.1 AA, in Finnish and in Arabic
// (right to left), with a form that came back with errors among them.
func TestSetupPagesInBrowser(t *testing.T) {
	in, owner := setupStart(t)
	expert := setupID(t, owner, `SELECT id FROM staff WHERE email = $1`, demo.ExpertEmail)
	ctx := browsertest.New(t)
	browserLogin(ctx, t, in.URL, demo.AdminEmail, setupPassword)

	pages := []struct{ name, path, wait string }{
		{"setup", "/staff/setup", "table"},
		{"setup-point", "/staff/setup/demo", "#desks"},
		{"setup-point-new", "/staff/setup/new", "#slug"},
		{"setup-topic", "/staff/setup/demo/topics/new", ".pictogram-choices"},
		{"setup-devices", "/staff/setup/demo/devices", "table"},
		{"people", "/staff/people", "table"},
		{"people-form", "/staff/people/" + strconv.FormatInt(expert, 10), ".role-group"},
		{"people-new", "/staff/people/new", "#password"},
		{"access-log", "/staff/access-log", "table.access-log"},
		{"pair", "/kiosk/pair", "#code"},
	}
	for _, lang := range []string{"fi", "ar"} {
		for _, p := range pages {
			t.Run(lang+"/"+p.name, func(t *testing.T) {
				browsertest.Open(ctx, t, in.URL+p.path+"?lang="+lang)
				browsertest.WaitVisible(ctx, t, p.wait)
				if got := browsertest.Eval[string](ctx, t, `getComputedStyle(document.body).direction`); lang == "ar" && got != "rtl" {
					t.Errorf("direction %q", got)
				}
				browsertest.Axe(ctx, t)
			})
		}
	}

	t.Run("topic form with errors", func(t *testing.T) {
		browsertest.Open(ctx, t, in.URL+"/staff/setup/demo/topics/new?lang=fi")
		browsertest.WaitVisible(ctx, t, "#label_sv")
		sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.SendKeys(chromedp.CSS("#label_ar"), "أمر جديد")); err != nil {
			t.Fatal(err)
		}
		submitAndWait(ctx, t, ".setup-form button[type=submit]", "#topic-errors")
		if got := browsertest.Attr(ctx, t, "#label_fi", "aria-describedby"); got != "label_fi-error" {
			t.Errorf("the Finnish label's error is not linked: %q", got)
		}
		if got := browsertest.Attr(ctx, t, "#label_ar", "value"); got != "أمر جديد" {
			t.Errorf("the Arabic label typed was not kept: %q", got)
		}
		if got := browsertest.Eval[string](ctx, t, `getComputedStyle(document.getElementById('label_ar')).direction`); got != "rtl" {
			t.Errorf("the Arabic input types %s", got)
		}
		browsertest.Axe(ctx, t)
		browsertest.Screenshot(ctx, t, "setup-topic-errors")
	})

	t.Run("new device code", func(t *testing.T) {
		browsertest.Open(ctx, t, in.URL+"/staff/setup/demo/devices?lang=fi")
		browsertest.WaitVisible(ctx, t, "#device-name")
		sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.SendKeys(chromedp.CSS("#device-name"), "Aulan automaatti")); err != nil {
			t.Fatal(err)
		}
		submitAndWait(ctx, t, "section[aria-labelledby=add-heading] button[type=submit]", ".pair-code")
		if code := browsertest.Text(ctx, t, ".pair-code"); !shownCode.MatchString(`<p class="pair-code">` + code + `</p>`) {
			t.Errorf("code shown: %q", code)
		}
		browsertest.Axe(ctx, t)
		browsertest.Screenshot(ctx, t, "setup-devices-code")
	})

	t.Run("lunch break", func(t *testing.T) {
		browsertest.Open(ctx, t, in.URL+"/staff/setup/demo?lang=fi")
		browsertest.WaitVisible(ctx, t, "input[name=always_open]")
		sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
		defer cancel()
		// Office hours instead, and Wednesday gets a lunch break.
		err := chromedp.Do(sctx,
			chromedp.Click(chromedp.CSS("input[name=always_open]")), // checked: the demo is open around the clock
			chromedp.SetValue(chromedp.CSS("#close_3"), "11:30"),
			chromedp.SetValue(chromedp.CSS("#open_3_2"), "12:30"),
			chromedp.SetValue(chromedp.CSS("#close_3_2"), "15:00"))
		if err != nil {
			t.Fatal(err)
		}
		submitAndWait(ctx, t, ".setup-form button[type=submit]", ".notice.ok")
		for sel, want := range map[string]string{"#open_3": "08:00", "#close_3": "11:30", "#open_3_2": "12:30", "#close_3_2": "15:00", "#open_3_3": ""} {
			if got := browsertest.Attr(ctx, t, sel, "value"); got != want {
				t.Errorf("%s shows %q, want %q", sel, got, want)
			}
		}
		if got := browsertest.Text(ctx, t, "label[for=open_3_2]"); got != "Avautuu uudelleen" {
			t.Errorf("the second opening is labelled %q", got)
		}
		browsertest.Axe(ctx, t)
		browsertest.Screenshot(ctx, t, "setup-point-lunch-break")
	})
}
