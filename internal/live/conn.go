package live

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// ReadBufferSize suits the upgrader (the Fiber websocket middleware's
// Config) of connections handed to Serve: clients send nothing but pings.
const ReadBufferSize = 256

// WriteBufferPool suits the upgrader too: Serve writes prepared frames and
// control frames, which bypass the write buffer, so with a pool no
// connection ever holds one.
func WriteBufferPool() websocket.BufferPool { return writeBufferPool }

var writeBufferPool = new(sync.Pool)

// longAgo is a deadline already past: setting it wakes a blocked read or
// write. Closing would not do, since a hijacked fasthttp connection ignores
// Close and is closed only when its handler returns.
var longAgo = time.Unix(1, 0)

var pingText = []byte(`{"type":"ping"}`)

// conn is one subscriber. Its queue is a small ring behind a mutex, and a
// writer goroutine exists only while the ring has something in it: an idle
// connection costs only the goroutine that reads it (Serve's caller).
type conn struct {
	hub  *Hub
	ws   *websocket.Conn
	sub  Subscription
	slot uint8          // ping slot; Run's alone
	done sync.WaitGroup // done when the writer has let go of ws for good

	mu sync.Mutex
	// ring grows from nothing up to QueueLen as bursts need, so an idle
	// connection keeps a slot or two rather than a full queue; a nil entry
	// is a ping.
	ring    []*websocket.PreparedMessage
	head, n int
	writing bool // a writer runs, or has finished for good
	closed  bool // nothing more is queued; the writer finishes when the ring is empty
	dead    bool // a write failed or the hub gave up: nothing more is written
	code    int  // close frame to send on finishing; 0 for none
	// released: the writer is done with ws, so Serve may return and the
	// server recycle the socket object; nobody may touch ws after that.
	released bool
}

// Serve subscribes ws to what sub names and blocks until the connection
// ends; the caller (the Fiber websocket handler) closes it on return. The
// caller decides what the client may see; Run must be running. Messages from the client are
// read only for pongs and app-level pings, which are answered with a pong so
// that a browser, which cannot see websocket pings, can tell the link works.
func (h *Hub) Serve(ws *websocket.Conn, sub Subscription) {
	sub.Channels = uniq(sub.Channels)
	// A channel followed in full needs no bare copy of its events too.
	sub.Bare = slices.DeleteFunc(uniq(sub.Bare), func(ch string) bool { return slices.Contains(sub.Channels, ch) })
	sub.Keys = uniq(sub.Keys)
	c := &conn{hub: h, ws: ws, sub: sub}
	c.done.Add(1)
	ws.SetReadLimit(h.opts.MaxMessageSize)
	_ = c.extendRead()
	ws.SetPongHandler(func(string) error { return c.extendRead() })
	select {
	case h.register <- c:
	case <-h.quit:
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(h.opts.WriteTimeout))
		return
	}
	c.read()
	select {
	case h.unregister <- c:
	case <-h.quit: // Run closed every connection it knew on its way out
	}
	c.done.Wait()
}

func (c *conn) extendRead() error {
	return c.ws.SetReadDeadline(time.Now().Add(c.hub.readWait))
}

func (c *conn) read() {
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		_ = c.extendRead()
		if typ == websocket.TextMessage && isPing(r) && !c.enqueue(pongMsg) {
			return // a client that pings faster than it reads is dropped
		}
	}
}

func isPing(r io.Reader) bool {
	var buf [32]byte
	n, _ := io.ReadFull(r, buf[:])
	return bytes.Equal(bytes.TrimSpace(buf[:n]), pingText)
}

