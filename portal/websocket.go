package portal

import (
	"errors"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/queue"
)

// Caps on open sockets, per instance: a visitor's phone has a page or two
// open on its ticket; a waiting room's guest network or an office shares
// one address among many screens.
const (
	socketsPerTicket  = 4
	socketsPerAddress = 256
)

// liveGrant is what upgradeWebsocket decided, for serveWebsocket.
type liveGrant struct {
	sub     live.Subscription
	release func() // gives the socket's place back to the caps
}

// liveAccess decides whether the request may watch a service point's
// queue: staff who work there (session), or the service point's own paired
// display or kiosk (device cookie; the demo's in demo mode). keys name the
// credential, so that its end closes the socket.
func (s *Server) liveAccess(c *fiber.Ctx, slug string) (tenant, spID int64, keys []string, err error) {
	if sess, ok := session(c); ok {
		tenant, spID, err := s.queue.Watch(c.UserContext(), queue.Expert{Actor: sess.Principal, Slug: slug})
		switch {
		case err == nil:
			return tenant, spID, []string{live.SessionKey(auth.Hash(sess.Token)), live.StaffKey(sess.Principal.StaffID)}, nil
		case !isNotFound(err) && !errors.Is(err, auth.ErrForbidden):
			return 0, 0, nil, err
		}
	}
	for _, kind := range []string{auth.KindDisplay, auth.KindKiosk} {
		if d, err := s.deviceAt(c, kind, slug); err == nil {
			return d.Tenant, d.ServicePointID, []string{live.DeviceKey(d.ID)}, nil
		}
	}
	return 0, 0, nil, errForbidden
}

// upgradeWebsocket checks everything before the handshake: same origin,
// and who is asking for what. What a socket sees comes from the credential,
// never from the client's say-so: ?display=<slug> or ?queue=<slug> for a
// service point's queue, ?ticket=<token> for one ticket, which follows its
// queue only bare (that it moved, not who moved), ?tasks=mine (and
// &point=<slug>) for a staff member's tasks (and a service point's).
func (s *Server) upgradeWebsocket(c *fiber.Ctx) error {
	if !websocket.FastHTTPIsWebSocketUpgrade(c.Context()) {
		return newError(fiber.StatusUpgradeRequired, "error.bad_request")
	}
	if o := c.Get(fiber.HeaderOrigin); o == "" || !s.sameOrigin(c, o) {
		return newError(fiber.StatusForbidden, "error.forbidden")
	}
	var sub live.Subscription
	caps := []live.Cap{{Key: "addr:" + s.clientAddr(c).String(), Max: socketsPerAddress}}
	switch {
	case c.Query("ticket") != "":
		_, view, err := s.queue.ByToken(c.UserContext(), c.Query("ticket"))
		if isNotFound(err) {
			return errTicketGone
		} else if err != nil {
			return err
		}
		ch := queue.TicketChannel(view.Ticket.ID)
		sub = live.Subscription{Channels: []string{ch}, Bare: []string{queue.SPChannel(view.Ticket.ServicePointID)}}
		caps = append(caps, live.Cap{Key: ch, Max: socketsPerTicket})
	case c.Query("display") != "" || c.Query("queue") != "":
		slug := c.Query("display") + c.Query("queue")
		_, spID, keys, err := s.liveAccess(c, slug)
		if err != nil {
			return err
		}
		sub = live.Subscription{Channels: []string{queue.SPChannel(spID)}, Keys: keys}
	case c.Query("tasks") == "mine":
		// A staff page's own tasks, and a service point's where the page
		// shows one (its pool, its load, one of its tasks).
		sess, ok := session(c)
		if !ok {
			return errForbidden
		}
		point := c.Query("point")
		if point != "" && !slugInPath.MatchString(point) {
			return errNotFound
		}
		chans, err := s.tasks.Watch(c.UserContext(), sess.Principal, point)
		if err != nil {
			return err
		}
		sub = live.Subscription{Channels: chans,
			Keys: []string{live.SessionKey(auth.Hash(sess.Token)), live.StaffKey(sess.Principal.StaffID)}}
	default:
		return errBadRequest
	}
	release, ok := s.sockets.Take(caps...)
	if !ok {
		return newError(fiber.StatusTooManyRequests, "error.too_many")
	}
	c.Locals(keyChannels, liveGrant{sub: sub, release: release})
	return c.Next()
}

// serveWebsocket hands the connection to the hub, which owns it until it
// closes. It upgrades with fasthttp/websocket (the fasthttp port of
// gorilla) directly: Fiber's contrib middleware copies the locals, params,
// queries, cookies and headers of every connection into maps it keeps for
// the socket's life, a kilobyte and more per idle screen.
func (s *Server) serveWebsocket() fiber.Handler {
	up := &websocket.FastHTTPUpgrader{
		// The hub writes prepared frames and never uses a per-connection
		// write buffer, so a shared pool and a small read buffer keep
		// thousands of idle screens cheap.
		ReadBufferSize:  live.ReadBufferSize,
		WriteBufferPool: live.WriteBufferPool(),
		// Origin was checked before the upgrade (upgradeWebsocket).
		CheckOrigin: func(*fasthttp.RequestCtx) bool { return true },
	}
	return func(c *fiber.Ctx) error {
		g, _ := c.Locals(keyChannels).(liveGrant)
		err := up.Upgrade(c.Context(), func(conn *websocket.Conn) {
			defer g.release()
			s.hub.Serve(conn, g.sub)
		})
		if err != nil {
			g.release()
		}
		return err
	}
}
