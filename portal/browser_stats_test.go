package portal_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/browsertest"
	"github.com/koto-portal/portal/internal/demo"
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
