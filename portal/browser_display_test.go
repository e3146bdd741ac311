package portal_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/portal/portaltest"
)

// emptyHeadings counts headings of the display's live part with nothing
// under them.
const emptyHeadings = `(function(){
  var n = 0;
  document.querySelectorAll('#live section').forEach(function (s) {
    var h = s.querySelector('h2');
    if (h && s.innerText.trim() === h.innerText.trim()) { n++; }
  });
  return n;
})()`

// TestDisplayReadsAcrossTheRoom: the waiting-room display on a 1920×1080
// screen whose browser speaks English starts in the service point's
// Finnish, shows no heading over an empty list, and once a number is
// called, shows it in the upper part of the screen in numerals a room can
// read. Switched with ?lang=, its live redraws stay in that language.
func TestDisplayReadsAcrossTheRoom(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	display := browsertest.New(t, browsertest.Size(1920, 1080), browsertest.Lang("en-US"))
	browsertest.Open(display, t, in.URL+"/display/demo")
	browsertest.WaitVisible(display, t, ".display-now")
	if got := browsertest.Attr(display, t, "html", "lang"); got != "fi" {
		t.Errorf("the display starts in %q (its browser's language), want the service point's fi", got)
	}
	if n := browsertest.Eval[int](display, t, emptyHeadings); n != 0 {
		t.Errorf("the display shows %d heading(s) over nothing", n)
	}
	browsertest.Screenshot(display, t, "display-empty")

	// Two visitors; the first is called, live.
	c := kioskClient(t)
	topic := firstTopic(t, in.OwnerURL)
	for range 2 {
		if status, _ := takeTicketHTTP(t, c, in.URL, topic, "en"); status != 200 {
			t.Fatalf("take: %d", status)
		}
	}
	first := callNext(t, in)
	waitText(display, t, ".display-now", first.Label())
	if n := browsertest.Eval[int](display, t, emptyHeadings); n != 0 {
		t.Errorf("after a call the display shows %d heading(s) over nothing", n)
	}
	h := browsertest.Eval[float64](display, t, `document.querySelector('.display-now .call').getBoundingClientRect().height / innerHeight`)
	top := browsertest.Eval[float64](display, t, `document.querySelector('.display-now .call').getBoundingClientRect().top / innerHeight`)
	if h < 0.18 || top > 0.5 {
		t.Errorf("the current call is %.0f%% of the screen's height, starting %.0f%% down; want a large share of the upper part", h*100, top*100)
	}
	browsertest.Screenshot(display, t, "display-called")

	// The first is served; the next call moves it to "earlier calls".
	queryString(t, in.OwnerURL, `UPDATE tickets SET state = 'done' WHERE id = $1 RETURNING id::text`, first.ID)
	second := callNext(t, in)
	waitText(display, t, ".display-now", second.Label())
	waitText(display, t, ".display-recent", first.Label())

	// Switched to Swedish, the display redraws live in Swedish.
	browsertest.Open(display, t, in.URL+"/display/demo?lang=sv")
	if got := browsertest.Attr(display, t, "html", "lang"); got != "sv" {
		t.Fatalf("the display with ?lang=sv shows %q", got)
	}
	queryString(t, in.OwnerURL, `UPDATE tickets SET state = 'done' WHERE id = $1 RETURNING id::text`, second.ID)
	if status, _ := takeTicketHTTP(t, c, in.URL, topic, "en"); status != 200 {
		t.Fatalf("take: %d", status)
	}
	third := callNext(t, in)
	waitText(display, t, ".display-now", third.Label())
	redrawn := liveText(display, t)
	browsertest.Open(display, t, in.URL+"/display/demo?lang=sv")
	if fresh := liveText(display, t); fresh != redrawn {
		t.Errorf("the display's live redraw is not in the page's Swedish:\nlive:  %q\nfresh: %q", redrawn, fresh)
	}

	// Right to left, the desk stands left of the number, and the arrow
	// between them points left, from the number to the desk.
	for _, lang := range []string{"sv", "fa-AF"} {
		browsertest.Open(display, t, in.URL+"/display/demo?lang="+lang)
		var got struct {
			DeskLeft bool
			Left     bool
		}
		if err := json.Unmarshal([]byte(browsertest.Eval[string](display, t, arrowPointsToDesk)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Left != got.DeskLeft {
			t.Errorf("%s: the desk stands left of the number: %v, the arrow points left: %v", lang, got.DeskLeft, got.Left)
		}
		if rtl := lang == "fa-AF"; got.DeskLeft != rtl {
			t.Errorf("%s: the desk stands left of the number: %v", lang, got.DeskLeft)
		}
	}
}

// arrowPointsToDesk tells where the first call's desk stands beside its
// number and which way its arrow (drawn as "→") points once styled.
const arrowPointsToDesk = `(function(){
  var call = document.querySelector('.display-now .call');
  var n = call.querySelector('.call-number').getBoundingClientRect();
  var d = call.querySelector('.call-desk').getBoundingClientRect();
  var m = new DOMMatrix(getComputedStyle(call.querySelector('.call-arrow')).transform);
  return JSON.stringify({DeskLeft: d.left < n.left, Left: m.a < 0});
})()`

// callNext calls the next visitor to desk 1 as the demo expert would.
func callNext(t testing.TB, in *portaltest.Instance) queue.Ticket {
	t.Helper()
	id := func(sql string) int64 {
		n, err := strconv.ParseInt(queryString(t, in.OwnerURL, sql), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	tenant := id(`SELECT municipality_id::text FROM service_points WHERE slug = 'demo'`)
	sp := id(`SELECT id::text FROM service_points WHERE slug = 'demo'`)
	desk := id(`SELECT id::text FROM desks WHERE name = '1'`)
	staff := id(`SELECT id::text FROM staff WHERE email = 'expert@example.org'`)
	expert := queue.Expert{Slug: "demo", Desk: desk, Actor: auth.Principal{StaffID: staff, Tenant: tenant,
		Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: sp}}}}
	tk, err := queue.New(in.DB, nil).CallNext(context.Background(), expert, nil)
	if err != nil {
		t.Fatalf("call next: %v", err)
	}
	return tk
}
