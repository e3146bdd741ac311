package portal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/portal/portaltest"
)

const demoPassword = "demo-password-for-tests"

// click clicks the first element matching sel and fails the test if it
// cannot.
func click(ctx context.Context, t testing.TB, sel string) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %q: %v", sel, err)
	}
}

// clickLive clicks on the expert's queue screen once it is live: drawn
// from its first snapshot, which replaces the buttons the page came with
// when anything changed in between, and a click on a replaced button is
// lost.
func clickLive(ctx context.Context, t testing.TB, sel string) {
	t.Helper()
	browsertest.WaitVisible(ctx, t, `#queue[data-live="live"]`)
	click(ctx, t, sel)
}

// waitText waits until the element's text contains want: live screens
// change without a reload, so the test polls what a person would see.
func waitText(ctx context.Context, t testing.TB, sel, want string) {
	t.Helper()
	expr := `(function(){var e=document.querySelector(` + jsString(sel) + `);return e?e.innerText:""})()`
	if last, ok := waitFor(ctx, expr, func(got string) bool { return strings.Contains(got, want) }); !ok {
		t.Fatalf("%q never showed %q; last text: %q", sel, want, last)
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// browserLogin signs a browser in through the login form, as a person
// would, and waits for the staff pages.
func browserLogin(ctx context.Context, t testing.TB, base, email, password string) {
	t.Helper()
	browserPassword(ctx, t, base, email, password, "form.logout")
}

// browserPassword types an e-mail and password on the login page and waits
// for what the next page shows (a staff page, or a second step).
func browserPassword(ctx context.Context, t testing.TB, base, email, password, next string) {
	t.Helper()
	browsertest.Open(ctx, t, base+"/login")
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx,
		chromedp.SendKeys(chromedp.CSS("#email"), email),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(next)),
	); err != nil {
		t.Fatalf("log in as %s: %v", email, err)
	}
}

// takeTicketAtKiosk walks the kiosk: language, first topic, no interpreter.
// It returns the number shown and the follow link in the QR code.
func takeTicketAtKiosk(ctx context.Context, t testing.TB, base, lang string, check func(step string)) (number, follow string) {
	t.Helper()
	browsertest.Open(ctx, t, base+"/kiosk/demo")
	check("languages")
	click(ctx, t, `a.kiosk-tile[hreflang="`+lang+`"]`)
	browsertest.WaitVisible(ctx, t, ".kiosk-topics")
	check("topics")
	click(ctx, t, ".topic-tile")
	browsertest.WaitVisible(ctx, t, ".kiosk-choice")
	check("interpreter")
	click(ctx, t, `.kiosk-choice button[value="0"]`)
	browsertest.WaitVisible(ctx, t, ".ticket-number")
	check("ticket")
	return browsertest.Text(ctx, t, ".ticket-number"), browsertest.Attr(ctx, t, ".ticket-qr", "data-follow")
}

