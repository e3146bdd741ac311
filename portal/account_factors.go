package portal

import (
	"errors"
	"html/template"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

type factorsPage struct {
	Page
	Enrolling bool // the sign-in waits for this: the municipality requires a factor
	Next      string
}

// showFactorSetup offers the kinds of second factor to set up. A sign-in
// held until one is set up lands here.
func (s *Server) showFactorSetup(c *fiber.Ctx) error {
	sess, _ := session(c)
	p := s.page(c, "")
	p.Title = p.T.Get("factors.title")
	return s.render(c, "factors", factorsPage{Page: p, Enrolling: sess.Stage == auth.StageEnrol, Next: safeNext(c.Query("next"))})
}

type totpSetupPage struct {
	Page
	Enrolling bool
	Next      string
	Secret    string
	QR        template.HTML
	Form      formView
}

// showTOTPSetup shows the authenticator app's QR code and secret, and asks
// for a first code from it.
func (s *Server) showTOTPSetup(c *fiber.Ctx) error {
	return s.renderTOTPSetup(c, fiber.StatusOK, safeNext(c.Query("next")), nil)
}

func (s *Server) renderTOTPSetup(c *fiber.Ctx, status int, next string, errs forms.Errors) error {
	sess, _ := session(c)
	setup, err := s.auth.BeginTOTP(c.UserContext(), sess)
	if errors.Is(err, auth.ErrFactorExists) {
		return c.Redirect("/staff/account", fiber.StatusSeeOther)
	} else if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("totp.title")
	qr, err := qrSVG(setup.URL, p.T.Get("totp.qr_label"))
	if err != nil {
		return err
	}
	return s.renderStatus(c, status, "totp_setup", totpSetupPage{Page: p, Enrolling: sess.Stage == auth.StageEnrol, Next: next,
		Secret: setup.Secret, QR: qr, Form: newFormView(p.T, "", nil, errs)})
}

// submitTOTPSetup turns the app on when its code is right. The first
// factor comes with recovery codes, shown once; a sign-in that waited for
// the factor is complete.
func (s *Server) submitTOTPSetup(c *fiber.Ctx) error {
	v := formValues(c)
	next := safeNext(v.Get("next"))
	code := v.Get("code")
	if code == "" || len(code) > 20 {
		return s.renderTOTPSetup(c, fiber.StatusUnprocessableEntity, next, forms.Errors{"code": "totp.code_wrong"})
	}
	sess, _ := session(c)
	out, err := s.auth.ConfirmTOTP(c.UserContext(), sess, code)
	switch {
	case errors.Is(err, auth.ErrBadCode), errors.Is(err, auth.ErrNoPendingFactor):
		return s.renderTOTPSetup(c, fiber.StatusUnprocessableEntity, next, forms.Errors{"code": "totp.code_wrong"})
	case err != nil:
		return err
	}
	return s.afterEnrolment(c, out, next, "/staff/account?done=totp_added")
}

// afterEnrolment shows the recovery codes of a first factor, once, or
// goes on: to next when the sign-in waited for this, else to done.
func (s *Server) afterEnrolment(c *fiber.Ctx, out auth.Enrolled, next, done string) error {
	if out.Session != nil {
		s.setSessionCookie(c, *out.Session)
		c.Locals(keySession, *out.Session)
		done = next
	}
	if len(out.RecoveryCodes) == 0 {
		return c.Redirect(done, fiber.StatusSeeOther)
	}
	return s.renderRecoveryCodes(c, out.RecoveryCodes, done)
}

type recoveryPage struct {
	Page
	Codes []string
	Next  string
}

func (s *Server) renderRecoveryCodes(c *fiber.Ctx, codes []string, next string) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	p := s.page(c, "")
	p.Title = p.T.Get("recovery.title")
	return s.render(c, "recovery_codes", recoveryPage{Page: p, Codes: codes, Next: next})
}

// submitNewRecoveryCodes replaces the recovery codes and shows the new
// ones, once.
func (s *Server) submitNewRecoveryCodes(c *fiber.Ctx) error {
	sess, _ := session(c)
	codes, err := s.auth.NewRecoveryCodes(c.UserContext(), sess)
	if err != nil {
		return err
	}
	return s.renderRecoveryCodes(c, codes, "/staff/account")
}

// submitRemoveTOTP switches the authenticator app off.
func (s *Server) submitRemoveTOTP(c *fiber.Ctx) error {
	sess, _ := session(c)
	if err := s.auth.RemoveTOTP(c.UserContext(), sess); err != nil {
		return err
	}
	return c.Redirect("/staff/account?done=totp", fiber.StatusSeeOther)
}
