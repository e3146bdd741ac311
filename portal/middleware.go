package portal

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/i18n"
)

// routeOf is the route pattern a request is counted and logged under. When
// a middleware ends a request (the session lookup failed, say), Fiber's
// current route is that middleware's ("/" or "/staff"), which does not match
// the path: the request is then matched against the endpoints, so that it
// counts under the route it asked for.
func (s *Server) routeOf(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil {
		return ""
	}
	if r.Path == c.Path() {
		return r.Path // a route without parameters: nothing to match
	}
	cfg := s.app.Config()
	if fiber.RoutePatternMatch(c.Path(), r.Path, cfg) {
		return r.Path
	}
	for _, e := range s.endpoints[c.Method()] {
		if fiber.RoutePatternMatch(c.Path(), e, cfg) {
			return e
		}
	}
	return r.Path
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withRequestID gives each request an id that shows in the log and on error
// pages, so a person's report can be matched to the log line.
func withRequestID(c *fiber.Ctx) error {
	id := randomHex(8)
	c.Locals(keyRequestID, id)
	c.Set("X-Request-ID", id)
	return c.Next()
}

// accessLog writes one line per request: no addresses, no query strings and
// no bodies, since those may carry personal data or capability tokens.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	route := s.routeOf(c)
	status := c.Response().StatusCode()
	elapsed := time.Since(start)
	s.metrics.observe(c.Method(), route, status, elapsed)
	if route == "/healthz" || route == "/readyz" || strings.HasPrefix(route, "/static/") {
		return nil
	}
	s.logger.Info("request", "request_id", requestID(c), "method", c.Method(), "route", route,
		"status", status, "ms", strconv.FormatFloat(float64(elapsed.Microseconds())/1000, 'f', 1, 64))
	return nil
}

// otherPermissions is the Permissions-Policy past the camera, which every
// page but the kiosk's check-in turns off (checkInPermissions).
const otherPermissions = "microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

// securityHeaders sets the headers every answer carries. The policy allows
// scripts and styles from our own origin only: no inline code, no eval.
func (s *Server) securityHeaders(c *fiber.Ctx) error {
	if c.Path() == "/ws" {
		// A 101 carries no document, and the request context lives as long
		// as the socket: these bytes would be kept once per screen.
		return c.Next()
	}
	h := &c.Response().Header
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; font-src 'self'; media-src 'self'; worker-src 'self'; manifest-src 'self'; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), "+otherPermissions)
	if isCapabilityPath(c.Path()) {
		h.Set("Referrer-Policy", "no-referrer")
	} else {
		h.Set("Referrer-Policy", "same-origin")
	}
	if c.Protocol() == "https" {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	return c.Next()
}

// isCapabilityPath tells pages whose URL itself is a secret: a Referer must
// never carry it to another site.
func isCapabilityPath(p string) bool {
	for _, prefix := range []string{"/t/", "/c/", "/e/", "/password/", "/api/v1/tickets/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// withLanguage negotiates the language: ?lang= (remembered in a cookie),
// then the cookie, then Accept-Language, then Finnish. Shared screens (a
// kiosk, a waiting-room display) take the language from their address
// alone: the next visitor must not inherit the last one's choice, and a
// display speaks the service point's language whatever its browser says.
// A live screen's redraw names its page's language too, without making it
// the browser's remembered choice.
func (s *Server) withLanguage(c *fiber.Ctx) error {
	q := c.Query("lang")
	var l i18n.Language
	switch {
	case sharedScreen(c.Path()):
		l = s.catalog.Negotiate(q, "", "")
	case visitorPage(c.Path()):
		l = s.catalog.Negotiate(q, c.Cookies("lang"), c.Get(fiber.HeaderAcceptLanguage))
	default:
		l = s.catalog.NegotiateStaff(q, c.Cookies("lang"), c.Get(fiber.HeaderAcceptLanguage))
	}
	if _, chosen := s.catalog.Lookup(q); chosen && !sharedScreen(c.Path()) && !isRedraw(c) {
		c.Cookie(&fiber.Cookie{Name: "lang", Value: l.Code, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https"})
	}
	c.Locals(keyLang, l)
	return c.Next()
}

// speakLanguageOf makes the page speak a person's own language (a staff
// member's, a ticket's) unless this request picks one with ?lang=.
func (s *Server) speakLanguageOf(c *fiber.Ctx, code string) {
	if _, chosen := s.catalog.Lookup(c.Query("lang")); chosen {
		return
	}
	if l, ok := s.catalog.Lookup(code); ok {
		c.Locals(keyLang, l)
	}
}

// sharedScreen tells the pages of devices many people use in turn.
func sharedScreen(path string) bool {
	return strings.HasPrefix(path, "/kiosk/") || strings.HasPrefix(path, "/display/")
}

// visitorPage tells the pages visitors and clients see, which are written in
// every language; every other page is the staff's, in the languages the
// staff pages are written in.
func visitorPage(path string) bool {
	if path == "/" || sharedScreen(path) {
		return true
	}
	for _, prefix := range []string{"/t/", "/c/", "/e/"} {
		if strings.HasPrefix(path, prefix) {
			return true
		}
	}
	return false
}

// isRedraw tells a live screen's request for its changing part.
func isRedraw(c *fiber.Ctx) bool { return c.Query("fragment") == "1" }
