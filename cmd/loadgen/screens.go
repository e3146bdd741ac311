package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/koto-portal/portal/internal/demo"
)

// screenLife bounds how long any screen stays connected: every read has a
// deadline, so a forgotten socket cannot keep the tool alive.
const screenLife = 15 * time.Minute

// maxMessages bounds one screen's reads; a run sends it a few hundred.
const maxMessages = 100_000

// A shared pool, so that thousands of idle client sockets hold no write
// buffer of their own: they only ever write pongs and a close frame.
var clientWriteBuffers = new(sync.Pool)

var dialer = &websocket.Dialer{
	HandshakeTimeout: 10 * time.Second,
	ReadBufferSize:   1024,
	WriteBufferPool:  clientWriteBuffers,
}

// arrival is one ticket.created message as one screen received it.
type arrival struct {
	at        time.Time // taken before anything else is done with the frame
	id        int64
	label     string
	createdAt time.Time
}

type liveMsg struct {
	Channel string `json:"channel"`
	Seq     int64  `json:"seq"`
	Type    string `json:"type"`
	Data    struct {
		ID        int64     `json:"id"`
		Label     string    `json:"label"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"data"`
}

// screen is one waiting-room display's websocket, as a browser would hold
// it: connected to one instance, reading everything it is sent.
type screen struct {
	instance int // index into the bases it was dialled from
	ws       *websocket.Conn
	resynced chan struct{} // closed at the first resync
	resyncs  atomic.Int32
	closing  atomic.Bool
	done     chan struct{}

	mu     sync.Mutex
	events []arrival
	err    error
}

func (s *screen) read(record bool) {
	defer close(s.done)
	for range maxMessages {
		_, msg, err := s.ws.ReadMessage()
		at := time.Now()
		if err != nil {
			if !s.closing.Load() {
				s.fail(err)
			}
			return
		}
		var m liveMsg
		if err := json.Unmarshal(msg, &m); err != nil {
			s.fail(fmt.Errorf("undecodable message %q: %w", msg, err))
			return
		}
		switch m.Type {
		case "resync":
			if s.resyncs.Add(1) == 1 {
				close(s.resynced)
			}
		case "ticket.created":
			if record {
				s.mu.Lock()
				s.events = append(s.events, arrival{at: at, id: m.Data.ID, label: m.Data.Label, createdAt: m.Data.CreatedAt})
				s.mu.Unlock()
			}
		}
	}
}

func (s *screen) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

func (s *screen) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// dialScreens opens n display sockets, spread round-robin over bases, with
// `parallel` handshakes in flight. Each socket's Origin is its instance's
// own, as a display page served by that instance would send.
func dialScreens(ctx context.Context, bases []string, n, parallel int, record bool) ([]*screen, error) {
	screens := make([]*screen, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		dialErr error
		next    atomic.Int64
	)
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				s, err := dialScreen(ctx, bases, i, record)
				if err != nil {
					errOnce.Do(func() { dialErr = fmt.Errorf("screen %d of %d: %w", i+1, n, err); cancel() })
					return
				}
				screens[i] = s
			}
		}()
	}
	wg.Wait()
	if dialErr == nil && ctx.Err() != nil {
		dialErr = ctx.Err()
	}
	if dialErr != nil {
		closeScreens(screens)
		return nil, dialErr
	}
	return screens, nil
}

func dialScreen(ctx context.Context, bases []string, i int, record bool) (*screen, error) {
	inst := i % len(bases)
	base := bases[inst]
	u := "ws://" + strings.TrimPrefix(base, "http://") + "/ws?display=" + demo.ServicePoint
	ws, resp, err := dialer.DialContext(ctx, u, http.Header{"Origin": {base}})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (status %d)", u, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", u, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(screenLife))
	s := &screen{instance: inst, ws: ws, resynced: make(chan struct{}), done: make(chan struct{})}
	go s.read(record)
	return s, nil
}

// waitResynced waits until every screen has had its first message, which
// the hub sends once the socket is in its index: from then on no event on
// the channel can miss it.
func waitResynced(ctx context.Context, screens []*screen, limit time.Duration) error {
	deadline := time.After(limit)
	for i, s := range screens {
		select {
		case <-s.resynced:
		case <-s.done:
			return fmt.Errorf("screen %d closed before its resync: %v", i+1, s.failure())
		case <-deadline:
			n := 0
			for _, s := range screens {
				if s.resyncs.Load() > 0 {
					n++
				}
			}
			return fmt.Errorf("only %d of %d screens had their resync within %s", n, len(screens), limit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// screensFailed reports the first screen whose connection broke.
func screensFailed(screens []*screen) error {
	var errs []error
	for i, s := range screens {
		if s == nil {
			continue
		}
		if err := s.failure(); err != nil {
			errs = append(errs, fmt.Errorf("screen %d: %w", i+1, err))
			if len(errs) == 3 {
				break
			}
		}
	}
	return errors.Join(errs...)
}

// closeScreens closes every socket with a close frame and waits (boundedly)
// for the readers to finish.
func closeScreens(screens []*screen) {
	for _, s := range screens {
		if s == nil {
			continue
		}
		s.closing.Store(true)
		_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
			time.Now().Add(time.Second))
		_ = s.ws.Close()
	}
	deadline := time.After(30 * time.Second)
	for _, s := range screens {
		if s == nil {
			continue
		}
		select {
		case <-s.done:
		case <-deadline:
			return
		}
	}
}
