package portal

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/stats"
	"github.com/koto-portal/portal/portal/apiv1"
)

// ListServicePoints answers GET /service-points.
func (h *apiHandlers) ListServicePoints(c *fiber.Ctx) error {
	points, err := h.s.org.WorkPlaces(c.UserContext(), apiPrincipal(c))
	if err != nil {
		return err
	}
	out := apiv1.ServicePointList{Data: make([]apiv1.ServicePoint, 0, len(points))}
	for _, sp := range points {
		out.Data = append(out.Data, apiv1.ServicePoint{Id: sp.ID, Slug: sp.Slug, Names: sp.Names, TimeZone: sp.TimeZone})
	}
	return c.JSON(out)
}

// GetQueueSummary answers GET /service-points/{id}/queue.
func (h *apiHandlers) GetQueueSummary(c *fiber.Ctx, id apiv1.ServicePointId) error {
	st, err := h.s.queue.Summary(c.UserContext(), apiPrincipal(c), id)
	if err != nil {
		return err
	}
	now := time.Now()
	out := apiv1.QueueSummary{ServicePointId: st.ServicePointID, Open: st.Open, OpensAt: st.OpensAt,
		Waiting: len(st.Waiting), BeingServed: len(st.Active), AsOf: now.UTC()}
	if len(st.Waiting) > 0 {
		out.LongestWaitSeconds = ptr(int(now.Sub(st.Waiting[0].CreatedAt).Seconds()))
	}
	out.Topics = make([]struct {
		Prefix  string `json:"prefix"`
		TopicId int64  `json:"topic_id"`
		Waiting int    `json:"waiting"`
	}, len(st.Topics))
	for i, t := range st.Topics {
		out.Topics[i].Prefix, out.Topics[i].TopicId, out.Topics[i].Waiting = t.Prefix, t.TopicID, t.Waiting
	}
	return c.JSON(out)
}

// GetVisitStatistics answers GET /statistics/visits. Counts under
// stats.SuppressBelow are null whatever the span: the figures leave the
// portal for another system, as an export's do.
func (h *apiHandlers) GetVisitStatistics(c *fiber.Ctx, p apiv1.GetVisitStatisticsParams) error {
	from, to := p.From.Time, p.To.Time
	_, report, err := h.s.stats.Statistics(c.UserContext(), apiPrincipal(c), func(points []org.ServicePoint) (stats.Filter, bool) {
		f := stats.Filter{From: stats.Day(from.Year(), from.Month(), from.Day()), To: stats.Day(to.Year(), to.Month(), to.Day())}
		if p.ServicePointId != nil {
			f.ServicePointIDs = *p.ServicePointId
		} else {
			for _, sp := range points {
				f.ServicePointIDs = append(f.ServicePointIDs, sp.ID)
			}
		}
		return f, true
	})
	if err != nil {
		return err
	}
	out := apiv1.VisitStatistics{From: p.From, To: p.To, ServicePointIds: report.Filter.ServicePointIDs,
		SuppressedBelow: stats.SuppressBelow, Total: suppressed(report.Total),
		Topics: tallies(report.Topics), Languages: tallies(report.Languages), Channels: tallies(report.Channels)}
	for _, d := range report.Days {
		out.Days = append(out.Days, struct {
			Date   openapi_types.Date `json:"date"`
			Visits *apiv1.Count       `json:"visits"`
		}{openapi_types.Date{Time: d.Start}, suppressed(d.N)})
	}
	out.WaitSeconds.Visits = suppressed(report.Wait.N)
	if report.Wait.N >= stats.SuppressBelow {
		out.WaitSeconds.Median, out.WaitSeconds.P90 = ptr(report.Wait.Median), ptr(report.Wait.P90)
	}
	return c.JSON(out)
}

// suppressed is a count as the API gives it: nil under stats.SuppressBelow.
func suppressed(n int) *apiv1.Count {
	if n < stats.SuppressBelow {
		return nil
	}
	return &n
}

func tallies(cs []stats.Category) []apiv1.Tally {
	out := make([]apiv1.Tally, len(cs))
	for i, c := range cs {
		out[i] = apiv1.Tally{Key: c.Key, Visits: suppressed(c.N)}
	}
	return out
}

// webhookOut is an endpoint as the API shows it.
func webhookOut(e api.Endpoint) apiv1.Webhook {
	events := make([]apiv1.EventType, len(e.Events))
	for i, ev := range e.Events {
		events[i] = apiv1.EventType(ev)
	}
	return apiv1.Webhook{Id: e.ID, Url: e.URL, Description: e.Description, Events: events, Active: e.Active,
		DisabledAt: e.DisabledAt, CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

func eventNames(events []apiv1.EventType) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = string(e)
	}
	return out
}

