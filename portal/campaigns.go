package portal

import (
	"errors"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/outreach"
)

type campaignsPage struct {
	Page
	Data    outreach.CampaignsPage
	Points  []campaignPoint
	Rows    []campaignRow
	Form    formView
	Saved   bool
	Preview *campaignPreview // set on the preview page
}

type campaignPoint struct {
	ID   int64
	Name string
}

type campaignRow struct {
	outreach.Campaign
	Point, When, Status, Filter string
	Cancellable                 bool
}

// campaignPreview is the preview page: the form's choices carried on as
// hidden fields, the number reached and each language's text.
type campaignPreview struct {
	outreach.CampaignPreview
	Values    url.Values
	Languages []campaignText
}

type campaignText struct {
	outreach.PreviewText
	Name, TextName, Dir string
}

// decodeCampaign reads the campaign form: the service point, the template
// and the filters; the domain checks them again.
func decodeCampaign(v url.Values) (outreach.CampaignFilter, int64, forms.Errors) {
	f := forms.New(v)
	var filter outreach.CampaignFilter
	filter.ServicePointID, _ = f.Int("service_point", true, 1, 1<<62)
	template, _ := f.Int("template", true, 1, 1<<62)
	filter.Enrolled = f.Bool("enrolled")
	if days, ok := f.Int("quiet_days", false, 1, outreach.MaxQuietDays); ok {
		filter.QuietDays = int(days)
	}
	return filter, template, f.Errors
}

// showCampaigns lists the campaigns of the service points the lead manages,
// with the form for a new one.
func (s *Server) showCampaigns(c *fiber.Ctx) error {
	data, err := s.outreach.Campaigns(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.renderCampaigns(c, fiber.StatusOK, data, url.Values{"enrolled": {"1"}}, nil, nil)
}

// submitCampaignPreview shows how many clients the campaign reaches and
// the text each language gets; nothing is sent.
func (s *Server) submitCampaignPreview(c *fiber.Ctx) error {
	v := formValues(c)
	filter, template, errs := decodeCampaign(v)
	if len(errs) == 0 {
		p, err := s.outreach.PreviewCampaign(c.UserContext(), principal(c), filter, template)
		var bad outreach.Invalid
		switch {
		case err == nil:
			return s.renderCampaignPreview(c, p, v)
		case errors.As(err, &bad):
			errs = forms.Errors(bad)
		default:
			return err
		}
	}
	return s.campaignFormFailed(c, v, errs)
}

// submitCampaign starts the campaign the preview showed.
func (s *Server) submitCampaign(c *fiber.Ctx) error {
	v := formValues(c)
	filter, template, errs := decodeCampaign(v)
	if len(errs) == 0 {
		_, _, err := s.outreach.StartCampaign(c.UserContext(), principal(c), filter, template)
		var bad outreach.Invalid
		switch {
		case err == nil:
			return c.Redirect("/staff/campaigns?saved=1", fiber.StatusSeeOther)
		case errors.As(err, &bad):
			errs = forms.Errors(bad)
		default:
			return err
		}
	}
	return s.campaignFormFailed(c, v, errs)
}

// submitCampaignCancel stops a campaign still sending.
func (s *Server) submitCampaignCancel(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.outreach.CancelCampaign(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect("/staff/campaigns?saved=1", fiber.StatusSeeOther)
}

// campaignFormFailed shows the campaign screen again with the form's
// problems beside its fields and what was chosen kept.
func (s *Server) campaignFormFailed(c *fiber.Ctx, v url.Values, errs forms.Errors) error {
	data, err := s.outreach.Campaigns(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	return s.renderCampaigns(c, fiber.StatusUnprocessableEntity, data, v, errs, nil)
}

func (s *Server) renderCampaignPreview(c *fiber.Ctx, p outreach.CampaignPreview, v url.Values) error {
	keep := url.Values{}
	for _, k := range []string{"service_point", "template", "enrolled", "quiet_days"} {
		if x := v.Get(k); x != "" {
			keep.Set(k, x)
		}
	}
	preview := &campaignPreview{CampaignPreview: p, Values: keep}
	for _, t := range p.Texts {
		ct := campaignText{PreviewText: t, Name: s.languageName(t.Language), TextName: s.languageName(t.TextLanguage), Dir: "ltr"}
		if l, ok := s.catalog.Lookup(t.TextLanguage); ok {
			ct.Dir = l.Dir()
		}
		preview.Languages = append(preview.Languages, ct)
	}
	return s.renderCampaigns(c, fiber.StatusOK, outreach.CampaignsPage{}, nil, nil, preview)
}

func (s *Server) renderCampaigns(c *fiber.Ctx, status int, data outreach.CampaignsPage, typed url.Values, errs forms.Errors,
	preview *campaignPreview) error {
	page := campaignsPage{Page: s.page(c, ""), Data: data, Preview: preview, Saved: c.Query("saved") != "" && errs == nil && preview == nil}
	page.Body = "staff setup"
	t := page.T
	page.Title = t.Get("campaigns.title")
	page.Form = newFormView(t, "campaign-", typed, errs)
	names := servicePointNames(data.Points, t.Lang.Code)
	for _, p := range data.Points {
		page.Points = append(page.Points, campaignPoint{ID: p.ID, Name: names[p.ID]})
	}
	for _, k := range data.Campaigns {
		row := campaignRow{Campaign: k, Point: names[k.ServicePointID], When: when(t.Lang, k.CreatedAt.In(helsinki)),
			Status: t.Get("campaigns.status." + k.Status), Cancellable: k.Status == outreach.CampaignSending}
		if k.Filter.Enrolled {
			row.Filter = t.Get("campaigns.enrolled")
		}
		if k.Filter.QuietDays > 0 {
			if row.Filter != "" {
				row.Filter += "; "
			}
			row.Filter += t.Get("campaigns.quiet_days") + ": " + strconv.Itoa(k.Filter.QuietDays)
		}
		page.Rows = append(page.Rows, row)
	}
	return s.renderStatus(c, status, "campaigns", page)
}
