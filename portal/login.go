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
	Email     string
	Next      string
	Message   string
	Providers []auth.Provider // municipalities' own sign-in services
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
	return s.renderLogin(c, fiber.StatusOK, "", safeNext(c.Query("next")), "")
}

// renderLogin shows the login page: the password form, the municipalities'
// own sign-in services, and why the last try failed (message, a key).
func (s *Server) renderLogin(c *fiber.Ctx, status int, email, next, message string) error {
	providers, err := s.auth.Providers(c.UserContext())
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("login.title")
	page := loginPage{Page: p, Email: email, Next: next, Providers: providers}
	if message != "" {
		page.Message = p.T.Get(message)
	}
	return s.renderStatus(c, status, "login", page)
}

// submitLogin checks the password and starts a fresh session. A wrong
// address and a wrong password get the same message.
func (s *Server) submitLogin(c *fiber.Ctx) error {
	f := forms.New(formValues(c))
	email := f.Text("email", true, 254)
	password := f.Values.Get("password")
	next := safeNext(f.Values.Get("next"))
	if email == "" || password == "" || len(password) > 1024 {
		return s.renderLogin(c, fiber.StatusUnprocessableEntity, f.Raw("email"), next, "login.failed")
	}
	st, err := s.auth.Authenticate(c.UserContext(), email, password, s.clientKey(c))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		return s.renderLogin(c, fiber.StatusTooManyRequests, f.Raw("email"), next, "login.throttled")
	case errors.Is(err, auth.ErrBusy):
		c.Set(fiber.HeaderRetryAfter, "2")
		return s.renderLogin(c, fiber.StatusTooManyRequests, f.Raw("email"), next, "login.busy")
	case errors.Is(err, auth.ErrBadCredentials):
		return s.renderLogin(c, fiber.StatusUnauthorized, f.Raw("email"), next, "login.failed")
	case errors.Is(err, auth.ErrPasswordSigninOff):
		return s.renderLogin(c, fiber.StatusForbidden, f.Raw("email"), next, "login.password_off")
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
	return c.Redirect(stageStep(sess.Stage, next), fiber.StatusSeeOther)
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
