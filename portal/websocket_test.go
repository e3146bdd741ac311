package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/portal/portaltest"
)

// dialAs opens /ws?query with the browser's cookies, as its page would;
// status is the handshake's answer when it was refused.
func dialAs(t *testing.T, base, query string, cookies map[string]string) (ws *websocket.Conn, status int) {
	t.Helper()
	h := http.Header{"Origin": {base}}
	var parts []string
	for k, v := range cookies {
		parts = append(parts, k+"="+v)
	}
	if len(parts) > 0 {
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	ws, resp, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http://", "ws://", 1)+"/ws?"+query, h)
	if err != nil {
		if resp != nil {
			return nil, resp.StatusCode
		}
		t.Fatalf("dial /ws?%s: %v", query, err)
	}
	t.Cleanup(func() { ws.Close() })
	readUntil(t, ws, "resync", 5*time.Second)
	return ws, http.StatusSwitchingProtocols
}

// expectClosedBy waits for the portal to close ws with a close frame.
func expectClosedBy(t *testing.T, ws *websocket.Conn, what string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Errorf("after %s the socket ended with %v, want a policy-violation close", what, err)
		}
		return
	}
}

// A staff screen's socket closes when its session ends (logout) or its
// account is switched off; a display's when its device is revoked. Until
// then the socket stays open and live.
func TestSocketsCloseWhenTheirRightEnds(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()

	// Logout.
	lead := newSecBrowser(t, in)
	lead.login(demo.LeadEmail)
	ws, status := dialAs(t, in.URL, "queue=demo", lead.cookies)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("the lead's queue socket: %d", status)
	}
	if r := lead.do(http.MethodPost, "/logout", url.Values{"_csrf": {lead.csrf}}, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.Status)
	}
	expectClosedBy(t, ws, "logout")
	if _, status := dialAs(t, in.URL, "queue=demo", lead.cookies); status != http.StatusForbidden {
		t.Errorf("the logged-out cookie opened a socket again: %d", status)
	}

	// The account switched off, by whatever path.
	expert := newSecBrowser(t, in)
	expert.login(demo.ExpertEmail)
	ws, _ = dialAs(t, in.URL, "queue=demo", expert.cookies)
	if _, err := owner.Exec(ctx, `UPDATE staff SET active = false WHERE email = $1`, demo.ExpertEmail); err != nil {
		t.Fatal(err)
	}
	expectClosedBy(t, ws, "deactivation")

	// A role taken away.
	admin := newSecBrowser(t, in)
	admin.login(demo.AdminEmail)
	ws, _ = dialAs(t, in.URL, "queue=demo", admin.cookies)
	if _, err := owner.Exec(ctx, `DELETE FROM staff_roles WHERE staff_id = (SELECT id FROM staff WHERE email = $1)`, demo.AdminEmail); err != nil {
		t.Fatal(err)
	}
	expectClosedBy(t, ws, "a role change")

	// A paired display, revoked by its lead through the devices page.
	token := auth.NewToken()
	var deviceID int64
	if err := owner.QueryRow(ctx, `UPDATE devices SET token_hash = $1, paired_at = now() WHERE kind = 'display' RETURNING id`,
		auth.Hash(token)).Scan(&deviceID); err != nil {
		t.Fatal(err)
	}
	ws, status = dialAs(t, in.URL, "display=demo", map[string]string{"koto_device": token})
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("the display's socket: %d", status)
	}
	lead2 := newSecBrowser(t, in)
	lead2.login(demo.LeadEmail)
	if r := lead2.do(http.MethodPost, "/staff/setup/demo/devices/"+strconv.FormatInt(deviceID, 10)+"/revoke",
		url.Values{"_csrf": {lead2.csrf}}, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	expectClosedBy(t, ws, "the device's revocation")
}

// A visitor's phone sees its own ticket's events in full and, of its
// queue, only that it moved: never another visitor's language, interpreter
// need or ticket.
func TestPhoneSocketSeesOnlyItsOwnTicket(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword))
	topic := firstTopic(t, in.OwnerURL)
	_, page := takeTicketHTTP(t, kioskClient(t), in.URL, topic, "so")
	m := followLink.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no follow link on the ticket page")
	}
	mine := m[1]
	phone, status := dialAs(t, in.URL, "ticket="+url.QueryEscape(mine), nil)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("the phone's socket: %d", status)
	}
	// Someone else takes a ticket, in Arabic; then the phone's own is cancelled.
	takeTicketHTTP(t, kioskClient(t), in.URL, topic, "ar")
	if _, err := queue.New(in.DB, nil).Cancel(context.Background(), mine); err != nil {
		t.Fatal(err)
	}
	_ = phone.SetReadDeadline(time.Now().Add(5 * time.Second))
	var sawQueue, sawOwn bool
	for !sawOwn {
		var msg liveMessage
		if err := phone.ReadJSON(&msg); err != nil {
			t.Fatalf("reading the phone's socket: %v", err)
		}
		switch {
		case strings.HasPrefix(msg.Channel, "sp:"):
			sawQueue = true
			if len(msg.Data) != 0 {
				t.Errorf("the phone got queue data: %s %s", msg.Type, msg.Data)
			}
		case strings.HasPrefix(msg.Channel, "ticket:"):
			var d struct {
				Language string `json:"language"`
				State    string `json:"state"`
			}
			_ = json.Unmarshal(msg.Data, &d)
			if d.Language != "so" {
				t.Errorf("the phone got another ticket's event: %s %s", msg.Channel, msg.Data)
			}
			sawOwn = msg.Type == queue.EventCancelled
		}
	}
	if !sawQueue {
		t.Error("the phone never learnt that its queue moved")
	}
}

// One ticket link opens at most a few sockets, and one client address a
// bounded number, on each instance.
func TestSocketCaps(t *testing.T) {
	in := portaltest.Start(t, portaltest.WithDemo(demoPassword), portaltest.WithConfig(func(c *config.Config) { c.Demo = true }))
	_, page := takeTicketHTTP(t, kioskClient(t), in.URL, firstTopic(t, in.OwnerURL), "en")
	token := followLink.FindStringSubmatch(page)[1]
	var open []*websocket.Conn
	for i := range 4 {
		ws, status := dialAs(t, in.URL, "ticket="+url.QueryEscape(token), nil)
		if status != http.StatusSwitchingProtocols {
			t.Fatalf("socket %d of one ticket: %d", i+1, status)
		}
		open = append(open, ws)
	}
	if _, status := dialAs(t, in.URL, "ticket="+url.QueryEscape(token), nil); status != http.StatusTooManyRequests {
		t.Fatalf("a fifth socket of one ticket: %d, want 429", status)
	}
	// A closed socket gives its place back.
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ws, status := dialAs(t, in.URL, "ticket="+url.QueryEscape(token), nil)
		if status == http.StatusSwitchingProtocols {
			open[0] = ws
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed socket's place never came back: %d", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Displays from one address: 256 in all, the ticket's four included.
	for i := range 256 - 4 {
		if _, status := dialAs(t, in.URL, "display=demo", nil); status != http.StatusSwitchingProtocols {
			t.Fatalf("socket %d from one address: %d", i+5, status)
		}
	}
	if _, status := dialAs(t, in.URL, "display=demo", nil); status != http.StatusTooManyRequests {
		t.Errorf("socket 257 from one address: %d, want 429", status)
	}
}
