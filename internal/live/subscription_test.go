package live

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/koto-portal/portal/internal/testdb"
)

// dialQuery connects with a raw query (channels=…&bare=…&keys=…) and waits
// for the greeting.
func dialQuery(t *testing.T, ts *testServer, query string) *client {
	t.Helper()
	ws, _, err := gws.DefaultDialer.Dial("ws://"+ts.addr+"/ws?"+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &client{t: t, ws: ws}
	c.expectResync()
	return c
}

// expectClosed waits for the server's close frame and returns its code.
func (c *client) expectClosed() int {
	c.t.Helper()
	for {
		_, err := c.read(waitLong)
		if err == nil {
			continue
		}
		var ce *gws.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		c.t.Fatalf("no close frame: %v", err)
	}
}

// A bare channel tells that something changed, never what: a phone
// following its ticket learns that its queue moved, not the language or
// interpreter need of the visitor who moved.
func TestBareChannelsCarryNoData(t *testing.T) {
	h, _ := startHub(t, Options{})
	ts := startServer(t, h, nil)
	phone := dialQuery(t, ts, "channels=ticket:1&bare=sp:1")
	screen := dialQuery(t, ts, "channels=sp:1")

	other, _ := json.Marshal(map[string]any{"id": 2, "language": "ar", "interpreter": true})
	mine, _ := json.Marshal(map[string]any{"id": 1, "language": "so"})
	h.Broadcast(Event{Channel: "sp:1", Seq: 1, Type: "ticket.created", Data: other})
	h.Broadcast(Event{Channel: "ticket:2", Seq: 1, Type: "ticket.called", Data: other})
	h.Broadcast(Event{Channel: "ticket:1", Seq: 1, Type: "ticket.called", Data: mine})

	if w := phone.expectEvent("sp:1", 1, "ticket.created"); len(w.Data) != 0 {
		t.Errorf("the phone got another visitor's data: %s", w.Data)
	}
	if w := phone.expectEvent("ticket:1", 1, "ticket.called"); string(w.Data) != string(mine) {
		t.Errorf("the phone's own ticket came without its data: %s", w.Data)
	}
	if w := screen.expectEvent("sp:1", 1, "ticket.created"); string(w.Data) != string(other) {
		t.Errorf("the staff screen lost the data: %s", w.Data)
	}
	if w, err := phone.read(200 * time.Millisecond); err == nil {
		t.Errorf("the phone got %+v, of a ticket not its own", w)
	}
}

// End closes the sockets resting on a key, and only those.
func TestEndClosesTheSocketsHoldingAKey(t *testing.T) {
	h, _ := startHub(t, Options{})
	ts := startServer(t, h, nil)
	loggedOut := dialQuery(t, ts, "channels=sp:1&keys=session:aa,staff:7")
	sameStaff := dialQuery(t, ts, "channels=sp:1&keys=session:bb,staff:7")
	other := dialQuery(t, ts, "channels=sp:1&keys=session:cc,staff:8")

	h.End("session:aa")
	if code := loggedOut.expectClosed(); code != gws.ClosePolicyViolation {
		t.Errorf("closed with %d, want %d", code, gws.ClosePolicyViolation)
	}
	h.Broadcast(Event{Channel: "sp:1", Seq: 1, Type: "ticket.created"})
	sameStaff.expectEvent("sp:1", 1, "ticket.created")
	other.expectEvent("sp:1", 1, "ticket.created")

	h.End("staff:7")
	sameStaff.expectClosed()
	h.Broadcast(Event{Channel: "sp:1", Seq: 2, Type: "ticket.called"})
	other.expectEvent("sp:1", 2, "ticket.called")
	waitFor(t, "the hub to forget the closed sockets", func() bool { return h.Count() == 1 && h.Ended() == 2 })
	if got := metricValue(t, Collector(h, nil), "koto_live_connections_ended_total"); got != 2 {
		t.Errorf("koto_live_connections_ended_total = %v, want 2", got)
	}
}

// metricValue reads one counter or gauge of a collector.
func metricValue(t *testing.T, c prometheus.Collector, name string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		m := f.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// The database's end notifications reach the hub of every instance.
func TestEndNotificationsCloseSocketsOnEveryInstance(t *testing.T) {
	db, url := testdb.New(t)
	a := startInstance(t, url, Options{}, nil)
	b := startInstance(t, url, Options{}, nil)
	onA := dialQuery(t, a.server, "channels=sp:1&keys=device:5")
	onB := dialQuery(t, b.server, "channels=sp:1&keys=device:5")
	kept := dialQuery(t, b.server, "channels=sp:1&keys=device:6")
	if _, err := db.Pool.Exec(context.Background(), `SELECT pg_notify('koto_live', '{"end":"device:5"}')`); err != nil {
		t.Fatal(err)
	}
	onA.expectClosed()
	onB.expectClosed()
	publish(t, db, "sp:1", "ticket.created", nil)
	kept.expectEvent("sp:1", 1, "ticket.created")
}
