package portal

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
)

// providerStateCookie binds a sign-in at the provider to the browser that
// started it: a callback carrying someone else's state (a planted sign-in)
// is refused.
const providerStateCookie = "koto_oidc_state"

// providerErrors are the login page's messages for a refused sign-in
// through the municipality's provider.
var providerErrors = []struct {
	err    error
	status int
	key    string
}{
	{auth.ErrProviderState, fiber.StatusBadRequest, "oidc.state"},
	{auth.ErrProviderToken, fiber.StatusUnauthorized, "oidc.token"},
	{auth.ErrProviderNonce, fiber.StatusUnauthorized, "oidc.nonce"},
	{auth.ErrProviderNoRole, fiber.StatusForbidden, "oidc.no_role"},
	{auth.ErrProviderInactive, fiber.StatusForbidden, "oidc.inactive"},
	{auth.ErrProviderNoEmail, fiber.StatusForbidden, "oidc.no_email"},
	{auth.ErrProviderEmailUsed, fiber.StatusConflict, "oidc.email_used"},
	{auth.ErrProviderDown, fiber.StatusBadGateway, "oidc.down"},
	{auth.ErrNoProvider, fiber.StatusNotFound, "oidc.none"},
}

func (s *Server) providerCallbackURL() string { return s.cfg.PublicURL() + "/login/oidc/callback" }

// startProviderSignin sends the browser to the municipality's provider.
func (s *Server) startProviderSignin(c *fiber.Ctx) error {
	slug, err := providerSlug(c)
	if err != nil {
		return err
	}
	to, state, err := s.auth.BeginProviderSignin(c.UserContext(), slug, s.providerCallbackURL(), safeNext(c.Query("next")))
	if err != nil {
		return s.refuseProviderSignin(c, err)
	}
	c.Cookie(&fiber.Cookie{Name: providerStateCookie, Value: state, Path: "/login/oidc", MaxAge: int(auth.ProviderStateTimeout / time.Second),
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
	return c.Redirect(to, fiber.StatusSeeOther)
}

func providerSlug(c *fiber.Ctx) (string, error) {
	slug := c.Params("municipality")
	if !slugInPath.MatchString(slug) {
		return "", errNotFound
	}
	return slug, nil
}

// finishProviderSignin takes the provider's answer and signs the person in.
func (s *Server) finishProviderSignin(c *fiber.Ctx) error {
	state := c.Query("state")
	bound := c.Cookies(providerStateCookie)
	c.Cookie(&fiber.Cookie{Name: providerStateCookie, Value: "", Path: "/login/oidc", MaxAge: -1, Expires: time.Unix(1, 0),
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
	if state == "" || state != bound {
		return s.refuseProviderSignin(c, auth.ErrProviderState)
	}
	if c.Query("error") != "" {
		return s.refuseProviderSignin(c, auth.ErrProviderDown)
	}
	sess, next, err := s.auth.FinishProviderSignin(c.UserContext(), state, c.Query("code"), s.providerCallbackURL(),
		c.Get(fiber.HeaderUserAgent), c.Cookies(sessionCookie(c)))
	if err != nil {
		return s.refuseProviderSignin(c, err)
	}
	return s.continueSignin(c, sess, safeNext(next))
}

// refuseProviderSignin shows the login page with why the sign-in failed.
func (s *Server) refuseProviderSignin(c *fiber.Ctx, err error) error {
	for _, pe := range providerErrors {
		if errors.Is(err, pe.err) {
			if pe.status >= 500 {
				s.logger.Warn("sign-in provider", "request_id", requestID(c), "err", err)
			}
			return s.renderLogin(c, pe.status, "", safeNext(c.Query("next")), pe.key)
		}
	}
	return err
}
