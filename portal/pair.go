package portal

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

// deviceCookie holds a paired kiosk's or display's credential.
const deviceCookie = "koto_device"

// deviceCookieMaxAge is 400 days, the longest a browser keeps a cookie: a
// screen on the wall should not need pairing again within a year.
const deviceCookieMaxAge = 400 * 24 * 60 * 60

// decodePairForm reads the pairing code: eight digits, however they were
// spaced or dashed.
func decodePairForm(v url.Values) (string, forms.Errors) {
	f := forms.New(v)
	raw := f.Text("code", true, 20)
	if raw == "" {
		return "", f.Errors
	}
	code := auth.NormalizePairCode(raw)
	if code == "" || strings.ContainsFunc(raw, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '-' || r == ' ') }) {
		f.Fail("code", "pair.bad_code")
		return "", f.Errors
	}
	return code, f.Errors
}

type pairPage struct {
	Page
	Kind  string // kiosk or display
	Form  formView
	Error string // a problem with the code as a whole
}

// pairKind tells from the address which kind of device is being paired.
func pairKind(c *fiber.Ctx) string {
	if strings.HasPrefix(c.Path(), "/display/") {
		return auth.KindDisplay
	}
	return auth.KindKiosk
}

func (s *Server) renderPairPage(c *fiber.Ctx, status int, v url.Values, errs forms.Errors) error {
	// The page sets up a device credential: no address of it, nor where the
	// device came from, is passed on to another site.
	c.Set("Referrer-Policy", "no-referrer")
	page := pairPage{Page: s.page(c, ""), Kind: pairKind(c)}
	page.Body = "pair"
	page.Title = page.T.Get("pair.title_" + page.Kind)
	page.Form = newFormView(page.T, "", v, errs)
	page.Error = page.Form.Error("code")
	return s.renderStatus(c, status, "pair", page)
}

// showPairPage asks a new kiosk or display for the code its lead made.
func (s *Server) showPairPage(c *fiber.Ctx) error {
	return s.renderPairPage(c, fiber.StatusOK, nil, nil)
}

// submitPairCode exchanges the code for the device's credential, kept in a
// long-lived cookie, and opens the device's screen.
func (s *Server) submitPairCode(c *fiber.Ctx) error {
	v := formValues(c)
	code, errs := decodePairForm(v)
	if len(errs) > 0 {
		return s.renderPairPage(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	kind := pairKind(c)
	token, d, err := s.auth.Pair(c.UserContext(), code, kind, s.clientKey(c))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		return s.renderPairPage(c, fiber.StatusTooManyRequests, v, forms.Errors{"code": "pair.throttled"})
	case errors.Is(err, auth.ErrBadPairCode):
		return s.renderPairPage(c, fiber.StatusUnprocessableEntity, v, forms.Errors{"code": "pair.wrong_code"})
	case err != nil:
		return err
	}
	c.Set("Referrer-Policy", "no-referrer")
	c.Cookie(&fiber.Cookie{Name: deviceCookie, Value: token, Path: "/", MaxAge: deviceCookieMaxAge,
		HTTPOnly: true, Secure: c.Protocol() == "https", SameSite: fiber.CookieSameSiteLaxMode})
	return c.Redirect("/"+d.Kind+"/"+url.PathEscape(d.ServicePoint), fiber.StatusSeeOther)
}
