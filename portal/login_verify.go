package portal

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

type verifyPage struct {
	Page
	Next    string
	Form    formView
	Passkey string // navigator.credentials.get's options, JSON; "" without a passkey
}

// showVerifyPage asks a sign-in half-way for its second factor: a code
// from the app, a passkey, or a recovery code.
func (s *Server) showVerifyPage(c *fiber.Ctx) error {
	return s.renderVerify(c, fiber.StatusOK, safeNext(c.Query("next")), nil)
}

// renderVerify shows the second step; each showing gives a passkey prompt
// a new challenge.
func (s *Server) renderVerify(c *fiber.Ctx, status int, next string, errs forms.Errors) error {
	pending, _ := pendingSession(c)
	options, err := s.auth.PasskeyLoginOptions(c.UserContext(), pending, s.cfg.PublicURL())
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("verify.title")
	return s.renderStatus(c, status, "verify", verifyPage{Page: p, Next: next, Form: newFormView(p.T, "", nil, errs),
		Passkey: string(options)})
}

// submitVerifyTOTP completes the sign-in with a code from the app.
func (s *Server) submitVerifyTOTP(c *fiber.Ctx) error {
	return s.submitVerify(c, "code", s.auth.VerifyTOTP)
}

// submitVerifyRecovery completes the sign-in with a recovery code.
func (s *Server) submitVerifyRecovery(c *fiber.Ctx) error {
	return s.submitVerify(c, "recovery", s.auth.VerifyRecoveryCode)
}

// submitVerify checks the code typed in field with check; a wrong one
// comes back beside its field.
func (s *Server) submitVerify(c *fiber.Ctx, field string,
	check func(ctx context.Context, pending auth.Session, code, clientKey string) (auth.Session, error)) error {
	v := formValues(c)
	next := safeNext(v.Get("next"))
	code := v.Get(field)
	if code == "" || len(code) > 40 {
		return s.renderVerify(c, fiber.StatusUnprocessableEntity, next, forms.Errors{field: "verify." + field + "_wrong"})
	}
	pending, _ := pendingSession(c)
	sess, err := check(c.UserContext(), pending, code, s.clientKey(c))
	switch {
	case errors.Is(err, auth.ErrBadCode):
		return s.renderVerify(c, fiber.StatusUnauthorized, next, forms.Errors{field: "verify." + field + "_wrong"})
	case errors.Is(err, auth.ErrThrottled):
		return s.renderVerify(c, fiber.StatusTooManyRequests, next, forms.Errors{field: "login.throttled"})
	case err != nil:
		return err
	}
	return s.continueSignin(c, sess, next)
}
