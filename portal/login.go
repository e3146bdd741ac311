package portal

import (
	"errors"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

type loginPage struct {
	Page
	Email   string
	Next    string
	Message string
}

// safeNext keeps a post-login destination on this site. Browsers forgive a
// lot in a Location header (they drop tabs and newlines, read a backslash
// as a slash, and take "//host" as another site), so only a plain path is
// kept: it parses with no scheme and no host, starts with a single "/", and
// holds no control character, space or backslash, neither as typed nor once
// percent-decoded.
func safeNext(next string) string {
	const fallback = "/staff"
	if len(next) > 500 || !plainPath(next) {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !plainPath(u.Path) {
		return fallback
	}
	return next
}

// plainPath tells a path that starts with exactly one slash and holds no
// character a browser might reinterpret.
func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	return !strings.ContainsFunc(p, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || r == utf8.RuneError
	})
}

func (s *Server) showLoginPage(c *fiber.Ctx) error {
	if _, ok := session(c); ok {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
	}
	if _, ok := pendingSession(c); ok {
		return c.Redirect(signinStep(c, safeNext(c.Query("next"))), fiber.StatusSeeOther)
	}
	p := s.page(c, "")
	p.Title = p.T.Get("login.title")
	return s.render(c, "login", loginPage{Page: p, Next: safeNext(c.Query("next"))})
}

// submitLogin checks the password and starts a fresh session. A wrong
// address and a wrong password get the same message.
func (s *Server) submitLogin(c *fiber.Ctx) error {
	f := forms.New(formValues(c))
	email := f.Text("email", true, 254)
	password := f.Values.Get("password")
	next := safeNext(f.Values.Get("next"))
	p := s.page(c, "")
	p.Title = p.T.Get("login.title")
	page := loginPage{Page: p, Email: f.Raw("email"), Next: next}
	if email == "" || password == "" || len(password) > 1024 {
		page.Message = p.T.Get("login.failed")
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "login", page)
	}
	st, err := s.auth.Authenticate(c.UserContext(), email, password, s.clientKey(c))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		page.Message = p.T.Get("login.throttled")
		return s.renderStatus(c, fiber.StatusTooManyRequests, "login", page)
	case errors.Is(err, auth.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "2")
		page.Message = p.T.Get("login.busy")
		return s.renderStatus(c, fiber.StatusTooManyRequests, "login", page)
	case errors.Is(err, auth.ErrBadCredentials):
		page.Message = p.T.Get("login.failed")
		return s.renderStatus(c, fiber.StatusUnauthorized, "login", page)
	case errors.Is(err, auth.ErrPasswordSigninOff):
		page.Message = p.T.Get("login.password_off")
		return s.renderStatus(c, fiber.StatusForbidden, "login", page)
	case err != nil:
		return err
	}
	st.Browser = c.Get(fiber.HeaderUserAgent)
	sess, err := s.auth.Login(c.UserContext(), st, c.Cookies(sessionCookie(c)))
	if err != nil {
		return err
	}
	return s.continueSignin(c, sess, next)
}

// continueSignin hands the browser its new session and sends it on: to
// next when sign-in is complete, else to the second factor's step.
func (s *Server) continueSignin(c *fiber.Ctx, sess auth.Session, next string) error {
	s.setSessionCookie(c, sess)
	switch sess.Stage {
	case auth.StageVerify:
		return c.Redirect("/login/verify?next="+url.QueryEscape(next), fiber.StatusSeeOther)
	case auth.StageEnrol:
		return c.Redirect("/staff/account/factors?next="+url.QueryEscape(next), fiber.StatusSeeOther)
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (s *Server) submitLogout(c *fiber.Ctx) error {
	if sess, ok := anySession(c); ok {
		if err := s.auth.Logout(c.UserContext(), sess.Token); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}
