package portal

import (
	"bytes"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/stats"
)

func TestParseStatsQuery(t *testing.T) {
	today := stats.Day(2026, 3, 31)
	points := []org.ServicePoint{{ID: 1, Slug: "itakeskus"}, {ID: 2, Slug: "kamppi"}}
	get := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	fi, ar := languageOf(t, "fi"), languageOf(t, "ar")
	q, errs := parseStatsQuery(get(), fi, today, points)
	if len(errs) > 0 || q.From != "2.3.2026" || q.To != "31.3.2026" || len(q.Filter.ServicePointIDs) != 2 || q.Filter.Days() != 30 {
		t.Errorf("defaults: %+v %v", q, errs)
	}
	q, errs = parseStatsQuery(get("from", "٠١/٠٣/٢٠٢٦", "to", "2026-03-31"), ar, today, points)
	if len(errs) > 0 || q.From != "01/03/2026" || q.To != "31/03/2026" || q.Filter.Days() != 31 {
		t.Errorf("Arabic: %+v %v", q, errs)
	}
	q, errs = parseStatsQuery(get("from", "2026-01-01", "to", "2026-01-31", "sp", "kamppi"), fi, today, points)
	if len(errs) > 0 || q.Filter.ServicePointIDs[0] != 2 || len(q.Filter.ServicePointIDs) != 1 || q.Filter.Days() != 31 {
		t.Errorf("chosen: %+v %v", q, errs)
	}
	for _, c := range []struct {
		kv    []string
		field string
		key   string
	}{
		{[]string{"from", "1/31/2026"}, "from", "form.invalid_date"},
		{[]string{"to", "30.2.2026"}, "to", "form.invalid_date"},
		{[]string{"to", "2026-02-30"}, "to", "form.invalid_date"},
		{[]string{"from", "1.1.1999"}, "from", "form.invalid_date"},
		{[]string{"from", "2026-03-05", "to", "2026-03-01"}, "to", "stats.error.range"},
		{[]string{"from", "2020-01-01"}, "from", "stats.error.too_long"},
		{[]string{"sp", "someone-elses"}, "sp", "form.invalid_choice"},
	} {
		q, errs := parseStatsQuery(get(c.kv...), fi, today, points)
		if errs[c.field] != c.key {
			t.Errorf("%v: errors %v, want %s on %s", c.kv, errs, c.key, c.field)
		}
		if q.From == "" || q.To == "" {
			t.Errorf("%v: the typed dates are not kept: %+v", c.kv, q)
		}
	}
}

// A right-to-left page gets horizontal bars growing from the right edge.
func TestHbarChartMirrors(t *testing.T) {
	ltr := hbarChart("x", "T", "D", "ltr", []string{"a", "b"}, nil, [][]float64{{4, 2}}, [][]string{{"4", "2"}})
	rtl := hbarChart("x", "T", "D", "rtl", []string{"a", "b"}, nil, [][]float64{{4, 2}}, [][]string{{"4", "2"}})
	if len(ltr.Bars) != 2 || len(rtl.Bars) != 2 {
		t.Fatalf("bars: %d and %d", len(ltr.Bars), len(rtl.Bars))
	}
	for i := range ltr.Bars {
		l, r := ltr.Bars[i], rtl.Bars[i]
		if l.X != chartPad || r.X+r.W != chartWidth-chartPad || l.W != r.W {
			t.Errorf("bar %d: ltr x=%v w=%v, rtl x=%v w=%v", i, l.X, l.W, r.X, r.W)
		}
	}
	if ltr.Bars[0].W != 2*ltr.Bars[1].W {
		t.Errorf("bars not to scale: %v vs %v", ltr.Bars[0].W, ltr.Bars[1].W)
	}
	// Direct labels: each category and each value is written out.
	var texts []string
	for _, tx := range rtl.Texts {
		texts = append(texts, tx.Text)
	}
	if got := strings.Join(texts, ","); got != "a,4,b,2" {
		t.Errorf("texts %s", got)
	}
}

func TestDurationChartHatchesTheSecondSeries(t *testing.T) {
	ch := hbarChart("d", "T", "D", "ltr", []string{"wait"}, []string{"median", "p90"}, [][]float64{{3}, {9}}, [][]string{{"3"}, {"9"}})
	var hatched, solid int
	for _, b := range ch.Bars {
		if b.Hatch {
			hatched++
		} else {
			solid++
		}
	}
	// The legend's two samples and the two bars.
	if !ch.Hatch || hatched != 2 || solid != 2 {
		t.Errorf("hatch %v, %d hatched and %d solid bars", ch.Hatch, hatched, solid)
	}
}

