package portal_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/i18n"
)

// A client enrols her phone by opening the link of her letter, sees her
// appointment in Somali, in Arabic right to left too, the page is an app
// (service worker active, manifest that starts on her page), and her "I
// can't come" appears on the expert's task screen without a reload.
func TestClientPhoneInBrowser(t *testing.T) {
	in := secStart(t)
	client, _, appt := outreachClient(t, in)
	staffHTTP := newSecBrowser(t, in)
	staffHTTP.login(demo.ExpertEmail)
	link := enrolmentLink(t, staffHTTP, client)

	staff := browsertest.New(t)
	browserLogin(staff, t, in.URL, demo.ExpertEmail, secPassword)
	browsertest.Open(staff, t, in.URL+"/staff/tasks")
	browsertest.WaitVisible(staff, t, "#task-live")
	// The expert reads the task in their own language (the demo's Finnish).
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := catalog.Lookup("fi")
	title := catalog.For(fi).Get("tasks.kind.cannot_come")
	seen := `document.getElementById('task-live').innerText.includes(` + jsString(title) + `)`
	if browsertest.Eval[bool](staff, t, seen) {
		t.Fatal("the task is there before the answer")
	}

	phone := browsertest.New(t, browsertest.Phone())
	browsertest.Open(phone, t, in.URL+link)
	browsertest.Axe(phone, t)
	click(phone, t, ".client-enrol button")
	browsertest.WaitVisible(phone, t, "#client")
	if got := browsertest.Attr(phone, t, "html", "lang"); got != "so" {
		t.Errorf("client page in %q, want her own so", got)
	}
	if got := browsertest.Text(phone, t, ".client-appt .code"); got != "3141 5926" {
		t.Errorf("check-in code %q", got)
	}
	if !browsertest.Eval[bool](phone, t, `navigator.serviceWorker.ready.then(r => !!r.active)`) {
		t.Error("no active service worker")
	}
	start := browsertest.Eval[string](phone, t,
		`fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json()).then(m => m.start_url + ' ' + m.display + ' ' + m.icons.map(i => i.sizes).join(','))`)
	home := browsertest.Eval[string](phone, t, `location.pathname`)
	if want := home + " standalone 192x192,512x512,any"; start != want {
		t.Errorf("manifest %q, want %q", start, want)
	}
	browsertest.Axe(phone, t)
	browsertest.Screenshot(phone, t, "client-so")

	browsertest.Open(phone, t, in.URL+home+"?lang=ar")
	if got := browsertest.Eval[string](phone, t, `getComputedStyle(document.body).direction`); got != "rtl" {
		t.Errorf("Arabic page direction %q", got)
	}
	browsertest.Axe(phone, t)
	browsertest.Screenshot(phone, t, "client-ar")
	browsertest.Open(phone, t, in.URL+home+"?lang=so")

	click(phone, t, fmt.Sprintf("#appt-%d .client-cannot summary", appt))
	sctx, cancel := context.WithTimeout(phone, browsertest.StepTimeout)
	err = chromedp.Do(sctx,
		chromedp.SendKeys(chromedp.CSS(fmt.Sprintf("#reason-%d", appt)), "Ilmo ayaa jirran"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#appt-%d .client-cannot button[value="cannot_come"]`, appt))),
		chromedp.WaitVisible(chromedp.CSS("#client-notice")))
	cancel()
	if err != nil {
		t.Fatalf("answer I can't come: %v", err)
	}
	browsertest.Axe(phone, t)

	deadline := time.Now().Add(15 * time.Second)
	for !browsertest.Eval[bool](staff, t, seen) {
		if time.Now().After(deadline) {
			t.Fatalf("the task did not appear on the expert's screen: %q", browsertest.Text(staff, t, "#task-live"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	browsertest.Axe(staff, t)
	browsertest.Screenshot(staff, t, "client-answer-task")
}
