package live

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	gws "github.com/gorilla/websocket"
)

// A screen that stops reading fills its queue and is cut off; a screen that
// keeps up receives every event, in order, before and after.
func TestSlowClientIsDisconnectedFastKeepsReceiving(t *testing.T) {
	h, _ := startHub(t, Options{QueueLen: 4, WriteTimeout: 30 * time.Second})
	ts := startServer(t, h, nil)
	slow := dialRaw(t, ts, nil, "q")
	slow.expectResync() // then never reads again until the end
	fast := dial(t, ts, "q")

	payload := strings.Repeat("x", 64<<10)
	seq := int64(0)
	step := func() {
		seq++
		h.Broadcast(Event{Channel: "q", Seq: seq, Type: "t", Data: []byte(`"` + payload + `"`)})
		fast.expectEvent("q", seq, "t")
	}
	for h.SlowClosed() == 0 {
		if seq == 5000 {
			t.Fatalf("slow client still connected after %d events of 64 KiB", seq)
		}
		step()
	}
	dropped := seq
	for range 20 {
		step()
	}
	waitFor(t, "the slow connection to leave the index", func() bool { return h.Count() == 1 })
	if h.SlowClosed() != 1 {
		t.Fatalf("SlowClosed = %d, want 1 (the fast client must not be cut)", h.SlowClosed())
	}
	if got := metricValue(t, Collector(h, nil), "koto_live_slow_connections_closed_total"); got != 1 {
		t.Errorf("koto_live_slow_connections_closed_total = %v, want 1", got)
	}
	// The slow client finds its connection gone after what was in flight,
	// without ever seeing the events after the cut.
	var last int64
	for {
		w, err := slow.read(waitLong)
		if err != nil {
			var ce *gws.CloseError
			if errors.As(err, &ce) && ce.Code != gws.CloseAbnormalClosure {
				t.Fatalf("slow client got close %d, want the socket simply dropped", ce.Code)
			}
			if isTimeout(err) {
				t.Fatalf("slow client's socket is still open after %d events", last)
			}
			break
		}
		last = w.Seq
	}
	if last >= dropped {
		t.Fatalf("slow client read up to seq %d, but was cut at %d", last, dropped)
	}
	t.Logf("slow client cut after %d events of 64 KiB; it had read %d", dropped, last)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestShutdownClosesSocketsCleanly(t *testing.T) {
	h, stop := startHub(t, Options{})
	ts := startServer(t, h, nil)
	clients := []*client{dial(t, ts, "a"), dial(t, ts, "b"), dial(t, ts, "a", "b")}
	if h.Count() != 3 {
		t.Fatalf("Count = %d, want 3", h.Count())
	}
	stop()
	for i, c := range clients {
		_, err := c.read(waitLong)
		if !gws.IsCloseError(err, gws.CloseGoingAway) {
			t.Fatalf("client %d: %v, want a going-away close frame", i, err)
		}
	}
	for i := range clients {
		select {
		case <-ts.returned:
		case <-time.After(waitLong):
			t.Fatalf("only %d of %d Serve calls returned", i, len(clients))
		}
	}
	if h.Count() != 0 {
		t.Fatalf("Count = %d after shutdown", h.Count())
	}
	// A latecomer is turned away the same way.
	late := dialRaw(t, ts, nil, "a")
	if _, err := late.read(waitLong); !gws.IsCloseError(err, gws.CloseGoingAway) {
		t.Fatalf("latecomer: %v, want a going-away close frame", err)
	}
}

// A browser cannot see websocket pings, so it pings in a message of its own.
func TestClientPingIsAnswered(t *testing.T) {
	h, _ := startHub(t, Options{})
	ts := startServer(t, h, nil)
	c := dial(t, ts, "a")
	for range 3 {
		if err := c.ws.WriteMessage(gws.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
		if w := c.next(); w.Type != "pong" {
			t.Fatalf("got %+v, want a pong", w)
		}
	}
	// Anything else is ignored, and does not end the connection.
	if err := c.ws.WriteMessage(gws.TextMessage, []byte(`hello`)); err != nil {
		t.Fatal(err)
	}
	h.Broadcast(Event{Channel: "a", Seq: 1, Type: "after"})
	c.expectEvent("a", 1, "after")
}

// The hub's pings keep a reading client connected and drop one that does not
// answer (gorilla answers pings only while reading).
func TestUnansweredPingsDropTheConnection(t *testing.T) {
	h, _ := startHub(t, Options{PingInterval: 80 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	ts := startServer(t, h, nil)
	dial(t, ts, "a") // mute: never reads, so never answers a ping
	alive := dial(t, ts, "a")
	pings := make(chan struct{}, 100)
	alive.ws.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return alive.ws.WriteControl(gws.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := alive.ws.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	waitFor(t, "the mute client to be dropped", func() bool { return h.Count() == 1 })
	time.Sleep(500 * time.Millisecond) // several read deadlines' worth
	if h.Count() != 1 {
		t.Fatalf("Count = %d, want the answering client still connected", h.Count())
	}
	if len(pings) < 3 {
		t.Fatalf("answering client saw %d pings in over half a second", len(pings))
	}
	select {
	case err := <-readErr:
		t.Fatalf("answering client lost its connection: %v", err)
	default:
	}
}

func TestServeReturnsWhenClientLeaves(t *testing.T) {
	h, _ := startHub(t, Options{})
	ts := startServer(t, h, nil)
	c := dial(t, ts, "a")
	_ = c.ws.WriteControl(gws.CloseMessage, gws.FormatCloseMessage(gws.CloseNormalClosure, ""), time.Now().Add(time.Second))
	select {
	case <-ts.returned:
	case <-time.After(waitLong):
		t.Fatal("Serve did not return after the client closed")
	}
	if h.Count() != 0 {
		t.Fatalf("Count = %d after the client left", h.Count())
	}
}

// Broadcasting to a hub that has stopped must not block the listener.
func TestBroadcastAfterStopDoesNotBlock(t *testing.T) {
	h, stop := startHub(t, Options{})
	stop()
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			h.Broadcast(Event{Channel: "a", Seq: int64(i + 1), Type: "t"})
		}
		h.Resync()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatal("Broadcast blocked on a stopped hub")
	}
}

// The ring keeps order while it grows around its wrap point, and refuses
// the message past QueueLen.
func TestQueueGrowsInOrderUpToItsLength(t *testing.T) {
	c := &conn{hub: &Hub{opts: Options{QueueLen: 8}}, writing: true} // no writer: the test drains
	msgs := make([]*websocket.PreparedMessage, 20)
	for i := range msgs {
		msgs[i] = mustPrepare(fmt.Sprint(i))
	}
	next, want := 0, 0
	push := func(k int) {
		for range k {
			if !c.enqueue(msgs[next]) {
				t.Fatalf("message %d refused with %d queued", next, c.n)
			}
			next++
		}
	}
	pop := func(k int) {
		for range k {
			if got := c.pop(); got != msgs[want] {
				t.Fatalf("popped the wrong message at %d", want)
			}
			want++
		}
	}
	push(2) // ring of 2
	pop(1)
	push(2) // wraps, then grows to 4
	pop(2)
	push(6) // wraps and grows to 8, full
	if len(c.ring) != 8 || c.n != 7 {
		t.Fatalf("ring %d holding %d, want 8 holding 7", len(c.ring), c.n)
	}
	push(1)
	if c.enqueue(msgs[next]) {
		t.Fatal("a ninth message was queued past QueueLen 8")
	}
	pop(8)
	if c.n != 0 || want != next {
		t.Fatalf("%d left, popped %d of %d", c.n, want, next)
	}
}
