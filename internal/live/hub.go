package live

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// Options tune the hub; zero values take the defaults.
type Options struct {
	// QueueLen is how many messages may wait for one connection before it is
	// closed as too slow. Default 32.
	QueueLen int
	// WriteTimeout bounds every write to a socket. Default 10 s.
	WriteTimeout time.Duration
	// PingInterval is how often each connection is pinged; a connection
	// silent for twice as long (plus WriteTimeout) is dropped. Default 30 s.
	PingInterval time.Duration
	// MaxMessageSize caps what a client may send; clients only ever send
	// pings. Default 512 bytes.
	MaxMessageSize int64
}

func (o Options) withDefaults() Options {
	if o.QueueLen <= 0 {
		o.QueueLen = 32
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = 512
	}
	return o
}

// pingSlots spreads the pings over the interval, so that a large hub does not
// wake every connection's writer in the same instant.
const pingSlots = 8

// Messages every connection may be sent; prepared once since they never change.
var (
	resyncMsg = mustPrepare(`{"type":"resync"}`)
	pongMsg   = mustPrepare(`{"type":"pong"}`)
)

func mustPrepare(s string) *websocket.PreparedMessage {
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, []byte(s))
	if err != nil {
		panic(err)
	}
	return pm
}

type outgoing struct {
	ev  Event // for the bare form, made only when someone follows the channel bare
	msg *websocket.PreparedMessage
}

// Subscription is what one socket may see, decided by the caller from the
// credential it showed, never from what the client asks for.
type Subscription struct {
	// Channels are followed in full.
	Channels []string
	// Bare channels are followed without their events' data: the socket
	// learns that something changed (channel, seq and type) and fetches what
	// it may see, e.g. a visitor's phone learns that its queue moved, not
	// who moved in it.
	Bare []string
	// Keys name what the socket's right rests on (a session, a staff
	// member, a device): End(key) closes every socket holding key.
	Keys []string
}

// Hub fans events out to the websocket connections of this instance. One
// goroutine (Run) owns the index of channels to connections; everything else
// reaches it through channels, so the index needs no lock.
type Hub struct {
	logger   *slog.Logger
	opts     Options
	readWait time.Duration

	register   chan *conn
	unregister chan *conn
	broadcast  chan outgoing
	resync     chan struct{}
	end        chan string
	quit       chan struct{} // closed once Run has closed every connection

	count      atomic.Int64
	slowClosed atomic.Int64
	ended      atomic.Int64

	// Owned by Run.
	channels map[string]map[*conn]struct{}
	bare     map[string]map[*conn]struct{}
	keys     map[string]map[*conn]struct{}
	slots    [pingSlots]map[*conn]struct{}
	nextSlot uint8
}

// NewHub makes a hub; nothing is delivered until Run is started.
func NewHub(logger *slog.Logger, opts Options) *Hub {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts = opts.withDefaults()
	h := &Hub{
		logger:     logger,
		opts:       opts,
		readWait:   2*opts.PingInterval + opts.WriteTimeout,
		register:   make(chan *conn),
		unregister: make(chan *conn),
		// A buffer lets the listener hand over a burst without waiting on the
		// fan-out; the hub never blocks on a socket, so it drains quickly.
		broadcast: make(chan outgoing, 256),
		resync:    make(chan struct{}),
		end:       make(chan string, 64),
		quit:      make(chan struct{}),
		channels:  make(map[string]map[*conn]struct{}),
		bare:      make(map[string]map[*conn]struct{}),
		keys:      make(map[string]map[*conn]struct{}),
	}
	for i := range h.slots {
		h.slots[i] = make(map[*conn]struct{})
	}
	return h
}

// Count is the number of connections in the index, for the metrics gauge.
func (h *Hub) Count() int64 { return h.count.Load() }

// SlowClosed counts connections closed because their queue filled up.
func (h *Hub) SlowClosed() int64 { return h.slowClosed.Load() }

// Ended counts connections closed because what they rested on ended.
func (h *Hub) Ended() int64 { return h.ended.Load() }

// End closes every connection whose subscription holds key (a session
// ended, a device revoked): they stop receiving at once, and a client that
// may still connect reconnects with its current right. It does not wait
// for the hub, and does nothing once the hub has stopped.
func (h *Hub) End(key string) {
	select {
	case h.end <- key:
	case <-h.quit:
	}
}

