package portal

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
)

// sessionCookie is the cookie's name: behind TLS the __Host- prefix pins it
// to our host, over https only, for the whole site.
func sessionCookie(c *fiber.Ctx) string {
	if c.Protocol() == "https" {
		return "__Host-koto_session"
	}
	return "koto_session"
}

func csrfCookie(c *fiber.Ctx) string {
	if c.Protocol() == "https" {
		return "__Host-koto_csrf"
	}
	return "koto_csrf"
}

// withSession loads the staff session named by the cookie. Staff pages then
// speak the staff member's own language unless ?lang= asks otherwise.
func (s *Server) withSession(c *fiber.Ctx) error {
	token := c.Cookies(sessionCookie(c))
	if token == "" {
		return c.Next()
	}
	sess, err := s.auth.Session(c.UserContext(), token)
	if errors.Is(err, auth.ErrNoSession) {
		s.clearSessionCookie(c)
		return c.Next()
	} else if err != nil {
		return err
	}
	if sess.Stage != auth.StageFull {
		// Half-way: only the next step of the sign-in sees it, in the
		// account's language.
		c.Locals(keyPending, sess)
		s.speakLanguageOf(c, sess.Principal.Locale)
		return c.Next()
	}
	c.Locals(keySession, sess)
	if l, chosen := s.catalog.Lookup(c.Query("lang")); chosen {
		if !isRedraw(c) {
			s.rememberStaffLanguage(c, token, l)
		}
	} else if l, ok := s.staffLanguage(c, token); ok {
		c.Locals(keyLang, l)
	} else {
		s.speakLanguageOf(c, sess.Principal.Locale)
	}
	return c.Next()
}

// langChoiceCookie keeps a staff member's explicit ?lang= for the rest of
// their session: it beats the account's language until they log out.
const langChoiceCookie = "koto_lang_choice"

// sessionLangTag binds a remembered choice to one session, so the next
// login (a new session token) starts in the account's language again.
func sessionLangTag(token string) string {
	sum := sha256.Sum256([]byte("lang-choice:" + token))
	return hex.EncodeToString(sum[:8])
}

func (s *Server) rememberStaffLanguage(c *fiber.Ctx, token string, l i18n.Language) {
	c.Cookie(&fiber.Cookie{Name: langChoiceCookie, Value: l.Code + "." + sessionLangTag(token), Path: "/",
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
}

// forgetStaffLanguage drops the session's ?lang= choice, so the account's
// own language speaks again.
func (s *Server) forgetStaffLanguage(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: langChoiceCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), MaxAge: -1,
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
}

func (s *Server) staffLanguage(c *fiber.Ctx, token string) (i18n.Language, bool) {
	code, tag, ok := strings.Cut(c.Cookies(langChoiceCookie), ".")
	if !ok || subtle.ConstantTimeCompare([]byte(tag), []byte(sessionLangTag(token))) != 1 {
		return i18n.Language{}, false
	}
	return s.catalog.Lookup(code)
}

func (s *Server) setSessionCookie(c *fiber.Ctx, sess auth.Session) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie(c), Value: sess.Token, Path: "/", Expires: sess.Expires,
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
}

func (s *Server) clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{Name: sessionCookie(c), Value: "", Path: "/", Expires: time.Unix(1, 0), MaxAge: -1,
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
}

// requireStaff lets only logged-in staff through: a page request goes to
// the login page (or, half-way through sign-in, to its next step) and
// comes back after; anything else gets 401.
func (s *Server) requireStaff(c *fiber.Ctx) error {
	if _, ok := session(c); ok {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Next()
	}
	if c.Method() == fiber.MethodGet && !wantsJSON(c) {
		return c.Redirect(signinStep(c, c.OriginalURL()), fiber.StatusSeeOther)
	}
	return newError(fiber.StatusUnauthorized, "error.unauthorized")
}

// signinStep is where a browser without a full session goes to sign in,
// coming back to next after.
func signinStep(c *fiber.Ctx, next string) string {
	if p, ok := pendingSession(c); ok {
		return stageStep(p.Stage, next)
	}
	return "/login?next=" + url.QueryEscape(next)
}

// stageStep is where a session at stage goes on to: a half-way one to
// its second factor's step, coming back to next after; a full one to next.
func stageStep(stage, next string) string {
	switch stage {
	case auth.StageVerify:
		return "/login/verify?next=" + url.QueryEscape(next)
	case auth.StageEnrol:
		return "/staff/account/factors?next=" + url.QueryEscape(next)
	}
	return next
}

// allowEnrolment guards the pages that set up a second factor: a full
// session may use them, and so may a sign-in that its municipality holds
// until a factor is set up.
func (s *Server) allowEnrolment(c *fiber.Ctx) error {
	if p, ok := pendingSession(c); ok && p.Stage == auth.StageEnrol {
		c.Locals(keySession, p)
	}
	return s.requireStaff(c)
}

