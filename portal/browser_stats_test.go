package portal_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/stats"
)

// statsSampleVisits fills the demo's last three weeks with sixty visits of
// every kind, and a day's worth of tickets, so every chart has bars.
func statsSampleVisits(t *testing.T, owner *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	_, err := owner.Exec(ctx, `INSERT INTO visits (municipality_id, service_point_id, channel, topic_ids, language, interpreter,
			outcomes, referral_id, age_group, gender, wait_seconds, service_seconds, visited_at)
		SELECT sp.municipality_id, sp.id,
			(ARRAY['walk_in','walk_in','desk','phone','chat'])[1 + i % 5],
			ARRAY[(SELECT id FROM topics WHERE service_point_id = sp.id ORDER BY position OFFSET (i * 7 % 8) LIMIT 1)],
			(ARRAY['fi','ar','so','uk','ru','ar','fa','ckb','ar','en'])[1 + i % 10],
			(ARRAY['none','none','on_site','phone','video'])[1 + i % 5],
			CASE WHEN i % 4 = 0 THEN ARRAY['referred'] WHEN i % 4 = 1 THEN ARRAY['advice','appointment'] ELSE ARRAY['advice'] END,
			CASE WHEN i % 4 = 0 THEN (SELECT id FROM referral_services WHERE service_point_id = sp.id ORDER BY position OFFSET (i % 3) LIMIT 1) END,
			(ARRAY['not_asked','18_29','30_44','45_64','not_asked','65_plus'])[1 + i % 6],
			(ARRAY['not_asked','female','male','not_asked'])[1 + i % 4],
			CASE WHEN i % 5 < 2 THEN 60 + i * 37 % 1500 END,
			CASE WHEN i % 5 < 2 THEN 300 + i * 53 % 1200 END,
			(date_trunc('day', now() AT TIME ZONE 'Europe/Helsinki') - (1 + i % 21) * interval '1 day'
				+ (8 + i * 5 % 8) * interval '1 hour' + (i % 60) * interval '1 minute') AT TIME ZONE 'Europe/Helsinki'
		FROM service_points sp, generate_series(1, 60) i WHERE sp.slug = $1`, demo.ServicePoint)
	if err != nil {
		t.Fatal(err)
	}
	_, err = owner.Exec(ctx, `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number,
			service_day, language, state)
		SELECT sp.municipality_id, sp.id, tp.id, tp.id, tp.prefix, 100 + i, (now() AT TIME ZONE 'Europe/Helsinki')::date - 1, 'fi',
			(ARRAY['done','done','done','no_show','done','cancelled','done','not_served'])[1 + i % 8]
		FROM service_points sp JOIN topics tp ON tp.service_point_id = sp.id AND tp.position = 0, generate_series(1, 24) i
		WHERE sp.slug = $1`, demo.ServicePoint)
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatsPageInBrowser opens the statistics as the demo lead in Finnish
// and in Arabic (right to left): the charts draw with the stylesheet's
// colours (no inline style under the CSP), every chart has a text
// alternative and a table, and axe finds no serious or critical WCAG 2.1
// AA violation. The visit form is checked the same way.
func TestStatsPageInBrowser(t *testing.T) {
	in, owner := vsStart(t)
	statsSampleVisits(t, owner)
	ctx := browsertest.New(t)
	browserLogin(ctx, t, in.URL, demo.LeadEmail, vsPassword)

	for _, lang := range []string{"fi", "ar"} {
		t.Run(lang, func(t *testing.T) {
			browsertest.Open(ctx, t, in.URL+"/staff/stats?lang="+lang)
			browsertest.WaitVisible(ctx, t, "svg.chart-svg")
			if got := browsertest.Attr(ctx, t, "html", "lang"); got != lang {
				t.Errorf("<html lang> = %q, want %q", got, lang)
			}
			wantDir := map[string]string{"fi": "ltr", "ar": "rtl"}[lang]
			if got := browsertest.Eval[string](ctx, t, `getComputedStyle(document.body).direction`); got != wantDir {
				t.Errorf("direction %q, want %q", got, wantDir)
			}
			// The bars take their colour from app.css: the brand blue.
			if got := browsertest.Eval[string](ctx, t, `getComputedStyle(document.querySelector('.chart-svg .bar')).fill`); got != "rgb(11, 79, 138)" {
				t.Errorf("bar fill %q: the stylesheet did not reach the chart", got)
			}
			charts := browsertest.Eval[int](ctx, t, `document.querySelectorAll('svg.chart-svg').length`)
			named := browsertest.Eval[int](ctx, t, `[...document.querySelectorAll('svg.chart-svg[role=img]')].filter(s =>
				s.getAttribute('aria-labelledby').split(' ').every(id => (document.getElementById(id)||{}).textContent)).length`)
			if charts < 10 || named != charts {
				t.Errorf("%d charts, %d with a title and description", charts, named)
			}
			if n := browsertest.Eval[int](ctx, t, `document.querySelectorAll('.stats-figure details table').length`); n < charts-1 {
				t.Errorf("%d tables for %d charts", n, charts)
			}
			// In Arabic the category bars grow from the right.
			if lang == "ar" {
				right := browsertest.Eval[bool](ctx, t, `(function(){var b=document.querySelector('#chart-languages-title').closest('svg').querySelector('rect.bar');
					return Math.abs(b.x.baseVal.value + b.width.baseVal.value - 632) < 1})()`)
				if !right {
					t.Error("the Arabic language chart does not grow from the right")
				}
				// Time runs from the right too: the first day's column is
				// right of the last one's.
				fromRight := browsertest.Eval[bool](ctx, t, `(function(){var bs=document.querySelector('#chart-days-title').closest('svg').querySelectorAll('rect.bar');
					return bs.length > 1 && bs[0].x.baseVal.value > bs[bs.length-1].x.baseVal.value})()`)
				if !fromRight {
					t.Error("the Arabic daily chart runs from the left")
				}
			}
			// axe checks what the browser can see: open every table too.
			browsertest.Eval[bool](ctx, t, `document.querySelectorAll('details').forEach(d => d.open = true), true`)
			browsertest.Axe(ctx, t)
			browsertest.Eval[bool](ctx, t, `document.querySelectorAll('details').forEach(d => d.open = false), true`)
			browsertest.Screenshot(ctx, t, "stats-"+lang)
		})
	}

	t.Run("visit form", func(t *testing.T) {
		browsertest.Open(ctx, t, in.URL+"/staff/visits/new?lang=fi")
		browsertest.WaitVisible(ctx, t, "#field-topics")
		browsertest.Axe(ctx, t)
		browsertest.Screenshot(ctx, t, "visit-form-fi")
	})
}

// TestStatsDateFieldsInBrowser opens the Arabic statistics in a browser
// whose own language is US English: the date fields show dd/mm/yyyy with
// the format hint in Arabic (Chromium's date input would show mm/dd/yyyy
// whatever the page's language), a range typed in Arabic-Indic digits
// filters the figures, and axe finds nothing serious.
func TestStatsDateFieldsInBrowser(t *testing.T) {
	in, owner := vsStart(t)
	statsSampleVisits(t, owner)
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ar, _ := catalog.Lookup("ar")
	ctx := browsertest.New(t, browsertest.Lang("en-US"))
	browserLogin(ctx, t, in.URL, demo.LeadEmail, vsPassword)

	browsertest.Open(ctx, t, in.URL+"/staff/stats?lang=ar")
	browsertest.WaitVisible(ctx, t, "#field-from")
	today := stats.DayOf(time.Now())
	for _, field := range []string{"#field-from", "#field-to"} {
		if typ := browsertest.Attr(ctx, t, field, "type"); typ != "text" {
			t.Errorf("%s is type=%q: the browser would write it in its own locale", field, typ)
		}
	}
	if got, want := browsertest.Eval[string](ctx, t, `document.querySelector('#field-to').value`), ar.FormatDate(today); got != want {
		t.Errorf("the last day shows %q, want %q", got, want)
	}
	if got, want := browsertest.Text(ctx, t, "#from-hint"), catalog.For(ar).Get("form.date_hint"); got != want {
		t.Errorf("the hint reads %q, want %q", got, want)
	}
	browsertest.Axe(ctx, t)

	// Three days up to yesterday: from typed in Arabic-Indic digits.
	from, to := today.AddDate(0, 0, -3), today.AddDate(0, 0, -1)
	arabicDigits := strings.NewReplacer("0", "٠", "1", "١", "2", "٢", "3", "٣", "4", "٤", "5", "٥", "6", "٦", "7", "٧", "8", "٨", "9", "٩")
	sctx, cancel := context.WithTimeout(ctx, browsertest.StepTimeout)
	defer cancel()
	// The marker goes with the page: the wait below sees the new one.
	browsertest.Eval[bool](ctx, t, `document.body.dataset.before = "1", document.querySelectorAll('#field-from, #field-to').forEach(f => f.value = ""), true`)
	if err := chromedp.Do(sctx,
		chromedp.SendKeys(chromedp.CSS("#field-from"), arabicDigits.Replace(ar.FormatDate(from))),
		chromedp.SendKeys(chromedp.CSS("#field-to"), ar.FormatDate(to)),
		chromedp.Submit(chromedp.CSS("#field-from")),
		chromedp.WaitVisible(chromedp.CSS("body:not([data-before]) #stats-total")),
	); err != nil {
		t.Fatalf("filter by typed dates: %v", err)
	}
	var want int
	if err := owner.QueryRow(context.Background(), `SELECT count(*) FROM visits
		WHERE (visited_at AT TIME ZONE 'Europe/Helsinki')::date BETWEEN $1::date AND $2::date`,
		from.Format(time.DateOnly), to.Format(time.DateOnly)).Scan(&want); err != nil {
		t.Fatal(err)
	}
	if got := browsertest.Text(ctx, t, "#stats-total"); want == 0 || want == 60 || got != strconv.Itoa(want) {
		t.Errorf("visits in %s – %s: the page says %s, the database %d", from.Format(time.DateOnly), to.Format(time.DateOnly), got, want)
	}
	for field, day := range map[string]time.Time{"#field-from": from, "#field-to": to} {
		if got := browsertest.Eval[string](ctx, t, `document.querySelector('`+field+`').value`); got != ar.FormatDate(day) {
			t.Errorf("%s shows %q after the filter, want %q", field, got, ar.FormatDate(day))
		}
	}
	browsertest.Axe(ctx, t)
	browsertest.Screenshot(ctx, t, "stats-dates-ar")
}
