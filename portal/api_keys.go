package portal

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/stats"
)

const maxKeyNameLen = 100

// decodeKeyForm reads the new-key form: a name, the scopes, optionally one
// service point and the last day the key works.
func decodeKeyForm(v url.Values, lang i18n.Language) (api.NewKey, forms.Errors) {
	f := forms.New(v)
	in := api.NewKey{Name: f.Text("name", true, maxKeyNameLen), Scopes: f.Choices("scopes", api.Scopes...)}
	if len(in.Scopes) == 0 && f.Errors["scopes"] == "" {
		f.Fail("scopes", "form.required")
	}
	if sp, ok := f.Int("service_point", false, 1, 1<<62); ok {
		in.ServicePointID = sp
	}
	if raw := f.Raw("expires"); raw != "" {
		day, ok := parseDay(lang, raw, stats.Location())
		switch {
		case !ok:
			f.Fail("expires", "form.invalid_date")
		case !day.After(time.Now()):
			f.Fail("expires", "api_keys.expiry_past")
		default:
			// The key works through the whole of its last day.
			end := day.AddDate(0, 0, 1)
			in.ExpiresAt = &end
		}
	}
	return in, f.Errors
}

type apiKeyRow struct {
	api.Key
	Place   string
	Expires string
	Created string
	Used    string
	Active  bool
}

type apiKeysPage struct {
	Page
	Keys   []apiKeyRow
	Points []struct {
		ID   int64
		Name string
	}
	Scopes []codeOption
	Form   formView
	Secret string // a key just made, shown once
	Made   string // its name
	Saved  bool
}

// showAPIKeys lists the municipality's API keys for its admin.
func (s *Server) showAPIKeys(c *fiber.Ctx) error {
	keys, err := s.api.Keys(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.renderAPIKeys(c, fiber.StatusOK, keys, nil, nil, "", "")
}

// submitAPIKey makes a key and shows its secret, this once.
func (s *Server) submitAPIKey(c *fiber.Ctx) error {
	v := formValues(c)
	in, errs := decodeKeyForm(v, s.translator(c).Lang)
	if len(errs) == 0 {
		k, secret, err := s.api.CreateKey(c.UserContext(), principal(c), in)
		switch {
		case err == nil:
			keys, err := s.api.Keys(c.UserContext(), principal(c))
			if err != nil {
				return err
			}
			return s.renderAPIKeys(c, fiber.StatusOK, keys, nil, nil, secret, k.Name)
		case !fieldError(errs, err):
			return err
		}
	}
	keys, err := s.api.Keys(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.renderAPIKeys(c, fiber.StatusUnprocessableEntity, keys, v, errs, "", "")
}

// submitAPIKeyRevoke ends a key at once.
func (s *Server) submitAPIKeyRevoke(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.api.RevokeKey(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect("/staff/api-keys?saved=1", fiber.StatusSeeOther)
}

func (s *Server) renderAPIKeys(c *fiber.Ctx, status int, kp api.KeysPage, typed url.Values, errs forms.Errors, secret, made string) error {
	page := apiKeysPage{Page: s.page(c, ""), Secret: secret, Made: made,
		Saved: c.Query("saved") != "" && secret == "" && typed == nil}
	page.Body = "staff setup"
	page.Title = page.T.Get("api_keys.title")
	page.Scopes = codeOptions(page.T, "api_keys.scope_", api.Scopes)
	page.Form = newFormView(page.T, "key-", typed, errs)
	names := servicePointNames(kp.Points, page.T.Lang.Code)
	for _, sp := range kp.Points {
		page.Points = append(page.Points, struct {
			ID   int64
			Name string
		}{sp.ID, names[sp.ID]})
	}
	loc := stats.Location()
	format := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return page.T.Lang.FormatDate(t.In(loc)) + " " + t.In(loc).Format(timeOfDayLayout)
	}
	now := time.Now()
	for _, k := range kp.Keys {
		row := apiKeyRow{Key: k, Place: page.T.Get("people.scope_municipality"), Created: format(&k.CreatedAt),
			Used: format(k.LastUsedAt), Active: k.Active(now)}
		if k.ServicePointID != 0 {
			row.Place = names[k.ServicePointID]
		}
		if k.ExpiresAt != nil {
			// The last day it works, as it was chosen.
			row.Expires = page.T.Lang.FormatDate(k.ExpiresAt.In(loc).AddDate(0, 0, -1))
		}
		page.Keys = append(page.Keys, row)
	}
	return s.renderStatus(c, status, "api_keys", page)
}

// codeOption is a code of the API (a scope, an event) with its description
// in the page's language.
type codeOption struct{ Code, Label string }

// codeOptions describes codes by the messages keyPrefix + code, the code's
// punctuation written as _ (clients:read → api_keys.scope_clients_read).
func codeOptions(t *i18n.T, keyPrefix string, codes []string) []codeOption {
	out := make([]codeOption, len(codes))
	for i, c := range codes {
		out[i] = codeOption{Code: c, Label: t.Get(keyPrefix + strings.NewReplacer(":", "_", ".", "_").Replace(c))}
	}
	return out
}
