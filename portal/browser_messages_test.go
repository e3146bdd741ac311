package portal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// The lead's template and campaign screens in Finnish, in Chromium, each
// page checked by axe-core: a template with a wrong placeholder refused
// beside its field, then saved; a campaign previewed per language and sent.
func TestTemplatesAndCampaignInBrowser(t *testing.T) {
	in, lead := browserAs(t, demo.LeadEmail)
	typeInto := func(sel, text string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(lead, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.SetValue(chromedp.CSS(sel), text)); err != nil {
			t.Fatalf("type into %s: %v", sel, err)
		}
	}
	browsertest.Open(lead, t, in.URL+"/staff/message-templates?lang=fi")
	browsertest.WaitVisible(lead, t, "#template-name")
	browsertest.Axe(lead, t)
	typeInto("#template-name", "Kevätjuhla")
	typeInto("#template-text_fi", "Hei {first_name}, tervetuloa kevätjuhlaan!")
	typeInto("#template-text_ar", "مرحبا {اسم}")
	submitAndWait(lead, t, ".setup-form button[type=submit]", "#template-text_ar-error")
	waitText(lead, t, "#template-text_ar-error", "Tuntematon kohta aaltosulkeissa")
	browsertest.Axe(lead, t)
	typeInto("#template-text_ar", "مرحبا {first_name}")
	submitAndWait(lead, t, ".setup-form button[type=submit]", "table")
	waitText(lead, t, "main table", "Kevätjuhla")
	browsertest.Axe(lead, t)

	// A client of demo's in Arabic, active: the campaign reaches them.
	queryString(t, in.OwnerURL, `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language)
		SELECT municipality_id, id, 'Layla', 'X', 'ar' FROM service_points WHERE slug = 'demo' RETURNING 'ok'`)
	browsertest.Open(lead, t, in.URL+"/staff/campaigns?lang=fi")
	browsertest.WaitVisible(lead, t, "#campaign-template")
	browsertest.Axe(lead, t)
	click(lead, t, "input[name=enrolled]") // off: the client has no phone yet
	submitAndWait(lead, t, ".setup-form button[type=submit]", "main table")
	waitText(lead, t, "main", "Vastaanottajia: 1")
	if text := browsertest.Text(lead, t, "main table"); !strings.Contains(text, "مرحبا {first_name}") {
		t.Errorf("the preview does not show the Arabic text: %q", text)
	}
	browsertest.Axe(lead, t)
	submitAndWait(lead, t, "main form button[type=submit]", "main .notice.ok")
	waitText(lead, t, "main table", "0 / 1")
	browsertest.Axe(lead, t)
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM campaign_recipients`); n != "1" {
		t.Errorf("%s recipients queued", n)
	}
}
