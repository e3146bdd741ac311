package portal_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/portal/portaltest"
)

// liveText is what a person reads in a live screen's changing part.
func liveText(ctx context.Context, t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(browsertest.Text(ctx, t, "#live"))
}

// visible tells whether the element is there and drawn.
func visible(ctx context.Context, t testing.TB, sel string) bool {
	t.Helper()
	return browsertest.Eval[bool](ctx, t, `(function(){var e=document.querySelector(`+jsString(sel)+`);return !!e && e.offsetParent !== null})()`)
}

// TestLiveRedrawsKeepThePageLanguage: a phone switched from its ticket's
// Somali to English, and an expert whose account speaks Finnish looking at
// the queue in Arabic, see their live updates in the language they chose,
// exactly as a fresh load of the page shows them. The phone, once called,
// no longer offers to give up the place.
func TestLiveRedrawsKeepThePageLanguage(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	kiosk := browsertest.New(t, browsertest.Kiosk())
	phone := browsertest.New(t, browsertest.Phone())
	staff := browsertest.New(t)

	_, follow := takeTicketAtKiosk(kiosk, t, in.URL, "so", func(string) {})
	browsertest.Open(phone, t, follow)
	if got := browsertest.Attr(phone, t, "html", "lang"); got != "so" {
		t.Fatalf("the phone opens in %q, want the ticket's language so", got)
	}
	browsertest.Open(phone, t, follow+"?lang=en")
	if got := browsertest.Attr(phone, t, "html", "lang"); got != "en" {
		t.Fatalf("the phone switched to English shows lang %q", got)
	}
	browsertest.WaitVisible(phone, t, ".follow-ticket")
	if !visible(phone, t, ".give-up") {
		t.Fatal("a waiting visitor is not offered to give up the place")
	}

	// The expert's account speaks Finnish; they switch to Arabic once.
	deskID := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '1'`)
	browserLogin(staff, t, in.URL, "expert@example.org", demoPassword)
	queueURL := in.URL + "/staff/queue/demo?desk=" + deskID
	browsertest.Open(staff, t, queueURL+"&lang=ar")
	if got := browsertest.Attr(staff, t, "html", "lang"); got != "ar" {
		t.Fatalf("the queue with ?lang=ar shows lang %q", got)
	}
	clickLive(staff, t, ".call-next-button")
	browsertest.WaitVisible(staff, t, `.my-desk form[action$="/start"]`)
	// The call's redirect names no language: the choice holds for the session.
	if got := browsertest.Attr(staff, t, "html", "lang"); got != "ar" {
		t.Errorf("after calling, the queue is in %q: the expert's choice of ar did not hold", got)
	}

	// The phone hears of the call live.
	waitState(phone, t, "called")
	if visible(phone, t, ".give-up") {
		t.Error("the called phone still offers to give up the place")
	}
	calledLive := liveText(phone, t)
	browsertest.Open(phone, t, follow+"?lang=en")
	if fresh := liveText(phone, t); calledLive != fresh {
		t.Errorf("the phone's live redraw is not in the page's English:\nlive:  %q\nfresh: %q", calledLive, fresh)
	}

	// A new visitor: the Arabic queue redraws live, in Arabic.
	second, _ := takeTicketAtKiosk(kiosk, t, in.URL, "fi", func(string) {})
	waitText(staff, t, ".queue-table", second)
	redrawn := liveText(staff, t)
	browsertest.Open(staff, t, queueURL)
	if got := browsertest.Attr(staff, t, "html", "lang"); got != "ar" {
		t.Errorf("reopened without ?lang, the queue is in %q, want the session's choice ar", got)
	}
	if fresh := liveText(staff, t); redrawn != fresh {
		t.Errorf("the queue's live redraw is not in the page's Arabic:\nlive:  %q\nfresh: %q", redrawn, fresh)
	}
}

// waitState waits for the phone's ticket to reach a state.
func waitState(ctx context.Context, t testing.TB, want string) {
	t.Helper()
	waitAttr(ctx, t, ".follow-ticket", "data-state", want)
}

// waitAttr waits until the element's attribute has the wanted value.
func waitAttr(ctx context.Context, t testing.TB, sel, attr, want string) {
	t.Helper()
	expr := `(function(){var e=document.querySelector(` + jsString(sel) + `);return e?e.getAttribute(` + jsString(attr) + `)||"":""})()`
	waitEval(ctx, t, expr, want)
}

// waitEval waits until a script's string result is want.
func waitEval(ctx context.Context, t testing.TB, expr, want string) {
	t.Helper()
	if last, ok := waitFor(ctx, expr, func(got string) bool { return got == want }); !ok {
		t.Fatalf("%s never gave %q; last: %q", expr, want, last)
	}
}

// waitFor polls a script until its string result pleases ok, as a person
// watching a live screen would, for up to a step's time; it returns the
// last result.
func waitFor(ctx context.Context, expr string, ok func(string) bool) (string, bool) {
	deadline := time.Now().Add(browsertest.StepTimeout)
	var last string
	for time.Now().Before(deadline) {
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		got, err := chromedp.Run(sctx, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && ok(got) {
			return got, true
		}
		last = got
		time.Sleep(100 * time.Millisecond)
	}
	return last, false
}

// TestSharedScreensRememberNoLanguage: a kiosk visitor's ?lang= choice, and
// a display's, live in the address only; the next visitor at the same
// screen starts afresh. Elsewhere the choice is remembered.
func TestSharedScreensRememberNoLanguage(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	c := http.DefaultClient // demo mode: the demo kiosk and display need no pairing
	for _, path := range []string{"/kiosk/demo?lang=ar", "/display/demo?lang=ar"} {
		resp, err := c.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if ck.Name == "lang" {
				t.Errorf("%s remembers the language in a cookie", path)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, in.URL+"/login?lang=ar", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	remembered := false
	for _, ck := range resp.Cookies() {
		remembered = remembered || ck.Name == "lang" && ck.Value == "ar"
	}
	if !remembered {
		t.Error("the login page does not remember an explicit ?lang=ar")
	}
}
