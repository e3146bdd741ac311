package portal

import (
	"errors"
	"strings"

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

// safeNext keeps a post-login destination on this site: a path, never
// another host ("//evil", "/\evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 500 {
		return "/staff"
	}
	return next
}

func (s *Server) showLoginPage(c *fiber.Ctx) error {
	if _, ok := session(c); ok {
		return c.Redirect(safeNext(c.Query("next")), fiber.StatusSeeOther)
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
	st, err := s.auth.Authenticate(c.UserContext(), email, password, clientKey(c))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		page.Message = p.T.Get("login.throttled")
		return s.renderStatus(c, fiber.StatusTooManyRequests, "login", page)
	case errors.Is(err, auth.ErrBadCredentials):
		page.Message = p.T.Get("login.failed")
		return s.renderStatus(c, fiber.StatusUnauthorized, "login", page)
	case err != nil:
		return err
	}
	sess, err := s.auth.Login(c.UserContext(), st, c.Cookies(sessionCookie(c)))
	if err != nil {
		return err
	}
	s.setSessionCookie(c, sess)
	return c.Redirect(next, fiber.StatusSeeOther)
}

func (s *Server) submitLogout(c *fiber.Ctx) error {
	if sess, ok := session(c); ok {
		if err := s.auth.Logout(c.UserContext(), sess.Token); err != nil {
			return err
		}
	}
	s.clearSessionCookie(c)
	return c.Redirect("/login", fiber.StatusSeeOther)
}