// ListWebhooks answers GET /webhooks.
func (h *apiHandlers) ListWebhooks(c *fiber.Ctx) error {
	all, err := h.s.api.Webhooks(c.UserContext(), apiPrincipal(c))
	if err != nil {
		return err
	}
	out := apiv1.WebhookList{Data: make([]apiv1.Webhook, 0, len(all))}
	for _, e := range all {
		out.Data = append(out.Data, webhookOut(e))
	}
	return c.JSON(out)
}

// CreateWebhook answers POST /webhooks.
func (h *apiHandlers) CreateWebhook(c *fiber.Ctx, _ apiv1.CreateWebhookParams) error {
	in, err := decodeJSON[apiv1.WebhookCreate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	e, secret, err := h.s.api.CreateWebhook(c.UserContext(), apiPrincipal(c),
		api.EndpointInput{URL: &in.Url, Description: in.Description, Events: eventNames(in.Events)})
	if err != nil {
		return err
	}
	w := webhookOut(e)
	c.Set(fiber.HeaderLocation, apiBase+"/webhooks/"+strconv.FormatInt(e.ID, 10))
	c.Set(fiber.HeaderETag, etag(e.Version))
	return c.Status(http.StatusCreated).JSON(apiv1.WebhookCreated{Id: w.Id, Url: w.Url, Description: w.Description,
		Events: w.Events, Active: w.Active, DisabledAt: w.DisabledAt, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, Secret: secret})
}

// GetWebhook answers GET /webhooks/{id}.
func (h *apiHandlers) GetWebhook(c *fiber.Ctx, id apiv1.WebhookId) error {
	e, _, err := h.s.api.Webhook(c.UserContext(), apiPrincipal(c), id)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag(e.Version))
	return c.JSON(webhookOut(e))
}

// UpdateWebhook answers PATCH /webhooks/{id}: only with the ETag of the
// version it changes.
func (h *apiHandlers) UpdateWebhook(c *fiber.Ctx, id apiv1.WebhookId, p apiv1.UpdateWebhookParams) error {
	in, err := decodeJSON[apiv1.WebhookUpdate](c.Get(fiber.HeaderContentType), c.Body())
	if err != nil {
		return err
	}
	version, err := ifMatch(p.IfMatch)
	if err != nil {
		return err
	}
	change := api.EndpointInput{URL: in.Url, Description: in.Description, Active: in.Active}
	if in.Events != nil {
		change.Events = eventNames(*in.Events)
		if len(change.Events) == 0 {
			return api.ErrNoEvents
		}
	}
	e, err := h.s.api.UpdateWebhook(c.UserContext(), apiPrincipal(c), id, version, change)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderETag, etag(e.Version))
	return c.JSON(webhookOut(e))
}

// DeleteWebhook answers DELETE /webhooks/{id}.
func (h *apiHandlers) DeleteWebhook(c *fiber.Ctx, id apiv1.WebhookId) error {
	if err := h.s.api.DeleteWebhook(c.UserContext(), apiPrincipal(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}

// TestWebhook answers POST /webhooks/{id}/test.
func (h *apiHandlers) TestWebhook(c *fiber.Ctx, id apiv1.WebhookId, _ apiv1.TestWebhookParams) error {
	event, err := h.s.api.TestWebhook(c.UserContext(), apiPrincipal(c), id)
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(apiv1.EventQueued{EventId: event})
}

// ListWebhookDeliveries answers GET /webhooks/{id}/deliveries.
func (h *apiHandlers) ListWebhookDeliveries(c *fiber.Ctx, id apiv1.WebhookId) error {
	_, ds, err := h.s.api.Webhook(c.UserContext(), apiPrincipal(c), id)
	if err != nil {
		return err
	}
	out := apiv1.DeliveryList{Data: make([]apiv1.Delivery, 0, len(ds))}
	for _, d := range ds {
		row := apiv1.Delivery{Id: d.ID, EventId: d.EventID, EventType: d.EventType, Attempt: d.Attempt, At: d.At.UTC(),
			Ok: d.OK(), Response: d.Response, Error: d.Error, DurationMs: int(d.Duration.Milliseconds())}
		if d.StatusCode != 0 {
			row.StatusCode = ptr(d.StatusCode)
		}
		out.Data = append(out.Data, row)
	}
	return c.JSON(out)
}
