package portal

import (
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/stats"
)

// decodeWebhookForm reads the new-endpoint form: an https address, a
// description, the events.
func decodeWebhookForm(v url.Values) (api.EndpointInput, forms.Errors) {
	f := forms.New(v)
	u := f.Text("url", true, 2000)
	d := f.Text("description", false, 200)
	in := api.EndpointInput{URL: &u, Description: &d, Events: f.Choices("events", events.All...)}
	if len(in.Events) == 0 && f.Errors["events"] == "" {
		f.Fail("events", "form.required")
	}
	return in, f.Errors
}

type webhookRow struct {
	api.Endpoint
	Disabled string // when the portal switched it off
}

type webhooksPage struct {
	Page
	Hooks    []webhookRow
	Events   []codeOption
	Form     formView
	Secret   string
	Made     string
	Saved    bool
	Switched bool // an endpoint was switched off by the portal: say so first
}

// showWebhooks lists the municipality's webhook endpoints; one the portal
// switched off after a day of failures is announced at the top.
func (s *Server) showWebhooks(c *fiber.Ctx) error {
	return s.renderWebhooks(c, fiber.StatusOK, nil, nil, "", "")
}

// submitWebhook registers an endpoint and shows its secret, this once.
func (s *Server) submitWebhook(c *fiber.Ctx) error {
	v := formValues(c)
	in, errs := decodeWebhookForm(v)
	if len(errs) == 0 {
		e, secret, err := s.api.CreateWebhook(c.UserContext(), principal(c), in)
		switch {
		case err == nil:
			return s.renderWebhooks(c, fiber.StatusOK, nil, nil, secret, e.URL)
		case !fieldError(errs, err):
			return err
		}
	}
	return s.renderWebhooks(c, fiber.StatusUnprocessableEntity, v, errs, "", "")
}

func (s *Server) renderWebhooks(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors, secret, made string) error {
	hooks, err := s.api.Webhooks(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	page := webhooksPage{Page: s.page(c, ""), Secret: secret, Made: made,
		Saved: c.Query("saved") != "" && secret == "" && typed == nil}
	page.Body = "staff setup"
	page.Title = page.T.Get("webhooks.title")
	page.Events = codeOptions(page.T, "webhooks.event_", events.All)
	page.Form = newFormView(page.T, "hook-", typed, errs)
	for _, h := range hooks {
		row := webhookRow{Endpoint: h}
		if h.DisabledAt != nil {
			row.Disabled = formatStamp(page.T, *h.DisabledAt)
			page.Switched = true
		}
		page.Hooks = append(page.Hooks, row)
	}
	return s.renderStatus(c, status, "webhooks", page)
}

// formatStamp writes an instant as the page's language writes a date, and
// the time, in the statistics' zone (every municipality is in Finland).
func formatStamp(t *i18n.T, at time.Time) string {
	at = at.In(stats.Location())
	return t.Lang.FormatDate(at) + " " + at.Format(timeOfDayLayout)
}

type deliveryRow struct {
	api.Delivery
	At string
}

type webhookPage struct {
	Page
	Hook       api.Endpoint
	Disabled   string
	Deliveries []deliveryRow
	Queued     bool
	Saved      bool
}

// showWebhook shows one endpoint and its latest deliveries with answers.
func (s *Server) showWebhook(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	h, ds, err := s.api.Webhook(c.UserContext(), principal(c), id)
	if err != nil {
		return err
	}
	page := webhookPage{Page: s.page(c, ""), Hook: h, Queued: c.Query("queued") != "", Saved: c.Query("saved") != ""}
	page.Body = "staff setup"
	page.Title = page.T.Get("webhooks.one_title", "URL", h.URL)
	if h.DisabledAt != nil {
		page.Disabled = formatStamp(page.T, *h.DisabledAt)
	}
	for _, d := range ds {
		page.Deliveries = append(page.Deliveries, deliveryRow{Delivery: d, At: formatStamp(page.T, d.At)})
	}
	return s.render(c, "webhook", page)
}

// submitWebhookTest queues a test event to the endpoint.
func (s *Server) submitWebhookTest(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.api.TestWebhook(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect("/staff/webhooks/"+strconv.FormatInt(id, 10)+"?queued=1", fiber.StatusSeeOther)
}

// submitWebhookSwitch switches an endpoint on or off, if it is still the
// version the page showed.
func (s *Server) submitWebhookSwitch(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := idParam(c, "id")
		if err != nil {
			return err
		}
		version, _ := strconv.Atoi(formValues(c).Get("version"))
		if _, err := s.api.UpdateWebhook(c.UserContext(), principal(c), id, version, api.EndpointInput{Active: &on}); err != nil {
			return err
		}
		return c.Redirect("/staff/webhooks/"+strconv.FormatInt(id, 10)+"?saved=1", fiber.StatusSeeOther)
	}
}

// submitWebhookDelete removes an endpoint and its delivery log.
func (s *Server) submitWebhookDelete(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.api.DeleteWebhook(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect("/staff/webhooks?saved=1", fiber.StatusSeeOther)
}