// requireVerifying lets through a sign-in waiting for its second factor;
// anyone else is sent where they belong.
func (s *Server) requireVerifying(c *fiber.Ctx) error {
	if p, ok := pendingSession(c); ok && p.Stage == auth.StageVerify {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Next()
	}
	next := safeNext(c.Query("next"))
	if _, ok := session(c); ok {
		return c.Redirect(next, fiber.StatusSeeOther)
	}
	return c.Redirect(signinStep(c, next), fiber.StatusSeeOther)
}

// csrfToken is the token forms of this request must carry: the session's
// for staff, else a double-submit cookie set here on first sight.
func (s *Server) csrfToken(c *fiber.Ctx) string {
	if sess, ok := anySession(c); ok {
		return sess.CSRF
	}
	if t, ok := c.Locals(keyCSRF).(string); ok {
		return t
	}
	t := c.Cookies(csrfCookie(c))
	if len(t) < 32 || len(t) > 64 {
		t = auth.NewToken()
		c.Cookie(&fiber.Cookie{Name: csrfCookie(c), Value: t, Path: "/", HTTPOnly: true,
			Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteStrictMode})
	}
	c.Locals(keyCSRF, t)
	return t
}

// checkCSRF refuses any state-changing request from another origin or
// without the right token. Browsers send Origin on every cross-site POST;
// the token covers those that do not.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if isKeyAPI(c.Path()) {
		// A key in the Authorization header, never a cookie: a browser
		// cannot be made to send it from another site.
		return c.Next()
	}
	// Pages under Referrer-Policy no-referrer (the capability links) make
	// browsers send "Origin: null"; the token then carries the check.
	if o := c.Get(fiber.HeaderOrigin); o != "" && o != "null" && !s.sameOrigin(c, o) {
		return newError(fiber.StatusForbidden, "error.csrf")
	}
	if isReceipt(c.Path()) {
		// A phone's service worker reports its reminders and cannot read
		// the page's CSRF cookie; the credential in the path is the secret
		// another site cannot know, and the Origin check above holds.
		return c.Next()
	}
	sent := c.FormValue("_csrf")
	if sent == "" {
		sent = c.Get("X-CSRF-Token")
	}
	var want string
	if sess, ok := anySession(c); ok {
		want = sess.CSRF
	} else {
		want = c.Cookies(csrfCookie(c))
	}
	if want == "" || sent == "" || subtle.ConstantTimeCompare([]byte(sent), []byte(want)) != 1 {
		return newError(fiber.StatusForbidden, "error.csrf")
	}
	return c.Next()
}

// isReceipt tells a phone's receipt, POST /c/{credential}/receipts.
func isReceipt(path string) bool {
	rest, ok := strings.CutPrefix(path, "/c/")
	cred, tail, _ := strings.Cut(rest, "/")
	return ok && cred != "" && tail == "receipts"
}

// sameOrigin compares an Origin header with this request's own origin (or
// the configured public URL).
func (s *Server) sameOrigin(c *fiber.Ctx, origin string) bool {
	own := c.Protocol() + "://" + c.Hostname()
	if strings.EqualFold(origin, own) {
		return true
	}
	return s.cfg.BaseURL != "" && strings.EqualFold(origin, strings.TrimRight(s.cfg.BaseURL, "/"))
}

// withClientAddr lets the access log say from which address a staff
// member signed in or acted. Only staff requests carry it: visitors and
// clients stay anonymous, and their addresses are kept nowhere.
func (s *Server) withClientAddr(c *fiber.Ctx) error {
	if staffPath(c.Path()) {
		c.SetUserContext(audit.WithClientAddr(c.UserContext(), s.clientAddr(c)))
	}
	return c.Next()
}

func staffPath(p string) bool {
	for _, prefix := range []string{"/staff", "/login", "/logout", "/password/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// clientKey identifies a client for throttling without keeping its address.
func (s *Server) clientKey(c *fiber.Ctx) string {
	h := sha256.Sum256([]byte("koto-client:" + s.clientAddr(c).String()))
	return hex.EncodeToString(h[:12])
}

// clientAddr is the address of the person's device. A request straight
// from the client is its peer address. Behind trusted proxies it is the
// nearest address in X-Forwarded-For that is not one of them: each proxy
// appends the peer it saw, so what lies left of that is the client's own
// say-so and is never believed. Nobody else may name a client address.
func (s *Server) clientAddr(c *fiber.Ctx) netip.Addr {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	peer = peer.Unmap()
	if !s.trustedProxy(peer) {
		return peer
	}
	client := peer
	hops := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(string(hops[i]), ",")
		for j := len(list) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(list[j]))
			if err != nil {
				return client // garbage from here on: the last proxy's peer is all we know
			}
			client = a.Unmap()
			if !s.trustedProxy(client) {
				return client
			}
		}
	}
	return client
}

// trustedProxy tells an address of PORTAL_TRUSTED_PROXIES.
func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseProxies reads PORTAL_TRUSTED_PROXIES (checked by config.Validate):
// a lone address is a range of one.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range list {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", v, err)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
