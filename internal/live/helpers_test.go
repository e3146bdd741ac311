package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	gws "github.com/gorilla/websocket"
	"github.com/valyala/fasthttp"

	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

func TestMain(m *testing.M) {
	// The memory benchmark runs its clients in a child copy of this binary.
	if addr := os.Getenv(envClientAddr); addr != "" {
		if err := runMemoryClients(addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(testdb.Main(m))
}

const waitLong = 10 * time.Second

var quiet = slog.New(slog.DiscardHandler)

// startHub runs a hub until the test ends (or until the returned stop).
func startHub(t testing.TB, opts Options) (*Hub, func()) {
	t.Helper()
	h := NewHub(quiet, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return h, stop
}

// testServer is a bare fasthttp server handing upgraded sockets to a hub,
// the way the portal's Fiber handler does.
type testServer struct {
	addr     string
	returned chan struct{} // one value per Serve that has returned
}

func startServer(t testing.TB, h *Hub, up *websocket.FastHTTPUpgrader) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if up == nil {
		up = recommendedUpgrader()
	}
	up.CheckOrigin = func(*fasthttp.RequestCtx) bool { return true }
	ts := &testServer{addr: ln.Addr().String(), returned: make(chan struct{}, 100000)}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		list := func(name string) []string { return strings.Split(string(ctx.QueryArgs().Peek(name)), ",") }
		sub := Subscription{Channels: list("channels"), Bare: list("bare"), Keys: list("keys")}
		_ = up.Upgrade(ctx, func(ws *websocket.Conn) {
			h.Serve(ws, sub)
			ts.returned <- struct{}{}
		})
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
	})
	return ts
}

// recommendedUpgrader has the socket buffers this package suggests.
func recommendedUpgrader() *websocket.FastHTTPUpgrader {
	return &websocket.FastHTTPUpgrader{ReadBufferSize: ReadBufferSize, WriteBufferPool: WriteBufferPool()}
}

func (ts *testServer) url(channels ...string) string {
	return "ws://" + ts.addr + "/ws?channels=" + strings.Join(channels, ",")
}

// wire is a message as a client decodes it.
type wire struct {
	Channel   string          `json:"channel"`
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	Truncated bool            `json:"truncated"`
}

type client struct {
	t  testing.TB
	ws *gws.Conn
}

// dial connects and waits for the hub's greeting, after which the client is
// in the index and will see everything published.
func dial(t testing.TB, ts *testServer, channels ...string) *client {
	t.Helper()
	c := dialRaw(t, ts, nil, channels...)
	c.expectResync()
	return c
}

func dialRaw(t testing.TB, ts *testServer, d *gws.Dialer, channels ...string) *client {
	t.Helper()
	if d == nil {
		d = gws.DefaultDialer
	}
	ws, _, err := d.Dial(ts.url(channels...), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) read(timeout time.Duration) (wire, error) {
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		return wire{}, err
	}
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return wire{}, errors.New("undecodable message: " + string(b))
	}
	return w, nil
}

func (c *client) next() wire {
	c.t.Helper()
	w, err := c.read(waitLong)
	if err != nil {
		c.t.Fatalf("no message: %v", err)
	}
	return w
}

func (c *client) expectResync() {
	c.t.Helper()
	if w := c.next(); w.Type != "resync" || w.Channel != "" {
		c.t.Fatalf("got %+v, want a resync", w)
	}
}

func (c *client) expectEvent(channel string, seq int64, typ string) wire {
	c.t.Helper()
	w := c.next()
	if w.Channel != channel || w.Seq != seq || w.Type != typ {
		c.t.Fatalf("got %s:%d %q, want %s:%d %q", w.Channel, w.Seq, w.Type, channel, seq, typ)
	}
	return w
}

// publish commits one event through the application pool.
func publish(t testing.TB, db *store.DB, channel, typ string, data any) int64 {
	t.Helper()
	var seq int64
	err := db.Tx(context.Background(), func(tx sqldb.Tx) error {
		var err error
		seq, err = Publish(context.Background(), tx, channel, typ, data)
		return err
	})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	return seq
}

// startListener runs a listener until the test ends and waits until it listens.
func startListener(t testing.TB, url string, h *Hub, tweak func(*Listener)) *Listener {
	t.Helper()
	l := NewListener(store.Listener(url), h, quiet)
	if tweak != nil {
		tweak(l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("listener: %v", err)
		}
	})
	select {
	case <-l.Ready():
	case <-time.After(waitLong):
		t.Fatal("listener never listened")
	}
	return l
}

// instance is one portal instance's live layer: hub, listener, server.
type instance struct {
	hub      *Hub
	listener *Listener
	server   *testServer
}

func startInstance(t testing.TB, url string, opts Options, tweak func(*Listener)) *instance {
	t.Helper()
	h, _ := startHub(t, opts)
	l := startListener(t, url, h, tweak)
	return &instance{hub: h, listener: l, server: startServer(t, h, nil)}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
