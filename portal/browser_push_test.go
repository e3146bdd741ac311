package portal_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// A reminder pushed to the client's phone is shown by the service worker,
// in her language and direction, and reported back: the delivery moves from
// sent to delivered. Chromium here reaches no push service, so DevTools
// hands the message to the registered worker (ServiceWorker.deliverPushMessage),
// unencrypted, in the shape the sender encrypts.
func TestPushedReminderShownAndReportedInBrowser(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	client, _, appt := outreachClient(t, in)
	staffHTTP := newSecBrowser(t, in)
	staffHTTP.login(demo.ExpertEmail)
	link := enrolmentLink(t, staffHTTP, client)

	phone := browsertest.New(t, browsertest.Phone())
	// The worker reports itself to DevTools once the domain is on; listen
	// before it registers so no update is missed.
	regs := make(chan *serviceworker.Registration, 16)
	if err := chromedp.Listen(phone, func(ev any) {
		if u, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range u.Registrations {
				select {
				case regs <- r:
				default:
				}
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(phone, serviceworker.Enable, struct{}{}); err != nil {
		t.Fatalf("ServiceWorker.enable: %v", err)
	}
	// The tap that would allow notifications, granted as the client would.
	if _, err := chromedp.CallBrowser(phone, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: in.URL,
	}); err != nil {
		t.Fatalf("Browser.setPermission: %v", err)
	}

	browsertest.Open(phone, t, in.URL+link)
	click(phone, t, ".client-enrol button")
	browsertest.WaitVisible(phone, t, "#client")
	if !browsertest.Eval[bool](phone, t, `navigator.serviceWorker.ready.then(r => !!r.active)`) {
		t.Fatal("no active service worker")
	}
	// The worker learns the page's address (its credential) from the page.
	deadline := time.Now().Add(browsertest.StepTimeout)
	for !browsertest.Eval[bool](phone, t, `caches.open('koto-follow').then(c => c.match('/__client')).then(r => !!r)`) {
		if time.Now().After(deadline) {
			t.Fatal("the service worker never kept the client page's address")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var reg serviceworker.RegistrationID
	for reg == "" {
		select {
		case r := <-regs:
			if !r.IsDeleted && strings.TrimSuffix(r.ScopeURL, "/") == in.URL {
				reg = r.RegistrationID
			}
		case <-time.After(browsertest.StepTimeout):
			t.Fatal("DevTools named no service worker registration for the portal")
		}
	}

	// The reminder as the sender records and sends it: a delivery sent to
	// this phone, and its payload.
	var delivery int64
	if err := owner.QueryRow(ctx, `INSERT INTO client_deliveries (municipality_id, client_id, device_id, appointment_id, kind,
		status, created_at, updated_at)
		SELECT d.municipality_id, d.client_id, d.id, $2, 'reminder_24h', 'sent', now(), now() FROM client_devices d
		WHERE d.client_id = $1 AND d.revoked_at IS NULL RETURNING id`, client, appt).Scan(&delivery); err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{"title": "Xasuusin", "body": "Ballan ayaad leedahay berri 10:00.",
		"lang": "so", "dir": "ltr", "tag": "appointment-1", "client": true, "delivery": delivery})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(phone, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: in.URL, RegistrationID: reg, Data: string(payload)}); err != nil {
		t.Fatalf("ServiceWorker.deliverPushMessage: %v", err)
	}

	status := func() string {
		var s string
		if err := owner.QueryRow(ctx, `SELECT status FROM client_deliveries WHERE id = $1`, delivery).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(browsertest.StepTimeout)
		for status() != want {
			if time.Now().After(deadline) {
				t.Fatalf("delivery %s, want %s", status(), want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus("delivered")
	shown := browsertest.Eval[string](phone, t, `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns =>
		ns.map(n => [n.title, n.body, n.lang, n.dir, n.tag, n.data.delivery].join('|')).join(';'))`)
	want := strings.Join([]string{"Xasuusin", "Ballan ayaad leedahay berri 10:00.", "so", "ltr", "appointment-1"}, "|") + "|" +
		jsonNumber(delivery)
	if shown != want {
		t.Errorf("notifications shown %q, want %q", shown, want)
	}
	browsertest.Axe(phone, t)

	// A tap. DevTools has no command that clicks a notification, so the
	// test steps into the worker (a target of its own) and dispatches a
	// notificationclick there for the notification it showed. The event is
	// synthetic: the worker's waitUntil refuses it, but the handler has
	// started its report by then, as a real tap starts it.
	infos, err := chromedp.Targets(phone)
	if err != nil {
		t.Fatal(err)
	}
	var worker target.ID
	for _, info := range infos {
		if info.Type == "service_worker" && info.URL == in.URL+"/sw.js" {
			worker = info.TargetID
		}
	}
	if worker == "" {
		t.Fatal("DevTools lists no target for the portal's service worker")
	}
	wctx, cancel := chromedp.NewContext(phone, chromedp.WithTargetID(worker))
	defer cancel()
	if err := chromedp.Do(wctx); err != nil { // attach, on a context without a timeout
		t.Fatalf("attach to the service worker: %v", err)
	}
	tapped := browsertest.Eval[string](wctx, t, `self.registration.getNotifications().then(ns => {
		const n = ns.find(n => n.data && n.data.delivery === `+jsonNumber(delivery)+`);
		if (!n) { return 'no notification'; }
		self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
		return 'tapped';
	})`)
	if tapped != "tapped" {
		t.Fatalf("in the worker: %s", tapped)
	}
	waitStatus("opened")
	if n := browsertest.Eval[int](phone, t, `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.length)`); n != 0 {
		t.Errorf("%d notifications still shown after the tap", n)
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