// Broadcast sends ev to every connection subscribed to its channel. The JSON
// is encoded and framed once and the same message queued for every
// subscriber. It waits only when the hub is a whole buffer behind, and
// drops the event once the hub has stopped.
func (h *Hub) Broadcast(ev Event) {
	b, err := json.Marshal(ev)
	if err != nil {
		h.logger.Error("live: cannot encode event", "channel", ev.Channel, "type", ev.Type, "err", err)
		return
	}
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, b)
	if err != nil {
		h.logger.Error("live: cannot frame event", "channel", ev.Channel, "err", err)
		return
	}
	select {
	case h.broadcast <- outgoing{ev: ev, msg: pm}:
	case <-h.quit:
	}
}

// Resync tells every connection to fetch a snapshot, for when events may
// have been lost (the listener was disconnected). It returns once the hub
// has taken the request, so a connection registered afterwards is not told
// again: its own first message already asks it to sync.
func (h *Hub) Resync() {
	select {
	case h.resync <- struct{}{}:
	case <-h.quit:
	}
}

// Run serves the index until ctx ends, then closes every connection with
// "going away" and returns. Run may be called once.
func (h *Hub) Run(ctx context.Context) {
	tick := time.NewTicker(max(h.opts.PingInterval/pingSlots, time.Millisecond))
	defer tick.Stop()
	slot := 0
	for {
		select {
		case c := <-h.register:
			h.add(c)
			// The first message tells the client to take its snapshot now that
			// nothing published from here on can miss it.
			h.send(c, resyncMsg)
		case c := <-h.unregister:
			// Its read has ended: nothing queued can still be of use.
			h.remove(c)
			c.close(0, true)
		case out := <-h.broadcast:
			for c := range h.channels[out.ev.Channel] {
				h.send(c, out.msg)
			}
			if bare := h.bare[out.ev.Channel]; len(bare) > 0 {
				pm := bareMessage(out.ev)
				for c := range bare {
					h.send(c, pm)
				}
			}
		case key := <-h.end:
			for c := range h.keys[key] {
				h.remove(c)
				h.ended.Add(1)
				c.close(websocket.ClosePolicyViolation, false)
			}
		case <-h.resync:
			h.each(func(c *conn) { h.send(c, resyncMsg) })
		case <-tick.C:
			for c := range h.slots[slot] {
				h.send(c, nil)
			}
			slot = (slot + 1) % pingSlots
		case <-ctx.Done():
			h.each(func(c *conn) {
				h.remove(c)
				c.close(websocket.CloseGoingAway, false)
			})
			close(h.quit)
			return
		}
	}
}

// send queues msg for c, closing c when it has fallen too far behind: it
// will reconnect and resync, and meanwhile nobody else waits for it.
func (h *Hub) send(c *conn, msg *websocket.PreparedMessage) {
	if c.enqueue(msg) {
		return
	}
	h.remove(c)
	h.slowClosed.Add(1)
	h.logger.Debug("live: closing a connection that fell behind", "remote", c.ws.RemoteAddr())
	c.close(0, true)
}

func (h *Hub) each(fn func(*conn)) {
	for i := range h.slots {
		for c := range h.slots[i] {
			fn(c)
		}
	}
}

func (h *Hub) add(c *conn) {
	c.slot = h.nextSlot
	h.nextSlot = (h.nextSlot + 1) % pingSlots
	h.slots[c.slot][c] = struct{}{}
	index(h.channels, c.sub.Channels, c)
	index(h.bare, c.sub.Bare, c)
	index(h.keys, c.sub.Keys, c)
	h.count.Add(1)
}

func index(m map[string]map[*conn]struct{}, names []string, c *conn) {
	for _, name := range names {
		set := m[name]
		if set == nil {
			set = make(map[*conn]struct{})
			m[name] = set
		}
		set[c] = struct{}{}
	}
}

func unindex(m map[string]map[*conn]struct{}, names []string, c *conn) {
	for _, name := range names {
		if set := m[name]; set != nil {
			delete(set, c)
			if len(set) == 0 {
				delete(m, name)
			}
		}
	}
}

// bareMessage is ev without its data, for Subscription.Bare.
func bareMessage(ev Event) *websocket.PreparedMessage {
	b, err := json.Marshal(Event{Channel: ev.Channel, Seq: ev.Seq, Type: ev.Type})
	if err != nil {
		panic(err) // strings and a number always encode
	}
	return mustPrepare(string(b))
}

func (h *Hub) remove(c *conn) {
	if _, ok := h.slots[c.slot][c]; !ok {
		return
	}
	delete(h.slots[c.slot], c)
	unindex(h.channels, c.sub.Channels, c)
	unindex(h.bare, c.sub.Bare, c)
	unindex(h.keys, c.sub.Keys, c)
	h.count.Add(-1)
}