// statsReportFixture is a report with known small numbers over two
// service points.
func statsReportFixture() *stats.Report {
	r := &stats.Report{
		Filter:  stats.Filter{From: stats.Day(2026, 3, 2), To: stats.Day(2026, 3, 3), ServicePointIDs: []int64{1, 2}},
		Places:  []stats.Place{{ID: 1, Slug: "a", Names: org.Labels{"fi": "A"}}, {ID: 2, Slug: "b", Names: org.Labels{"fi": "B"}}},
		Total:   7,
		Days:    []stats.Period{{Start: stats.Day(2026, 3, 2), Label: "2026-03-02", N: 3}, {Start: stats.Day(2026, 3, 3), Label: "2026-03-03", N: 4}},
		Weeks:   []stats.Period{{Start: stats.Day(2026, 3, 2), Label: "2026-W10", N: 7}},
		Topics:  []stats.Category{{Key: "11", Labels: org.Labels{"fi": "Asuminen"}, Place: org.Labels{"fi": "A"}, N: 7}},
		Wait:    stats.Durations{N: 3, Median: 120, P90: 300},
		Tickets: stats.TicketCounts{Taken: 9, Closed: 8, Done: 6, NoShow: 2},
	}
	r.WeekTopics = [][]int{{7}}
	r.Languages = []stats.Category{{Key: "fi", N: 5}, {Key: "ar", N: 2}}
	r.Hours[1][10] = 7
	return r
}

func TestStatsCSV(t *testing.T) {
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := catalog.Lookup("fi")
	tr := catalog.For(fi)
	r := statsReportFixture()
	head, rows := statsCSV(tr, r)
	var multi, single bytes.Buffer
	if err := stats.WriteCSV(&multi, head, rows, true); err != nil {
		t.Fatal(err)
	}
	if err := stats.WriteCSV(&single, head, rows, false); err != nil {
		t.Fatal(err)
	}
	visits := tr.Get("stats.col.visits")
	for _, c := range []struct {
		line          string
		multi, single string
	}{
		{tr.Get("stats.total") + ";;;" + visits, "7", "7"},
		{tr.Get("stats.by.day") + ";2026-03-02;;" + visits, "<5", "3"},
		{tr.Get("stats.by.day") + ";2026-03-03;;" + visits, "<5", "4"},
		{tr.Get("stats.by.week_topic") + ";2026-W10;Asuminen (A);" + visits, "7", "7"},
		{tr.Get("stats.by.language") + ";;Suomi;" + visits, "5", "5"},
		{tr.Get("stats.by.language") + ";;العربية;" + visits, "<5", "2"},
		// A median over three waits would give them away.
		{tr.Get("stats.by.durations") + ";;" + tr.Get("stats.wait") + ";" + tr.Get("stats.col.median_s"), "", "120"},
		{tr.Get("stats.by.tickets") + ";;" + tr.Get("stats.ticket.closed") + ";" + tr.Get("stats.col.tickets"), "8", "8"},
		{tr.Get("stats.by.tickets") + ";;" + tr.Get("stats.no_show_rate") + ";" + tr.Get("stats.col.tickets"), "", "25,0 %"},
		{tr.Get("stats.by.weekday_hour") + ";" + tr.Get("stats.weekday.2") + ";10–11;" + visits, "7", "7"},
		{tr.Get("stats.by.weekday_hour") + ";" + tr.Get("stats.weekday.2") + ";11–12;" + visits, "<5", "0"},
	} {
		if want := c.line + ";" + c.multi + "\r\n"; !strings.Contains(multi.String(), want) {
			t.Errorf("over two service points, no line %q", want)
		}
		if want := c.line + ";" + c.single + "\r\n"; !strings.Contains(single.String(), want) {
			t.Errorf("for one service point, no line %q", want)
		}
	}
	if !strings.HasPrefix(multi.String(), stats.BOM+"Taulukko;Jakso;Luokka;Mittari;Arvo\r\n") {
		t.Errorf("header: %q", multi.String()[:60])
	}
}

// languageOf is a supported language by its code.
func languageOf(t testing.TB, code string) i18n.Language {
	t.Helper()
	for _, l := range i18n.Languages {
		if l.Code == code {
			return l
		}
	}
	t.Fatalf("no language %q", code)
	return i18n.Language{}
}
