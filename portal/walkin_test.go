package portal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/push/pushtest"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/portal/portaltest"
)

var followLink = regexp.MustCompile(`data-follow="[^"]*/t/([A-Za-z0-9_-]+)"`)

// ticketCount is a cheap fingerprint of the queue: bad input must not
// change it.
func ticketCount(t testing.TB, ownerURL string) string {
	return queryString(t, ownerURL, `SELECT count(*)::text || '/' || coalesce(sum(number), 0)::text || '/' ||
		count(*) FILTER (WHERE state = 'cancelled')::text FROM tickets`)
}

// postKiosk posts the kiosk's ticket form; a form without a one-time key
// gets a fresh one, as a freshly drawn interpreter screen would carry.
func postKiosk(t testing.TB, c *http.Client, base, csrf string, form url.Values) (int, string) {
	t.Helper()
	form.Set("_csrf", csrf)
	if !form.Has("key") {
		form.Set("key", queue.NewTakeKey())
	}
	resp, err := c.PostForm(base+"/kiosk/demo/tickets", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func kioskCSRF(t testing.TB, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/kiosk/demo?lang=en&topic=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no CSRF token on the kiosk")
	}
	return m[1]
}

// Everything a kiosk or a phone can send wrongly gets a clear answer and
// changes nothing.
func TestWalkInBadInput(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	// A second municipality with its own service point and topic, to forge with.
	var otherTopic, otherTicketTopic int64
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		ctx := context.Background()
		var m, sp int64
		if err := c.QueryRow(ctx, `INSERT INTO municipalities (slug, name) VALUES ('other', 'Other') RETURNING id`).Scan(&m); err != nil {
			return err
		}
		if err := c.QueryRow(ctx, `INSERT INTO service_points (municipality_id, slug) VALUES ($1, 'other-sp') RETURNING id`, m).Scan(&sp); err != nil {
			return err
		}
		if err := c.QueryRow(ctx, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix) VALUES ($1, $2, '{"fi":"x"}', 'other', 'Z') RETURNING id`, m, sp).Scan(&otherTopic); err != nil {
			return err
		}
		return c.QueryRow(ctx, `SELECT id FROM topics WHERE active AND prefix <> 'Z' ORDER BY position OFFSET 1 LIMIT 1`).Scan(&otherTicketTopic)
	}); err != nil {
		t.Fatal(err)
	}
	c := kioskClient(t)
	csrf := kioskCSRF(t, c, in.URL)
	before := ticketCount(t, in.OwnerURL)
	cases := []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"another municipality's topic", url.Values{"lang": {"en"}, "topic": {itoa(otherTopic)}, "interpreter": {"0"}}, 422, "no longer available"},
		{"no such topic", url.Values{"lang": {"en"}, "topic": {"999999"}, "interpreter": {"0"}}, 422, "no longer available"},
		{"topic not a number", url.Values{"lang": {"en"}, "topic": {"1; DROP TABLE tickets"}, "interpreter": {"0"}}, 422, "no longer available"},
		{"no language", url.Values{"topic": {"1"}, "interpreter": {"0"}}, 422, ""},
		{"unknown language", url.Values{"lang": {"xx-evil"}, "topic": {"1"}, "interpreter": {"0"}}, 422, ""},
		{"interpreter nonsense", url.Values{"lang": {"en"}, "topic": {"1"}, "interpreter": {"<script>"}}, 422, "no longer available"},
		{"invalid UTF-8", url.Values{"lang": {"en\xff"}, "topic": {"\xfe"}, "interpreter": {"0"}}, 422, ""},
	}
	for _, tc := range cases {
		status, body := postKiosk(t, c, in.URL, csrf, tc.form)
		if status != tc.status || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %d, want %d with %q", tc.name, status, tc.status, tc.says)
		}
	}
	// Without the CSRF token, or from another site.
	resp, err := c.PostForm(in.URL+"/kiosk/demo/tickets", url.Values{"lang": {"en"}, "topic": {"1"}, "interpreter": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("no CSRF token: %d, want 403", resp.StatusCode)
	}
	if after := ticketCount(t, in.OwnerURL); after != before {
		t.Fatalf("bad input changed the tickets: %s → %s", before, after)
	}

	// Follow links: forged, replayed after the day, another format.
	for _, token := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "not a token", strings.Repeat("x", 5000), "%00"} {
		resp, err := http.Get(in.URL + "/t/" + url.PathEscape(token) + "?lang=en")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 && resp.StatusCode != 431 && resp.StatusCode != 414 {
			t.Errorf("token %.20q: %d", token, resp.StatusCode)
		}
		if resp.StatusCode == 404 && !strings.Contains(string(body), "no longer valid") {
			t.Errorf("token %.20q: no clear message", token)
		}
	}
	_, page := takeTicketHTTP(t, kioskClient(t), in.URL, otherTicketTopic, "en")
	m := followLink.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no follow link on the ticket")
	}
	token := m[1]
	// Expire it as the end of the day would, then replay it.
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		_, err := c.Exec(context.Background(), `UPDATE tickets SET token_expires_at = now() - interval '1 second'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/t/" + token, "/api/v1/tickets/" + token} {
		resp, err := http.Get(in.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("expired %s: %d, want 404", path[:3], resp.StatusCode)
		}
	}
	cancelled := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tickets WHERE state = 'cancelled'`)
	pc := kioskClient(t)
	csrf = kioskCSRF(t, pc, in.URL)
	resp, err = pc.PostForm(in.URL+"/t/"+token+"/cancel", url.Values{"_csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 || queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tickets WHERE state = 'cancelled'`) != cancelled {
		t.Errorf("cancel with an expired token: %d, or something changed", resp.StatusCode)
	}

	// A flood from one kiosk is stopped with a clear message.
	topic := firstTopic(t, in.OwnerURL)
	var last int
	var lastBody string
	for i := 0; i < queue.DefaultFloodLimit+1; i++ {
		last, lastBody = postKiosk(t, pc, in.URL, csrf, url.Values{"lang": {"en"}, "topic": {itoa(topic)}, "interpreter": {"0"}})
	}
	if last != 429 || !strings.Contains(lastBody, "Too many queue numbers") {
		t.Errorf("flood: %d, want 429 with a message", last)
	}
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM tickets WHERE topic_id = $1`, topic); n != itoa(int64(queue.DefaultFloodLimit-1)) {
		t.Errorf("%s tickets after the flood, want %d", n, queue.DefaultFloodLimit-1)
	}

}

// Staff of a service point cannot act on another service point's ticket.
func TestQueueActionOnAnotherServicePointsTicket(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	var foreign int64
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		ctx := context.Background()
		var m, sp, topic int64
		if err := c.QueryRow(ctx, `SELECT municipality_id FROM service_points WHERE slug = 'demo'`).Scan(&m); err != nil {
			return err
		}
		if err := c.QueryRow(ctx, `INSERT INTO service_points (municipality_id, slug) VALUES ($1, 'second') RETURNING id`, m).Scan(&sp); err != nil {
			return err
		}
		if err := c.QueryRow(ctx, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix) VALUES ($1, $2, '{"fi":"x"}', 'other', 'Q') RETURNING id`, m, sp).Scan(&topic); err != nil {
			return err
		}
		return c.QueryRow(ctx, `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number, service_day, language)
			VALUES ($1, $2, $3, $3, 'Q', 1, current_date, 'fi') RETURNING id`, m, sp, topic).Scan(&foreign)
	}); err != nil {
		t.Fatal(err)
	}
	staff := newSetupAgent(t, in)
	staff.loginWith("expert@example.org", demoPassword)
	desk := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '1'`)
	resp, _ := staff.post("/staff/queue/demo/tickets/"+itoa(foreign)+"/call", url.Values{"desk": {desk}})
	if resp.StatusCode != 303 || !strings.Contains(resp.Header.Get("Location"), "msg=queue.gone") {
		t.Errorf("calling another service point's ticket: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if st := queryString(t, in.OwnerURL, `SELECT state FROM tickets WHERE id = $1`, foreign); st != "waiting" {
		t.Errorf("the foreign ticket became %s", st)
	}
}

// The phone's push subscription gets the call as a real, encrypted Web
// Push message in the visitor's language; a subscription the push service
// says is gone is deleted.
func TestTicketPushOnCall(t *testing.T) {
	fake := pushtest.NewServer(t)
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword), portaltest.WithPush(fake.Sender()))
	sub, client := fake.NewSubscription()
	_, page := takeTicketHTTP(t, kioskClient(t), in.URL, firstTopic(t, in.OwnerURL), "sv")
	m := followLink.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no follow link")
	}
	token := m[1]
	phone := kioskClient(t)
	csrf := pageCSRF(t, phone, in.URL+"/t/"+token)
	body, _ := json.Marshal(sub)
	req, _ := http.NewRequest("POST", in.URL+"/t/"+token+"/push", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := phone.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("saving the subscription: %d", resp.StatusCode)
	}
	// A subscription to a host off the allow-list is refused.
	evil := strings.Replace(string(body), fake.Host(), "evil.example", 1)
	req, _ = http.NewRequest("POST", in.URL+"/t/"+token+"/push", strings.NewReader(evil))
	req.Header.Set("X-CSRF-Token", csrf)
	if resp, err = phone.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Errorf("subscription to another host: %d, want 422", resp.StatusCode)
	}

	staff := newSetupAgent(t, in)
	staff.loginWith("expert@example.org", demoPassword)
	desk := queryString(t, in.OwnerURL, `SELECT id::text FROM desks WHERE name = '3'`)
	staff.post("/staff/queue/demo/call-next", url.Values{"desk": {desk}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg, err := fake.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("no push arrived: %v", err)
	}
	fake.CheckNoFailures(t)
	var shown struct{ Title, Body, Lang string }
	if err := json.Unmarshal(msg.Payload, &shown); err != nil {
		t.Fatalf("payload %q: %v", msg.Payload, err)
	}
	if shown.Lang != "sv" || !strings.Contains(shown.Title, "A 1") || !strings.Contains(shown.Body, "disk 3") {
		t.Errorf("push said %+v, want Swedish, A 1, disk 3", shown)
	}
	if msg.Urgency != "high" || msg.TTL <= 0 || len(msg.Payload) > 3000 {
		t.Errorf("urgency %q ttl %d size %d", msg.Urgency, msg.TTL, len(msg.Payload))
	}
	_ = client

	// Recalled, but the push service now says the subscription is gone.
	client.SetReply(pushtest.Reply{Status: 410})
	id := queryString(t, in.OwnerURL, `SELECT id::text FROM tickets WHERE state = 'called'`)
	staff.post("/staff/queue/demo/tickets/"+id+"/recall", url.Values{"desk": {desk}})
	deadline := time.Now().Add(10 * time.Second)
	for queryString(t, in.OwnerURL, `SELECT count(*)::text FROM ticket_push`) != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the gone subscription was not deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pageCSRF(t testing.TB, c *http.Client, page string) string {
	t.Helper()
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no CSRF token on %s (%d)", page, resp.StatusCode)
	}
	return m[1]
}