// enqueue queues m and makes sure a writer runs; false means the ring is
// full. Anything queued after closing or a failed write is dropped, as the
// socket is going.
func (c *conn) enqueue(m *websocket.PreparedMessage) bool {
	c.mu.Lock()
	if c.closed || c.dead {
		c.mu.Unlock()
		return true
	}
	if c.n == len(c.ring) && !c.grow() {
		c.mu.Unlock()
		return false
	}
	c.ring[(c.head+c.n)%len(c.ring)] = m
	c.n++
	start := c.claimWriter()
	c.mu.Unlock()
	if start {
		go c.write()
	}
	return true
}

// close stops queueing; the writer sends the close frame code (if not 0)
// after what is queued and then releases Serve. kill drops the queue and
// wakes both pumps at once, for a connection that cannot keep up or is
// already gone, so that nobody waits out a write timeout on it.
func (c *conn) close(code int, kill bool) {
	c.mu.Lock()
	if !c.closed {
		c.closed, c.code = true, code
	}
	if kill {
		c.dropQueue()
	}
	if kill && !c.released {
		// Under mu, so that the writer cannot release ws meanwhile.
		_ = c.ws.NetConn().SetDeadline(longAgo)
	}
	start := c.claimWriter()
	c.mu.Unlock()
	if start {
		go c.write()
	}
}

// grow enlarges a full ring, unless it is at QueueLen. Called with mu held.
func (c *conn) grow() bool {
	size := min(max(2*len(c.ring), 2), c.hub.opts.QueueLen)
	if size == len(c.ring) {
		return false
	}
	ring := make([]*websocket.PreparedMessage, size)
	for i := range c.n {
		ring[i] = c.ring[(c.head+i)%len(c.ring)]
	}
	c.ring, c.head = ring, 0
	return true
}

// pop takes the oldest message from a non-empty ring. Called with mu held.
func (c *conn) pop() *websocket.PreparedMessage {
	m := c.ring[c.head]
	c.ring[c.head] = nil
	c.head = (c.head + 1) % len(c.ring)
	c.n--
	return m
}

// claimWriter reports whether the caller must start the writer. Called with mu held.
func (c *conn) claimWriter() bool {
	if c.writing {
		return false
	}
	c.writing = true
	return true
}

// dropQueue forgets what is queued, for good. Called with mu held.
func (c *conn) dropQueue() {
	clear(c.ring)
	c.head, c.n, c.dead = 0, 0, true
}

// write drains the ring and exits when it is empty; when the connection is
// closed it finishes instead and keeps the writer claimed, so none starts again.
func (c *conn) write() {
	for {
		c.mu.Lock()
		if c.n == 0 {
			if !c.closed {
				c.writing = false
				c.mu.Unlock()
				return
			}
			code, dead := c.code, c.dead
			c.ring = nil
			c.mu.Unlock()
			c.finish(code, dead)
			return
		}
		m := c.pop()
		c.mu.Unlock()
		if err := c.send(m); err != nil {
			c.mu.Lock()
			c.dropQueue()
			c.mu.Unlock()
			// The socket is unusable: end the read too, so Serve unregisters.
			_ = c.ws.NetConn().SetReadDeadline(longAgo)
		}
	}
}

func (c *conn) send(m *websocket.PreparedMessage) error {
	deadline := time.Now().Add(c.hub.opts.WriteTimeout)
	if m == nil {
		return c.ws.WriteControl(websocket.PingMessage, nil, deadline)
	}
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WritePreparedMessage(m)
}

func (c *conn) finish(code int, dead bool) {
	if code != 0 && !dead {
		deadline := time.Now().Add(c.hub.opts.WriteTimeout)
		if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), deadline); err != nil {
			deadline = longAgo
		}
		// The client answers a close frame with its own, which ends the read;
		// one that does not is not waited for beyond a write's time.
		_ = c.ws.NetConn().SetReadDeadline(deadline)
	}
	c.mu.Lock()
	c.released = true
	c.mu.Unlock()
	c.done.Done()
}

func uniq(channels []string) []string {
	out := make([]string, 0, len(channels))
	for _, ch := range channels {
		if ch != "" && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out
}
