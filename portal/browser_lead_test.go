package portal_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
)

// TestLeadSetsUpTopicAndPairsKiosk is the lead's own set-up work in real
// browsers: a new topic labelled in Finnish and Arabic, then a new kiosk
// paired by typing its one-time code on the kiosk itself.
func TestLeadSetsUpTopicAndPairsKiosk(t *testing.T) {
	in, lead := browserAs(t, demo.LeadEmail)
	typeInto := func(ctx context.Context, sel, text string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
		defer cancel()
		if err := chromedp.Do(sctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
			t.Fatalf("type into %s: %v", sel, err)
		}
	}

	for _, lang := range []string{"fi", "ar"} {
		browsertest.Open(lead, t, in.URL+"/staff/setup/demo/topics/new?lang="+lang)
		browsertest.WaitVisible(lead, t, "#label_fi")
		browsertest.Axe(lead, t)
	}
	typeInto(lead, "#label_fi", "Perheenyhdistäminen")
	typeInto(lead, "#label_sv", "Familjeåterförening")
	typeInto(lead, "#label_en", "Family reunification")
	typeInto(lead, "#label_ar", "لم شمل الأسرة")
	click(lead, t, "#pictogram-family")
	sctx, cancel := context.WithTimeout(lead, browsertest.StepTimeout)
	if err := chromedp.Do(sctx, chromedp.SetValue(chromedp.CSS("#prefix"), "J")); err != nil {
		t.Fatal(err)
	}
	cancel()
	submitAndWait(lead, t, ".setup-form button[type=submit]", "#desks")
	// The lead chose Arabic last, and an explicit choice holds for the rest
	// of the session: the list shows the new topic by its Arabic label.
	waitText(lead, t, "main", "لم شمل الأسرة")
	if got := queryString(t, in.OwnerURL, `SELECT labels->>'ar' FROM topics WHERE prefix = 'J'`); got != "لم شمل الأسرة" {
		t.Fatalf("stored Arabic label %q", got)
	}

	// A new kiosk: the lead gets a code…
	browsertest.Open(lead, t, in.URL+"/staff/setup/demo/devices?lang=fi")
	typeInto(lead, "#device-name", "Aulan kioski")
	submitAndWait(lead, t, "section[aria-labelledby=add-heading] button[type=submit]", ".pair-code")
	code := browsertest.Text(lead, t, ".pair-code")

	// …and types it on the kiosk, which then belongs to the service point.
	kiosk := browsertest.New(t, browsertest.Kiosk())
	browsertest.Open(kiosk, t, in.URL+"/kiosk/pair?lang=ar")
	browsertest.WaitVisible(kiosk, t, "#code")
	browsertest.Axe(kiosk, t)
	browsertest.Open(kiosk, t, in.URL+"/kiosk/pair?lang=fi")
	typeInto(kiosk, "#code", code)
	submitAndWait(kiosk, t, "form button[type=submit]", ".kiosk-languages")
	if path := browsertest.Eval[string](kiosk, t, `location.pathname`); path != "/kiosk/demo" {
		t.Fatalf("after pairing the kiosk is at %s", path)
	}
	// The new topic is on the kiosk's grid.
	click(kiosk, t, `a.kiosk-tile[hreflang="ar"]`)
	waitText(kiosk, t, ".kiosk-topics", "لم شمل الأسرة")
	if n := queryString(t, in.OwnerURL, `SELECT count(*)::text FROM devices WHERE name = 'Aulan kioski' AND paired_at IS NOT NULL AND token_hash IS NOT NULL`); n != "1" {
		t.Fatalf("the kiosk is not paired in the database (%s rows)", n)
	}
}