// TestWalkInJourney is the whole walk-in flow in real browsers: tickets at
// the kiosk in English, Arabic and Ukrainian; the expert's queue updating
// live; a call reaching the display and the visitor's phone; the visit
// recorded; the statistics counting it. Every page passes axe.
func TestWalkInJourney(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	kiosk := browsertest.New(t, browsertest.Kiosk())
	staff := browsertest.New(t)
	phone := browsertest.New(t, browsertest.Phone())

	var follow string
	var numbers []string
	for _, lang := range []string{"en", "ar", "uk"} {
		n, f := takeTicketAtKiosk(kiosk, t, in.URL, lang, func(step string) {
			if step == "languages" {
				return // the language screen is the same for everyone; checked once below
			}
			if got := browsertest.Attr(kiosk, t, "html", "lang"); got != lang {
				t.Errorf("kiosk %s step %s: <html lang> = %q", lang, step, got)
			}
			wantDir := map[string]string{"ar": "rtl"}[lang]
			if wantDir == "" {
				wantDir = "ltr"
			}
			if got := browsertest.Attr(kiosk, t, "html", "dir"); got != wantDir {
				t.Errorf("kiosk %s step %s: dir = %q, want %q", lang, step, got, wantDir)
			}
			browsertest.Axe(kiosk, t)
			if lang == "ar" {
				browsertest.Screenshot(kiosk, t, "kiosk-ar-"+step)
			}
		})
		if !strings.HasPrefix(f, in.URL+"/t/") {
			t.Fatalf("follow link %q does not lead to this portal's /t/", f)
		}
		numbers = append(numbers, n)
		if lang == "en" {
			follow = f
		}
	}
	browsertest.Open(kiosk, t, in.URL+"/kiosk/demo")
	browsertest.Axe(kiosk, t)
	browsertest.Screenshot(kiosk, t, "kiosk-languages")
	if numbers[0] == numbers[1] || numbers[1] == numbers[2] {
		t.Fatalf("numbers repeat: %v", numbers)
	}

	// The visitor's phone follows the English ticket.
	browsertest.Open(phone, t, follow)
	browsertest.WaitVisible(phone, t, ".follow-ticket")
	if st := browsertest.Attr(phone, t, ".follow-ticket", "data-state"); st != "waiting" {
		t.Fatalf("phone shows state %q, want waiting", st)
	}
	browsertest.Axe(phone, t)

	// The expert picks desk 1 and sees the queue.
	browserLogin(staff, t, in.URL, "expert@example.org", demoPassword)
	browsertest.Open(staff, t, in.URL+"/staff/queue/demo")
	deskID := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '1'`)
	browsertest.Open(staff, t, in.URL+"/staff/queue/demo?desk="+deskID)
	for _, n := range numbers {
		waitText(staff, t, ".queue-table", n)
	}
	browsertest.Axe(staff, t)

	// A fourth visitor arrives: the open queue screen shows them without a reload.
	fourth, _ := takeTicketAtKiosk(kiosk, t, in.URL, "fi", func(string) {})
	waitText(staff, t, ".queue-table", fourth)

	// The waiting-room display.
	display := browsertest.New(t)
	browsertest.Open(display, t, in.URL+"/display/demo")
	browsertest.WaitVisible(display, t, ".display-now")
	browsertest.Axe(display, t)

	// The expert speaks English, so the English ticket (also the oldest) is called.
	clickLive(staff, t, ".call-next-button")
	waitText(staff, t, ".my-desk", numbers[0])
	waitText(display, t, ".display-now", numbers[0])
	browsertest.Screenshot(display, t, "display")
	waitText(phone, t, ".follow-ticket", "1") // the desk's name is "1"
	if st := browsertest.Attr(phone, t, ".follow-ticket", "data-state"); st != "called" {
		t.Fatalf("phone shows state %q after the call, want called", st)
	}
	browsertest.Screenshot(phone, t, "phone-called")

	// Serve, finish, record the visit.
	clickLive(staff, t, `.my-desk form[action$="/start"] button`)
	browsertest.WaitVisible(staff, t, `.my-desk form[action$="/finish"] button`)
	clickLive(staff, t, `.my-desk form[action$="/finish"] button`)
	browsertest.WaitVisible(staff, t, "form.visit-form")
	browsertest.Axe(staff, t)
	click(staff, t, `form.visit-form button[type="submit"]`)
	browsertest.WaitVisible(staff, t, ".queue-screen")
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM visits WHERE channel = 'walk_in'`); n != "1" {
		t.Fatalf("%s walk-in visits recorded, want 1", n)
	}

	// The lead's statistics count it.
	lead := browsertest.New(t)
	browserLogin(lead, t, in.URL, "demo@example.org", demoPassword)
	browsertest.Open(lead, t, in.URL+"/staff/stats")
	waitText(lead, t, "#stats-total", "1")
	browsertest.Axe(lead, t)
}

// TestKioskForgetsAfterIdle: a visitor who walks away leaves nothing behind.
func TestKioskForgetsAfterIdle(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword),
		portaltest.WithConfig(func(c *config.Config) { c.KioskIdle = 3 * time.Second }))
	kiosk := browsertest.New(t, browsertest.Kiosk())
	browsertest.Open(kiosk, t, in.URL+"/kiosk/demo?lang=ar")
	browsertest.WaitVisible(kiosk, t, ".kiosk-topics")
	// At three quarters of the time it asks whether more time is needed…
	browsertest.WaitVisible(kiosk, t, "#idle[open]")
	// …and at the end it is back at the language screen, in no language.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if browsertest.Eval[string](kiosk, t, `location.pathname + location.search`) == "/kiosk/demo" {
			browsertest.WaitVisible(kiosk, t, ".kiosk-languages")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the kiosk did not reset to the language screen")
}

// queryString runs one query as the owner and returns the single value.
func queryString(t testing.TB, ownerURL, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}
