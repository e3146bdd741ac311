package portal

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

// maxPasskeyAnswer bounds the browser's JSON answer to a passkey prompt;
// real ones are a few kilobytes.
const maxPasskeyAnswer = 32 * 1024

type passkeySetupPage struct {
	Page
	Enrolling bool
	Next      string
	Options   string // navigator.credentials.create's options, JSON
	Form      formView
}

// showPasskeySetup offers to create a passkey on this device or a
// security key.
func (s *Server) showPasskeySetup(c *fiber.Ctx) error {
	return s.renderPasskeySetup(c, fiber.StatusOK, safeNext(c.Query("next")), nil)
}

func (s *Server) renderPasskeySetup(c *fiber.Ctx, status int, next string, errs forms.Errors) error {
	sess, _ := session(c)
	options, err := s.auth.BeginPasskey(c.UserContext(), sess, s.cfg.PublicURL())
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("passkey.title")
	return s.renderStatus(c, status, "passkey_setup", passkeySetupPage{Page: p, Enrolling: sess.Stage == auth.StageEnrol, Next: next,
		Options: string(options), Form: newFormView(p.T, "", nil, errs)})
}

// submitPasskeySetup registers the passkey the browser created.
func (s *Server) submitPasskeySetup(c *fiber.Ctx) error {
	f := forms.New(formValues(c))
	next := safeNext(f.Values.Get("next"))
	name := f.Text("name", true, 80)
	answer := f.Values.Get("credential")
	if answer == "" || len(answer) > maxPasskeyAnswer {
		f.Fail("credential", "passkey.failed")
	}
	if !f.OK() {
		return s.renderPasskeySetup(c, fiber.StatusUnprocessableEntity, next, f.Errors)
	}
	sess, _ := session(c)
	out, err := s.auth.FinishPasskey(c.UserContext(), sess, s.cfg.PublicURL(), name, []byte(answer))
	if errors.Is(err, auth.ErrBadPasskey) {
		return s.renderPasskeySetup(c, fiber.StatusUnprocessableEntity, next, forms.Errors{"credential": "passkey.failed"})
	} else if err != nil {
		return err
	}
	return s.afterEnrolment(c, out, next, "/staff/account?done=passkey_added")
}

// submitRemovePasskey removes one of the account's passkeys.
func (s *Server) submitRemovePasskey(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	sess, _ := session(c)
	if err := s.auth.RemovePasskey(c.UserContext(), sess, id); err != nil {
		return err
	}
	return c.Redirect("/staff/account?done=passkey", fiber.StatusSeeOther)
}

// submitVerifyPasskey completes the sign-in with the browser's answer to
// the passkey prompt.
func (s *Server) submitVerifyPasskey(c *fiber.Ctx) error {
	v := formValues(c)
	next := safeNext(v.Get("next"))
	answer := v.Get("credential")
	if answer == "" || len(answer) > maxPasskeyAnswer {
		return s.renderVerify(c, fiber.StatusUnprocessableEntity, next, forms.Errors{"credential": "passkey.failed"})
	}
	pending, _ := pendingSession(c)
	sess, err := s.auth.VerifyPasskey(c.UserContext(), pending, s.cfg.PublicURL(), []byte(answer), s.clientKey(c))
	switch {
	case errors.Is(err, auth.ErrBadPasskey):
		return s.renderVerify(c, fiber.StatusUnauthorized, next, forms.Errors{"credential": "passkey.failed"})
	case errors.Is(err, auth.ErrThrottled):
		return s.renderVerify(c, fiber.StatusTooManyRequests, next, forms.Errors{"credential": "login.throttled"})
	case err != nil:
		return err
	}
	return s.continueSignin(c, sess, next)
}
