package portal

import (
	"errors"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
)

type accountPage struct {
	Page
	Account   auth.Account
	Password  formView
	Language  formView
	Languages []i18n.Language
	Notice    string // what the last action did, translated
}

// When shows a time on the municipality's clock.
func (p accountPage) When(t time.Time) string { return t.In(helsinki).Format("2006-01-02 15:04") }

// accountNotices are the ?done= values the account page confirms.
var accountNotices = map[string]string{
	"password":      "account.password_changed",
	"language":      "account.language_saved",
	"sessions":      "account.sessions_ended",
	"totp":          "account.totp_removed",
	"totp_added":    "account.totp_added",
	"passkey_added": "account.passkey_added",
	"passkey":       "account.passkey_removed",
}

// showAccount shows the staff member's own account.
func (s *Server) showAccount(c *fiber.Ctx) error {
	return s.renderAccount(c, fiber.StatusOK, nil, nil)
}

// renderAccount renders the account page; a form that came back with
// problems carries them (password or language).
func (s *Server) renderAccount(c *fiber.Ctx, status int, passwordErrs, languageErrs forms.Errors) error {
	sess, _ := session(c)
	acct, err := s.auth.Account(c.UserContext(), sess)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("account.title")
	page := accountPage{Page: p, Account: acct, Languages: i18n.Languages,
		Password: newFormView(p.T, "pw-", nil, passwordErrs),
		Language: newFormView(p.T, "lang-", url.Values{"locale": {acct.Locale}}, languageErrs)}
	if k, ok := accountNotices[c.Query("done")]; ok && status == fiber.StatusOK {
		page.Notice = p.T.Get(k)
	}
	return s.renderStatus(c, status, "account", page)
}

// submitAccountPassword changes the password; the current one is needed,
// and every other session of the account ends.
func (s *Server) submitAccountPassword(c *fiber.Ctx) error {
	v := formValues(c)
	next, errs := decodeNewPassword(v)
	current := v.Get("current")
	if current == "" {
		errs["current"] = "form.required"
	}
	if len(errs) > 0 {
		return s.renderAccount(c, fiber.StatusUnprocessableEntity, errs, nil)
	}
	sess, _ := session(c)
	err := s.auth.ChangePassword(c.UserContext(), sess, current, next, s.clientKey(c))
	switch {
	case errors.Is(err, auth.ErrBadCredentials):
		return s.renderAccount(c, fiber.StatusUnprocessableEntity, forms.Errors{"current": "account.current_wrong"}, nil)
	case err != nil:
		return err
	}
	return c.Redirect("/staff/account?done=password", fiber.StatusSeeOther)
}

// submitAccountLanguage sets the language the portal speaks to this
// person; a ?lang= choice of this session gives way to it.
func (s *Server) submitAccountLanguage(c *fiber.Ctx) error {
	f := forms.New(formValues(c))
	code := f.Choice("locale", true, staffCodes...)
	if !f.OK() {
		return s.renderAccount(c, fiber.StatusUnprocessableEntity, nil, f.Errors)
	}
	sess, _ := session(c)
	if err := s.auth.SetLanguage(c.UserContext(), sess, code); err != nil {
		return err
	}
	s.forgetStaffLanguage(c)
	return c.Redirect("/staff/account?done=language", fiber.StatusSeeOther)
}

// submitEndOtherSessions signs the account out everywhere else.
func (s *Server) submitEndOtherSessions(c *fiber.Ctx) error {
	sess, _ := session(c)
	if err := s.auth.EndOtherSessions(c.UserContext(), sess); err != nil {
		return err
	}
	return c.Redirect("/staff/account?done=sessions", fiber.StatusSeeOther)
}
