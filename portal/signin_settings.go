package portal

import (
	"net/netip"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
)

type signinSettingsPage struct {
	Page
	Form         formView
	SecretStored bool
	Saved        bool
}

// settingsValues fills the form from what is stored; the client secret
// never comes back to the page.
func settingsValues(st auth.SigninSettings) url.Values {
	v := url.Values{"oidc_name": {st.OIDCName}, "oidc_issuer": {st.OIDCIssuer}, "oidc_client_id": {st.OIDCClientID},
		"groups_claim": {st.GroupsClaim}, "second_factor_required": {boolValue(st.SecondFactorRequired)},
		"oidc_enabled": {boolValue(st.OIDCEnabled)}, "password_signin": {boolValue(st.PasswordSignin)}}
	lines := make([]string, 0, len(st.Mappings))
	for _, m := range st.Mappings {
		line := m.Group + ", " + m.Role
		if m.ServicePoint != "" {
			line += ", " + m.ServicePoint
		}
		lines = append(lines, line)
	}
	v.Set("mappings", strings.Join(lines, "\n"))
	return v
}

// decodeSigninSettings reads the form. The provider's fields are needed
// only when it is on; its address must be https (plain http only on this
// machine, for trying a provider out).
func decodeSigninSettings(v url.Values) (auth.SigninSettings, forms.Errors) {
	f := forms.New(v)
	st := auth.SigninSettings{
		SecondFactorRequired: f.Bool("second_factor_required"),
		OIDCEnabled:          f.Bool("oidc_enabled"),
		PasswordSignin:       f.Bool("password_signin"),
	}
	on := st.OIDCEnabled
	st.OIDCName = f.Text("oidc_name", on, 80)
	st.OIDCIssuer = f.Text("oidc_issuer", on, 300)
	st.OIDCClientID = f.Text("oidc_client_id", on, 300)
	st.GroupsClaim = f.Text("groups_claim", true, 80)
	if secret := v.Get("oidc_client_secret"); len(secret) > 500 {
		f.Fail("oidc_client_secret", "form.too_long")
	} else {
		st.OIDCClientSecret = secret
	}
	if st.OIDCIssuer != "" && !validIssuer(st.OIDCIssuer) {
		f.Fail("oidc_issuer", "signin.issuer_invalid")
	}
	if !st.PasswordSignin && !st.OIDCEnabled {
		f.Fail("password_signin", "signin.password_needs_provider")
	}
	st.Mappings = decodeMappings(f, "mappings")
	return st, f.Errors
}

func validIssuer(issuer string) bool {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && a.IsLoopback()
}

// decodeMappings reads one mapping a line: "group, role" or
// "group, role, service point address name".
func decodeMappings(f *forms.Form, field string) []auth.RoleMapping {
	raw := f.Values.Get(field)
	if len(raw) > 20000 {
		f.Fail(field, "form.too_long")
		return nil
	}
	var out []auth.RoleMapping
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(line, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		m := auth.RoleMapping{Group: parts[0]}
		if len(parts) > 1 {
			m.Role = parts[1]
		}
		if len(parts) > 2 {
			m.ServicePoint = parts[2]
		}
		validRole := m.Role == auth.RoleExpert || m.Role == auth.RoleLead || m.Role == auth.RoleAdmin
		if len(parts) > 3 || m.Group == "" || len(m.Group) > 200 || !validRole ||
			(m.ServicePoint != "" && (!slugInPath.MatchString(m.ServicePoint) || m.Role == auth.RoleAdmin)) {
			f.Fail(field, "signin.mapping_invalid")
			return nil
		}
		out = append(out, m)
	}
	return out
}

// showSigninSettings shows how the municipality's staff sign in; admins.
func (s *Server) showSigninSettings(c *fiber.Ctx) error {
	st, err := s.auth.Settings(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("signin.title")
	return s.render(c, "signin_settings", signinSettingsPage{Page: p, Form: newFormView(p.T, "", settingsValues(st), nil),
		SecretStored: st.SecretStored, Saved: c.Query("saved") != ""})
}

// submitSigninSettings saves them.
func (s *Server) submitSigninSettings(c *fiber.Ctx) error {
	v := formValues(c)
	st, errs := decodeSigninSettings(v)
	if len(errs) == 0 {
		err := s.auth.SaveSettings(c.UserContext(), principal(c), st)
		if err == nil {
			return c.Redirect("/staff/signin-settings?saved=1", fiber.StatusSeeOther)
		}
		if !fieldError(errs, err) {
			return err
		}
	}
	stored, err := s.auth.Settings(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	v.Del("oidc_client_secret")
	p := s.page(c, "")
	p.Title = p.T.Get("signin.title")
	return s.renderStatus(c, fiber.StatusUnprocessableEntity, "signin_settings", signinSettingsPage{Page: p,
		Form: newFormView(p.T, "", v, errs), SecretStored: stored.SecretStored})
}
