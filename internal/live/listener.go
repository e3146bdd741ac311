package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// ApplicationName marks the listener's session in pg_stat_activity.
const ApplicationName = "koto-live-listener"

// Listener is the instance's one LISTEN session: it hands every notification
// to the hub, and reconnects when the session is lost.
type Listener struct {
	connect sqldb.Connector
	hub     *Hub
	logger  *slog.Logger

	ready     chan struct{}
	readyOnce sync.Once

	listening     atomic.Bool
	sessions      atomic.Int64
	notifications atomic.Int64
	malformed     atomic.Int64

	// watchers are told every end, and "" when ends may have been missed.
	watchMu  sync.Mutex
	watchers []func(key string)

	// Knobs the tests shorten.
	healthEvery time.Duration // how long a silent session goes before it is pinged
	minBackoff  time.Duration
	maxBackoff  time.Duration
}

// ListenerStats are the listener's counters, for metrics.
type ListenerStats struct {
	Listening     bool  // a session is LISTENing now
	Sessions      int64 // sessions that reached LISTEN; more than 1 means reconnects
	Notifications int64 // notifications received
	Malformed     int64 // notifications that were not events, and were dropped
}

// NewListener prepares a listener on its own connection (not from the pool:
// a pooled connection would be shared and could be closed under it), which
// connect opens anew for each session.
func NewListener(connect sqldb.Connector, hub *Hub, logger *slog.Logger) *Listener {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{
		connect:     connect,
		hub:         hub,
		logger:      logger,
		ready:       make(chan struct{}),
		healthEvery: 30 * time.Second,
		minBackoff:  100 * time.Millisecond,
		maxBackoff:  5 * time.Second,
	}
}

// Watch has fn told every end the database announces (see End), and ""
// at the start of each session, since ends announced while no session
// listened are lost: what an instance keeps in memory on the strength of
// these announcements must then be forgotten whole. fn hears the ends
// announced from the call on, so a memory that starts empty may be
// watched at any time.
func (l *Listener) Watch(fn func(key string)) {
	l.watchMu.Lock()
	defer l.watchMu.Unlock()
	l.watchers = append(l.watchers, fn)
}

func (l *Listener) tell(key string) {
	l.watchMu.Lock()
	defer l.watchMu.Unlock()
	for _, fn := range l.watchers {
		fn(key)
	}
}

// Ready is closed once the first session is listening.
func (l *Listener) Ready() <-chan struct{} { return l.ready }

// Listening reports whether a session is listening now.
func (l *Listener) Listening() bool { return l.listening.Load() }

// Stats returns the listener's counters.
func (l *Listener) Stats() ListenerStats {
	return ListenerStats{
		Listening:     l.listening.Load(),
		Sessions:      l.sessions.Load(),
		Notifications: l.notifications.Load(),
		Malformed:     l.malformed.Load(),
	}
}

// Run listens until ctx ends, reconnecting with capped, jittered backoff.
func (l *Listener) Run(ctx context.Context) error {
	backoff := l.minBackoff
	for {
		listened, err := l.session(ctx)
		l.listening.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			backoff = l.minBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		l.logger.Warn("live: listener lost its database session; screens resync once it is back",
			"err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, l.maxBackoff)
	}
}

// session connects, listens and relays until the session fails.
func (l *Listener) session(ctx context.Context) (listened bool, err error) {
	connectCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := l.connect(connectCtx, ApplicationName)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(closeCtx)
		cancel()
	}()
	if err := conn.Listen(ctx, NotifyChannel); err != nil {
		return false, err
	}
	// Forgotten before Listening says yes, so that nobody reads a memory
	// that may have missed an end.
	l.tell("")
	l.sessions.Add(1)
	l.listening.Store(true)
	// Whatever was published while nobody listened is lost: every screen
	// refetches. On the first session this covers clients that connected
	// before the instance was listening.
	l.hub.Resync()
	l.readyOnce.Do(func() { close(l.ready) })
	if n := l.sessions.Load(); n > 1 {
		l.logger.Info("live: listener is back; screens resync", "sessions", n)
	}
	for {
		waitCtx, cancel := context.WithTimeout(ctx, l.healthEvery)
		payload, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				return true, err
			}
			// A quiet session may be a dead one (a vanished peer sends no
			// reset): prove it alive, or reconnect.
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("health check: %w", err)
			}
			continue
		}
		l.notifications.Add(1)
		ev, end, err := decodeNotification(payload)
		switch {
		case err != nil:
			l.malformed.Add(1)
			l.logger.Error("live: dropping a notification that is not an event", "err", err, "bytes", len(payload))
		case end != "":
			l.hub.End(end)
			l.tell(end)
		default:
			l.hub.Broadcast(ev)
		}
	}
}

// decodeNotification reads an event, or an end: {"end": key}, which the
// database sends when what sockets rest on ends (see End).
func decodeNotification(payload string) (ev Event, end string, err error) {
	var n struct {
		Event
		End string `json:"end"`
	}
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		return ev, "", err
	}
	if n.End != "" {
		return ev, n.End, nil
	}
	if n.Channel == "" || n.Seq <= 0 {
		return ev, "", errors.New("no channel or seq")
	}
	return n.Event, "", nil
}
