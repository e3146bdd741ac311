package portal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
)

// A lead's campaign over HTTP: a wrong filter comes back beside its field,
// the preview counts and shows before anything is queued, sending queues
// the recipients, and a cancelled campaign cannot be cancelled again.
func TestCampaignOverHTTP(t *testing.T) {
	in := secStart(t)
	owner := secOwner(t, in)
	ctx := context.Background()
	outreachClient(t, in) // Hodan, Somali, active
	var sp, tpl int64
	if err := owner.QueryRow(ctx, `SELECT id FROM service_points WHERE slug = $1`, demo.ServicePoint).Scan(&sp); err != nil {
		t.Fatal(err)
	}
	if err := owner.QueryRow(ctx, `WITH t AS (INSERT INTO message_templates (municipality_id, name) SELECT municipality_id, 'Kevät'
		FROM service_points WHERE id = $1 RETURNING id, municipality_id)
		INSERT INTO message_template_versions (municipality_id, template_id, version, texts)
		SELECT municipality_id, id, 1, '{"fi": "Hei {first_name}", "so": "Salaan {first_name}"}' FROM t RETURNING template_id`, sp).Scan(&tpl); err != nil {
		t.Fatal(err)
	}
	lead := newSecBrowser(t, in)
	lead.login(demo.LeadEmail)
	post := func(path string, v url.Values) *secResponse {
		v.Set("_csrf", lead.csrf)
		return lead.do(http.MethodPost, path+"?lang=fi", v, map[string]string{"Origin": in.URL})
	}
	form := url.Values{"service_point": {fmt.Sprint(sp)}, "template": {fmt.Sprint(tpl)}, "quiet_days": {"abc"}}
	if r := post("/staff/campaigns/preview", form); r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `id="campaign-quiet_days-error"`) {
		t.Fatalf("a wrong filter: %d\n%s", r.Status, r.Body)
	}
	form.Set("quiet_days", "30")
	preview := post("/staff/campaigns/preview", form)
	if preview.Status != http.StatusOK || !strings.Contains(preview.Body, "Vastaanottajia: 1") || !strings.Contains(preview.Body, "Salaan {first_name}") {
		t.Fatalf("preview: %d\n%s", preview.Status, preview.Body)
	}
	if n := secCount(t, owner, `SELECT count(*) FROM campaigns`); n != 0 {
		t.Errorf("the preview started %d campaigns", n)
	}
	if r := post("/staff/campaigns", form); r.Status != http.StatusSeeOther {
		t.Fatalf("send: %d\n%s", r.Status, r.Body)
	}
	var id int64
	if err := owner.QueryRow(ctx, `SELECT id FROM campaigns WHERE recipients = 1 AND status = 'sending'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	cancel := fmt.Sprintf("/staff/campaigns/%d/cancel", id)
	if r := post(cancel, url.Values{}); r.Status != http.StatusSeeOther {
		t.Errorf("cancel: %d", r.Status)
	}
	if r := post(cancel, url.Values{}); r.Status != http.StatusConflict || !strings.Contains(r.Body, "Kampanja on jo valmis tai peruttu.") {
		t.Errorf("a second cancel: %d", r.Status)
	}
}
