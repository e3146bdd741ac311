package portal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/portal/portaltest"
)

// kioskClient is a browser-like HTTP client with a cookie jar.
func kioskClient(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// takeTicketHTTP takes a ticket at the demo kiosk the way its form does and
// returns the page the kiosk shows.
func takeTicketHTTP(t testing.TB, c *http.Client, base string, topicID int64, lang string) (int, string) {
	t.Helper()
	resp, err := c.Get(base + "/kiosk/demo?lang=" + lang + "&topic=" + itoa(topicID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the kiosk's interpreter screen (status %d)", resp.StatusCode)
	}
	key := keyField.FindSubmatch(page)
	if key == nil {
		t.Fatal("no one-time key on the kiosk's interpreter screen")
	}
	form := url.Values{"_csrf": {string(m[1])}, "lang": {lang}, "topic": {itoa(topicID)}, "interpreter": {"0"}, "key": {string(key[1])}}
	resp, err = c.PostForm(base+"/kiosk/demo/tickets", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func itoa(n int64) string { return strings.TrimSpace(strings.Replace(jsonString(n), `"`, "", -1)) }

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }

func firstTopic(t testing.TB, ownerURL string) int64 {
	t.Helper()
	var id int64
	if err := withOwner(t, ownerURL, func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `SELECT id FROM topics ORDER BY position LIMIT 1`).Scan(&id)
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

func withOwner(t testing.TB, ownerURL string, fn func(*pgx.Conn) error) error {
	ctx := context.Background()
	c, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return fn(c)
}

// dialLive opens the display's websocket as a browser on base would.
func dialLive(t testing.TB, base, query string) *websocket.Conn {
	t.Helper()
	h := http.Header{"Origin": {base}}
	ws, resp, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http://", "ws://", 1)+"/ws?"+query, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial /ws?%s: %v (status %d)", query, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

type liveMessage struct {
	Channel string          `json:"channel"`
	Seq     int64           `json:"seq"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
}

// readUntil reads socket messages until one of the given type arrives.
func readUntil(t testing.TB, ws *websocket.Conn, typ string, within time.Duration) liveMessage {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(within))
	for {
		var m liveMessage
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("no %q message: %v", typ, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

// Two portal instances on one database, as behind a load balancer: a ticket
// taken through instance 1 reaches a screen connected to instance 2.
func TestTicketReachesScreenOnAnotherInstance(t *testing.T) {
	one := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	two := portaltest.Start(t, portaltest.WithDatabase(one.OwnerURL), portaltest.WithConfig(func(c *config.Config) { c.Demo = true }))
	ws := dialLive(t, two.URL, "display=demo")
	readUntil(t, ws, "resync", 5*time.Second)

	status, page := takeTicketHTTP(t, kioskClient(t), one.URL, firstTopic(t, one.OwnerURL), "en")
	if status != 200 || !strings.Contains(page, `class="ticket-number"`) {
		t.Fatalf("kiosk answered %d", status)
	}
	m := readUntil(t, ws, queue.EventCreated, 5*time.Second)
	var data struct{ Label string }
	_ = json.Unmarshal(m.Data, &data)
	if data.Label != "A 1" || m.Seq != 1 || !strings.HasPrefix(m.Channel, "sp:") {
		t.Fatalf("instance 2 got %+v (label %q)", m, data.Label)
	}
}

// The websocket answers only to the same origin and the right credential.
func TestWebsocketRefusesOtherOriginsAndStrangers(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	try := func(query, origin string) int {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, resp, err := websocket.DefaultDialer.Dial(strings.Replace(in.URL, "http://", "ws://", 1)+"/ws?"+query, h)
		if err == nil {
			ws.Close()
			return 101
		}
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return resp.StatusCode
	}
	cases := []struct {
		query, origin string
		want          int
	}{
		{"display=demo", in.URL, 101},
		{"display=demo", "http://evil.example", 403},
		{"display=demo", "", 403},
		{"queue=demo", in.URL, 101},   // demo mode: the demo display's device is allowed
		{"display=nope", in.URL, 403}, // no such service point, no device
		{"ticket=not-a-real-token-at-all-xxxxxxxx", in.URL, 404},
		{"", in.URL, 400},
	}
	for _, tc := range cases {
		if got := try(tc.query, tc.origin); got != tc.want {
			t.Errorf("/ws?%s from %q: %d, want %d", tc.query, tc.origin, got, tc.want)
		}
	}
}

// Cut every database connection under a live display while a number is
// called: the display must come back showing the true state, not the state
// from before the cut.
func TestDisplayShowsTruthAfterDatabaseConnectionsAreKilled(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	topic := firstTopic(t, in.OwnerURL)
	if status, _ := takeTicketHTTP(t, kioskClient(t), in.URL, topic, "en"); status != 200 {
		t.Fatalf("kiosk answered %d", status)
	}
	display := browsertest.New(t)
	browsertest.Open(display, t, in.URL+"/display/demo")
	waitText(display, t, ".display-waiting", "1")

	// Every backend of this database goes: the listener's LISTEN connection
	// and the pool's connections alike.
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		_, err := c.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// While the listener is down, the number is called (on a fresh pool connection).
	var tenant, sp, desk, staff int64
	if err := withOwner(t, in.OwnerURL, func(c *pgx.Conn) error {
		return c.QueryRow(context.Background(), `SELECT s.municipality_id, s.id, d.id, st.id FROM service_points s
			JOIN desks d ON d.service_point_id = s.id AND d.name = '2' JOIN staff st ON st.email = 'expert@example.org'`).Scan(&tenant, &sp, &desk, &staff)
	}); err != nil {
		t.Fatal(err)
	}
	q := queue.New(in.DB, nil)
	expert := queue.Expert{Slug: "demo", Desk: desk, Actor: auth.Principal{StaffID: staff, Tenant: tenant,
		Grants: []auth.Grant{{Role: auth.RoleExpert, ServicePointID: sp}}}}
	var called queue.Ticket
	var err error
	for i := 0; i < 50; i++ { // the pool may hand out a killed connection once
		if called, err = q.CallNext(context.Background(), expert, nil); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	waitText(display, t, ".display-now", called.Label())
	waitText(display, t, ".display-now", "2")
	if in.Listener.Stats().Sessions < 2 {
		t.Fatalf("the listener did not reconnect: %+v", in.Listener.Stats())
	}
}
