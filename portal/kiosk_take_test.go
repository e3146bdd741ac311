package portal_test

import (
	"bufio"
	"html"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/portal/portaltest"
)

var (
	keyField     = regexp.MustCompile(`name="key" value="([^"]+)"`)
	ticketNumber = regexp.MustCompile(`id="ticket-number"[^>]*>([^<]+)<`)
)

// kioskForm is the interpreter screen's form as a kiosk would send it.
func kioskForm(t testing.TB, c *http.Client, base string, topic int64) url.Values {
	t.Helper()
	resp, err := c.Get(base + "/kiosk/demo?lang=en&topic=" + itoa(topic))
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	csrf, key := csrfField.FindStringSubmatch(page), keyField.FindStringSubmatch(page)
	if csrf == nil || key == nil {
		t.Fatalf("interpreter screen (status %d) without CSRF field or one-time key", resp.StatusCode)
	}
	return url.Values{"_csrf": {csrf[1]}, "key": {key[1]}, "lang": {"en"}, "topic": {itoa(topic)}, "interpreter": {"0"}}
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A kiosk's tap costs one database transaction, everything the ticket page
// shows included; drawing the screen before it again costs none.
func TestKioskTicketIsOneTransaction(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	c := kioskClient(t)
	topic := firstTopic(t, in.OwnerURL)
	form := kioskForm(t, c, in.URL, topic) // warms the pool and the templates

	before := in.DB.Pool.Stat().AcquireCount()
	resp, err := c.Get(in.URL + "/kiosk/demo?lang=en&topic=" + itoa(topic))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	// The set-up it shows is in memory since kioskForm drew it.
	if n := in.DB.Pool.Stat().AcquireCount() - before; n != 0 {
		t.Errorf("the interpreter screen took %d transactions, want none", n)
	}

	before = in.DB.Pool.Stat().AcquireCount()
	resp, err = c.PostForm(in.URL+"/kiosk/demo/tickets", form)
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, resp)
	if n := in.DB.Pool.Stat().AcquireCount() - before; n != 1 {
		t.Errorf("a kiosk ticket took %d transactions, want 1", n)
	}
	label := queryString(t, in.OwnerURL, `SELECT labels->>'en' FROM topics WHERE id = $1`, topic)
	if resp.StatusCode != 200 || ticketNumber.FindStringSubmatch(page) == nil ||
		!strings.Contains(page, `<span data-speak>`+html.EscapeString(label)+`</span></p>`) {
		t.Fatalf("ticket page: %d without the number or the topic %q", resp.StatusCode, label)
	}
}

// The same tap sent twice answers with the first ticket: once when the
// browser simply resubmits, once when the first answer never arrived (the
// connection dropped after the request was sent, as a cut network does).
func TestKioskRepeatedTapGivesTheFirstTicket(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	c := kioskClient(t)
	topic := firstTopic(t, in.OwnerURL)

	form := kioskForm(t, c, in.URL, topic)
	var numbers []string
	for range 2 {
		status, page := postKiosk(t, c, in.URL, form.Get("_csrf"), form)
		m := ticketNumber.FindStringSubmatch(page)
		if status != 200 || m == nil {
			t.Fatalf("tap: %d without a number", status)
		}
		numbers = append(numbers, m[1])
	}
	if numbers[0] != numbers[1] {
		t.Fatalf("one tap sent twice gave %q and %q", numbers[0], numbers[1])
	}
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tickets`); n != "1" {
		t.Fatalf("%s tickets after one tap sent twice", n)
	}

	// The lost answer: the request goes out on a raw connection that is
	// closed at once, so its answer is never read.
	form = kioskForm(t, c, in.URL, topic)
	u, _ := url.Parse(in.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, in.URL+"/kiosk/demo/tickets", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", in.URL)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tickets`) != "2" {
		if time.Now().After(deadline) {
			t.Fatal("the tap whose answer was lost never took its ticket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	status, page := postKiosk(t, c, in.URL, form.Get("_csrf"), form)
	m := ticketNumber.FindStringSubmatch(page)
	if status != 200 || m == nil {
		t.Fatalf("repeated tap: %d without a number", status)
	}
	first := queryString(t, in.OwnerURL, `SELECT prefix || ' ' || number FROM tickets ORDER BY id DESC LIMIT 1`)
	if strings.TrimSpace(m[1]) != first {
		t.Fatalf("the repeat shows %q, the lost answer's ticket is %q", m[1], first)
	}
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tickets`); n != "2" {
		t.Fatalf("%s tickets after the repeat of a tap whose answer was lost, want 2", n)
	}
}

// The interpreter screen carries the tap's one-time key, from which a
// repeat gets the ticket and its follow link: a browser must not keep it
// for the next visitor's back button.
func TestKioskKeyScreenIsNotStored(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	resp, err := kioskClient(t).Get(in.URL + "/kiosk/demo?lang=en&topic=" + itoa(firstTopic(t, in.OwnerURL)))
	if err != nil {
		t.Fatal(err)
	}
	if page := readAll(t, resp); keyField.FindStringSubmatch(page) == nil {
		t.Fatalf("interpreter screen (status %d) without its one-time key", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("interpreter screen: Cache-Control %q, want no-store", cc)
	}
}
