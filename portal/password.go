package portal

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

type passwordPage struct {
	Page
	Token string
	Email string
	Form  formView
}

// decodeNewPassword reads the new password, typed twice alike.
func decodeNewPassword(v url.Values) (string, forms.Errors) {
	f := forms.New(v)
	password := decodePassword(f, "password")
	if password != "" && v.Get("password2") != password {
		f.Fail("password2", "password.mismatch")
	}
	return password, f.Errors
}

// renderPasswordForm shows the form of a link that opened, in the account
// holder's language unless they pick another. What was typed is never sent
// back: a password does not belong in a page.
func (s *Server) renderPasswordForm(c *fiber.Ctx, status int, token string, link auth.PasswordLink, errs forms.Errors) error {
	s.speakLanguageOf(c, link.Locale)
	c.Set(fiber.HeaderCacheControl, "no-store")
	p := s.page(c, "")
	p.Title = p.T.Get("password.title")
	return s.renderStatus(c, status, "password", passwordPage{Page: p, Token: token, Email: link.Email,
		Form: newFormView(p.T, "", nil, errs)})
}

// showPasswordForm opens a one-time password link: the form to choose a
// password, or why the link no longer works.
func (s *Server) showPasswordForm(c *fiber.Ctx) error {
	token := c.Params("token")
	link, err := s.auth.OpenPasswordLink(c.UserContext(), token)
	if err != nil {
		return err
	}
	return s.renderPasswordForm(c, fiber.StatusOK, token, link, nil)
}

// submitPassword sets the password through the link, which then stops
// working, and signs the person in with a new session; every other session
// of the account ends.
func (s *Server) submitPassword(c *fiber.Ctx) error {
	token := c.Params("token")
	password, errs := decodeNewPassword(formValues(c))
	if len(errs) > 0 {
		link, err := s.auth.OpenPasswordLink(c.UserContext(), token)
		if err != nil {
			return err
		}
		return s.renderPasswordForm(c, fiber.StatusUnprocessableEntity, token, link, errs)
	}
	sess, err := s.auth.SetPasswordByLink(c.UserContext(), token, password, c.Cookies(sessionCookie(c)))
	if err != nil {
		return err
	}
	return s.continueSignin(c, sess, "/staff")
}
