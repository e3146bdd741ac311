package portal

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/stats"
)

// statsDefaultDays is the range the page opens with: the last 30 days,
// today included.
const statsDefaultDays = 30

// statsQuery is the statistics filter as typed, and as understood.
type statsQuery struct {
	From, To string // as typed, shown back
	SP       string // a slug, or "" for every service point the user may see
	Filter   stats.Filter
}

// parseStatsQuery reads the filter from the address. Missing dates take
// the default range ending today (in Helsinki); what is wrong is reported
// per field, like a form. A good date is shown back as the page's language
// writes it, a wrong one as typed.
func parseStatsQuery(get func(string) string, lang i18n.Language, today time.Time, visible []org.ServicePoint) (statsQuery, forms.Errors) {
	q := statsQuery{From: strings.TrimSpace(get("from")), To: strings.TrimSpace(get("to")), SP: strings.TrimSpace(get("sp"))}
	errs := forms.Errors{}
	to := today
	if q.To != "" {
		if d, ok := parseDay(lang, q.To, stats.Location()); ok {
			to = d
		} else {
			errs["to"] = "form.invalid_date"
		}
	}
	from := to.AddDate(0, 0, 1-statsDefaultDays)
	if q.From != "" {
		if d, ok := parseDay(lang, q.From, stats.Location()); ok {
			from = d
		} else {
			errs["from"] = "form.invalid_date"
		}
	}
	if _, bad := errs["to"]; !bad {
		q.To = lang.FormatDate(to)
	}
	if _, bad := errs["from"]; !bad {
		q.From = lang.FormatDate(from)
	}
	if q.SP == "" {
		for _, sp := range visible {
			q.Filter.ServicePointIDs = append(q.Filter.ServicePointIDs, sp.ID)
		}
	} else {
		for _, sp := range visible {
			if sp.Slug == q.SP {
				q.Filter.ServicePointIDs = []int64{sp.ID}
			}
		}
		if len(q.Filter.ServicePointIDs) == 0 {
			errs["sp"] = "form.invalid_choice"
		}
	}
	q.Filter.From, q.Filter.To = from, to
	if len(errs) == 0 {
		switch err := q.Filter.Check(); {
		case errors.Is(err, stats.ErrBadRange):
			errs["to"] = "stats.error.range"
		case errors.Is(err, stats.ErrRangeTooLong):
			errs["from"] = "stats.error.too_long"
		case err != nil:
			errs["sp"] = "form.invalid_choice"
		}
	}
	return q, errs
}

// loadStats runs the filter of the request: the report, or the filter's
// errors (with no report) when the address asks for something wrong.
func (s *Server) loadStats(c *fiber.Ctx) (statsQuery, []org.ServicePoint, forms.Errors, *stats.Report, error) {
	var q statsQuery
	var errs forms.Errors
	points, report, err := s.stats.Statistics(c.UserContext(), principal(c), func(points []org.ServicePoint) (stats.Filter, bool) {
		q, errs = parseStatsQuery(func(k string) string { return c.Query(k) }, s.translator(c).Lang, stats.DayOf(time.Now()), points)
		return q.Filter, len(errs) == 0
	})
	if errors.Is(err, stats.ErrForbidden) {
		err = errForbidden
	}
	return q, points, errs, report, err
}

type statsPage struct {
	Page
	Query    statsQuery
	Points   []visitOption
	Errors   forms.Errors
	CSVURL   string
	Places   string // the names of the service points covered
	Summary  []statsSummary
	Figures  []statsFigure
	Hours    *statsHourGrid
	NoVisits bool
}

// Err is the translated error of a filter field, or "".
func (p statsPage) Err(field string) string {
	if key, ok := p.Errors[field]; ok {
		return p.T.Get(key)
	}
	return ""
}

type statsSummary struct{ ID, Label, Value string }

// showStats is the statistics page: filters, key figures, then one chart
// with its table per figure.
func (s *Server) showStats(c *fiber.Ctx) error {
	q, points, errs, report, err := s.loadStats(c)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("stats.title")
	lang := p.T.Lang.Code
	page := statsPage{Page: p, Query: q, Errors: errs}
	page.Points = append(page.Points, visitOption{Value: "", Label: p.T.Get("stats.all_points"), Checked: q.SP == ""})
	for _, sp := range points {
		page.Points = append(page.Points, visitOption{Value: sp.Slug, Label: sp.Names.In(lang), Checked: q.SP == sp.Slug})
	}
	if len(errs) > 0 {
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "stats", page)
	}
	v := url.Values{}
	v.Set("from", report.Filter.From.Format(time.DateOnly))
	v.Set("to", report.Filter.To.Format(time.DateOnly))
	if q.SP != "" {
		v.Set("sp", q.SP)
	}
	page.CSVURL = "/staff/stats.csv?" + v.Encode()
	var names []string
	for _, pl := range report.Places {
		names = append(names, pl.Names.In(lang))
	}
	page.Places = strings.Join(names, ", ")
	page.NoVisits = report.Total == 0
	page.Summary = statsSummaries(p.T, report)
	page.Figures = statsFigures(p.T, report)
	page.Hours = statsHours(p.T, report)
	return s.render(c, "stats", page)
}

// exportStats sends the figures of the page as one CSV table (see
// stats.WriteCSV for the format). Over several service points small
// counts are hidden. The figures are anonymous, so no access-log row is
// written; the application log notes the export without naming anyone.
func (s *Server) exportStats(c *fiber.Ctx) error {
	q, _, errs, report, err := s.loadStats(c)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return newError(fiber.StatusUnprocessableEntity, "stats.error.filter")
	}
	t := s.translator(c)
	suppress := report.Filter.MultiplePoints()
	head, rows := statsCSV(t, report)
	var buf bytes.Buffer
	if err := stats.WriteCSV(&buf, head, rows, suppress); err != nil {
		return err
	}
	scope := q.SP
	if scope == "" {
		scope = "all"
	}
	name := fmt.Sprintf("koto-stats-%s-%s-%s.csv", scope, report.Filter.From.Format(time.DateOnly), report.Filter.To.Format(time.DateOnly))
	s.logger.Info("statistics exported", "request_id", requestID(c), "tenant", principal(c).Tenant,
		"service_points", len(report.Filter.ServicePointIDs), "days", report.Filter.Days(), "small_counts_hidden", suppress)
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(buf.Bytes())
}

// --- figures ---------------------------------------------------------------

// statsFigure is one section of the page: a chart and the same numbers as
// a table, which also feeds the CSV export.
type statsFigure struct {
	ID      string
	Heading string
	Note    string
	Chart   *svgChart
	Tables  []statsTable
}

// statsTable is a table of a figure. Row headers are periods or categories
// (RowPeriod), columns measures of the row or categories of a cross table
// (ColCategory); the CSV export flattens it along those lines.
type statsTable struct {
	Caption     string
	Head        []string // Head[0] heads the row headers
	Rows        []statsRow
	RowPeriod   bool
	ColCategory bool
	Scroll      bool // wide: scrolls sideways on a narrow screen
}

type statsRow struct {
	Header string
	Cells  []stats.Cell
}

// Values are the row's cells as the page shows them: every number exact.
func (r statsRow) Values() []string {
	out := make([]string, len(r.Cells))
	for i, c := range r.Cells {
		out[i] = c.Value(false)
	}
	return out
}

func statsSummaries(t *i18n.T, r *stats.Report) []statsSummary {
	out := []statsSummary{{"stats-total", t.Get("stats.total"), strconv.Itoa(r.Total)}}
	dash := "–"
	wait, wait90 := dash, dash
	if r.Wait.N > 0 {
		wait, wait90 = statsDuration(t, r.Wait.Median), statsDuration(t, r.Wait.P90)
	}
	out = append(out, statsSummary{"stats-wait", t.Get("stats.wait_median"), wait}, statsSummary{"stats-wait90", t.Get("stats.wait_p90"), wait90})
	rate := dash
	if x, ok := r.Tickets.NoShowRate(); ok {
		rate = statsPercent(t, x)
	}
	out = append(out, statsSummary{"stats-no-show", t.Get("stats.no_show_rate"), rate},
		statsSummary{"stats-not-served", t.Get("stats.not_served"), strconv.Itoa(r.Tickets.NotServed)})
	busiest := dash
	if d, h, n := r.Busiest(); n > 0 {
		busiest = t.Get("stats.busiest_value", "Weekday", t.Get("stats.weekday."+strconv.Itoa(d)), "Hours", statsHourRange(t, h), "Count", n)
	}
	return append(out, statsSummary{"stats-busiest", t.Get("stats.busiest"), busiest})
}

// statsDuration says seconds as minutes and seconds.
func statsDuration(t *i18n.T, seconds float64) string {
	s := int(math.Round(seconds))
	return t.Get("stats.duration", "Min", s/60, "Sec", s%60)
}

// statsPercent says a share with one decimal, with the language's decimal mark.
func statsPercent(t *i18n.T, share float64) string {
	v := strconv.FormatFloat(share*100, 'f', 1, 64)
	return t.Get("stats.percent", "Value", strings.Replace(v, ".", t.Get("stats.decimal_mark"), 1))
}

func statsHourRange(t *i18n.T, h int) string {
	return t.Get("stats.hour_range", "From", fmt.Sprintf("%02d", h), "To", fmt.Sprintf("%02d", (h+1)%24))
}

// statsLabel names a category for people: a topic or referral service by
// its label (with its service point when the report spans several), a
// language by its own name, anything else by its message.
func statsLabel(t *i18n.T, r *stats.Report, kind string, c stats.Category) string {
	lang := t.Lang.Code
	switch {
	case c.Labels != nil:
		label := c.Labels.In(lang)
		if len(r.Places) > 1 {
			label = t.Get("stats.label_place", "Label", label, "Place", c.Place.In(lang))
		}
		return label
	case kind == "language":
		for _, l := range i18n.Languages {
			if l.Code == c.Key {
				return l.Name
			}
		}
		return c.Key
	}
	return t.Get("visit." + kind + "." + c.Key)
}

// statsCategoryFigure is a breakdown: a bar per category, and a table of
// counts and shares of the total.
func statsCategoryFigure(t *i18n.T, r *stats.Report, id, kind string, cats []stats.Category, note string) statsFigure {
	heading := t.Get("stats.by." + kind)
	f := statsFigure{ID: id, Heading: heading, Note: note}
	labels := make([]string, len(cats))
	values := make([]float64, len(cats))
	texts := make([]string, len(cats))
	table := statsTable{Caption: heading, Head: []string{t.Get("stats.col." + kind), t.Get("stats.col.visits"), t.Get("stats.col.share")}}
	for i, c := range cats {
		labels[i] = statsLabel(t, r, kind, c)
		values[i] = float64(c.N)
		texts[i] = strconv.Itoa(c.N)
		share := stats.DerivedCell("–", 0)
		if r.Total > 0 {
			share = stats.DerivedCell(statsPercent(t, float64(c.N)/float64(r.Total)), min(c.N, r.Total))
		}
		table.Rows = append(table.Rows, statsRow{Header: labels[i], Cells: []stats.Cell{stats.Count(c.N), share}})
	}
	desc := statsDesc(t, labels, values)
	f.Chart = hbarChart(id, heading, desc, t.Lang.Dir(), labels, nil, [][]float64{values}, [][]string{texts})
	f.Tables = []statsTable{table}
	return f
}

// statsDesc is a chart's text alternative in a sentence: the total and the
// largest bar; the table beside it has every number.
func statsDesc(t *i18n.T, labels []string, values []float64) string {
	best, total := -1, 0.0
	for i, v := range values {
		total += v
		if best < 0 || v > values[best] {
			best = i
		}
	}
	if best < 0 || values[best] == 0 {
		return t.Get("stats.desc_empty")
	}
	return t.Get("stats.desc", "Label", labels[best], "Count", int(values[best]))
}

func statsFigures(t *i18n.T, r *stats.Report) []statsFigure {
	var figs []statsFigure

	// Visits per day.
	dayLabels := make([]string, len(r.Days))
	dayTicks := make([]string, len(r.Days))
	dayValues := make([]float64, len(r.Days))
	days := statsTable{Caption: t.Get("stats.by.day"), Head: []string{t.Get("stats.col.day"), t.Get("stats.col.visits")}, RowPeriod: true}
	for i, d := range r.Days {
		dayLabels[i] = d.Label
		dayTicks[i] = t.Get("stats.date_short", "Day", d.Start.Day(), "Month", int(d.Start.Month()))
		dayValues[i] = float64(d.N)
		days.Rows = append(days.Rows, statsRow{Header: d.Label, Cells: []stats.Cell{stats.Count(d.N)}})
	}
	figs = append(figs, statsFigure{ID: "days", Heading: t.Get("stats.by.day"),
		Chart:  columnChart("days", t.Get("stats.by.day"), statsDesc(t, dayLabels, dayValues), t.Lang.Dir(), dayTicks, dayValues),
		Tables: []statsTable{days}})

	// Visits per ISO week, and by topic.
	weekLabels := make([]string, len(r.Weeks))
	weekValues := make([]float64, len(r.Weeks))
	weeks := statsTable{Caption: t.Get("stats.by.week_topic"), Head: []string{t.Get("stats.col.week")}, RowPeriod: true, ColCategory: true, Scroll: true}
	for _, c := range r.Topics {
		weeks.Head = append(weeks.Head, statsLabel(t, r, "topic", c))
	}
	weeks.Head = append(weeks.Head, t.Get("stats.col.total"))
	for i, w := range r.Weeks {
		weekLabels[i] = w.Label
		weekValues[i] = float64(w.N)
		row := statsRow{Header: w.Label}
		for j := range r.Topics {
			row.Cells = append(row.Cells, stats.Count(r.WeekTopics[i][j]))
		}
		row.Cells = append(row.Cells, stats.Count(w.N))
		weeks.Rows = append(weeks.Rows, row)
	}
	figs = append(figs, statsFigure{ID: "weeks", Heading: t.Get("stats.by.week"), Note: t.Get("stats.weeks_note"),
		Chart:  columnChart("weeks", t.Get("stats.by.week"), statsDesc(t, weekLabels, weekValues), t.Lang.Dir(), weekLabels, weekValues),
		Tables: []statsTable{weeks}})

	figs = append(figs,
		statsCategoryFigure(t, r, "topics", "topic", r.Topics, t.Get("stats.topics_note")),
		statsCategoryFigure(t, r, "languages", "language", r.Languages, ""),
		statsCategoryFigure(t, r, "channels", "channel", r.Channels, ""),
		statsCategoryFigure(t, r, "interpreters", "interpreter", r.Interpreters, ""),
		statsCategoryFigure(t, r, "outcomes", "outcome", r.Outcomes, t.Get("stats.outcomes_note")),
		statsCategoryFigure(t, r, "referrals", "referral", r.Referrals, ""),
		statsCategoryFigure(t, r, "age-groups", "age_group", r.AgeGroups, ""),
		statsCategoryFigure(t, r, "genders", "gender", r.Genders, ""),
		statsDurationFigure(t, r),
		statsTicketFigure(t, r),
	)
	return figs
}

// statsDurationFigure compares median and 90th percentile of waiting and
// service time: two bars per measure, told apart by a pattern as well as
// by their labels.
func statsDurationFigure(t *i18n.T, r *stats.Report) statsFigure {
	heading := t.Get("stats.by.durations")
	cats := []string{t.Get("stats.wait"), t.Get("stats.service")}
	series := []string{t.Get("stats.median"), t.Get("stats.p90")}
	ds := []stats.Durations{r.Wait, r.Service}
	values := [][]float64{make([]float64, 2), make([]float64, 2)}
	texts := [][]string{make([]string, 2), make([]string, 2)}
	table := statsTable{Caption: heading, Head: []string{t.Get("stats.col.measure"), t.Get("stats.col.measured"),
		t.Get("stats.col.median_s"), t.Get("stats.col.p90_s")}}
	for i, d := range ds {
		values[0][i], values[1][i] = d.Median/60, d.P90/60
		texts[0][i], texts[1][i] = "–", "–"
		med, p90 := stats.DerivedCell("–", 0), stats.DerivedCell("–", 0)
		if d.N > 0 {
			texts[0][i], texts[1][i] = statsDuration(t, d.Median), statsDuration(t, d.P90)
			med = stats.DerivedCell(strconv.Itoa(int(math.Round(d.Median))), d.N)
			p90 = stats.DerivedCell(strconv.Itoa(int(math.Round(d.P90))), d.N)
		}
		table.Rows = append(table.Rows, statsRow{Header: cats[i], Cells: []stats.Cell{stats.Count(d.N), med, p90}})
	}
	desc := t.Get("stats.desc_durations", "Wait", texts[0][0], "Wait90", texts[1][0], "Service", texts[0][1], "Service90", texts[1][1])
	return statsFigure{ID: "durations", Heading: heading, Note: t.Get("stats.durations_note"),
		Chart:  hbarChart("durations", heading, desc, t.Lang.Dir(), cats, series, values, texts),
		Tables: []statsTable{table}}
}

// statsTicketFigure shows how the period's tickets ended, with the no-show
// rate (no-shows over closed tickets).
func statsTicketFigure(t *i18n.T, r *stats.Report) statsFigure {
	heading := t.Get("stats.by.tickets")
	tk := r.Tickets
	keys := []string{"done", "no_show", "cancelled", "not_served"}
	ns := []int{tk.Done, tk.NoShow, tk.Cancelled, tk.NotServed}
	labels := make([]string, len(keys))
	values := make([]float64, len(keys))
	texts := make([]string, len(keys))
	table := statsTable{Caption: heading, Head: []string{t.Get("stats.col.ticket"), t.Get("stats.col.tickets")}}
	for i, k := range keys {
		labels[i] = t.Get("stats.ticket." + k)
		values[i] = float64(ns[i])
		texts[i] = strconv.Itoa(ns[i])
	}
	table.Rows = append(table.Rows, statsRow{Header: t.Get("stats.ticket.taken"), Cells: []stats.Cell{stats.Count(tk.Taken)}},
		statsRow{Header: t.Get("stats.ticket.closed"), Cells: []stats.Cell{stats.Count(tk.Closed)}})
	for i := range keys {
		table.Rows = append(table.Rows, statsRow{Header: labels[i], Cells: []stats.Cell{stats.Count(ns[i])}})
	}
	rate := stats.DerivedCell("–", 0)
	if x, ok := tk.NoShowRate(); ok {
		rate = stats.DerivedCell(statsPercent(t, x), min(tk.NoShow, tk.Closed))
	}
	table.Rows = append(table.Rows, statsRow{Header: t.Get("stats.no_show_rate"), Cells: []stats.Cell{rate}})
	return statsFigure{ID: "tickets", Heading: heading, Note: t.Get("stats.tickets_note"),
		Chart:  hbarChart("tickets", heading, statsDesc(t, labels, values), t.Lang.Dir(), labels, nil, [][]float64{values}, [][]string{texts}),
		Tables: []statsTable{table}}
}

// statsHourGrid is the busiest-hours figure: visits by hour of the day (a
// chart) and by weekday × hour (a table shaded by level, every cell with
// its number, so the shading is never the only cue).
type statsHourGrid struct {
	Chart *svgChart
	Hours []string // column headings
	Rows  []statsHourRow
	Table statsTable // the same numbers, for the CSV
}

type statsHourRow struct {
	Weekday string
	Cells   []statsHourCell
}

type statsHourCell struct {
	N     int
	Level int // 0 (none) … 4 (busiest)
}

func statsHours(t *i18n.T, r *stats.Report) *statsHourGrid {
	byHour := r.ByHour()
	// Office hours at least, widened to any hour with visits.
	first, last := 8, 16
	peak := 0
	for h, n := range byHour {
		if n > 0 {
			first, last = min(first, h), max(last, h)
		}
	}
	for d := range r.Hours {
		for _, n := range r.Hours[d] {
			peak = max(peak, n)
		}
	}
	g := &statsHourGrid{}
	var ticks []string
	var values []float64
	for h := first; h <= last; h++ {
		g.Hours = append(g.Hours, statsHourRange(t, h))
		ticks = append(ticks, fmt.Sprintf("%02d", h))
		values = append(values, float64(byHour[h]))
	}
	heading := t.Get("stats.by.hour")
	g.Chart = columnChart("hours", heading, statsDesc(t, g.Hours, values), t.Lang.Dir(), ticks, values)
	for d := range 7 {
		row := statsHourRow{Weekday: t.Get("stats.weekday." + strconv.Itoa(d+1))}
		for h := first; h <= last; h++ {
			n := r.Hours[d][h]
			level := 0
			if n > 0 {
				// Quarters of the busiest cell: the busiest is always 4.
				level = min(4, (4*n+peak-1)/peak)
			}
			row.Cells = append(row.Cells, statsHourCell{N: n, Level: level})
		}
		g.Rows = append(g.Rows, row)
	}
	// The export has every hour, not only those on screen.
	g.Table = statsTable{Caption: t.Get("stats.by.weekday_hour"), Head: []string{t.Get("stats.col.weekday")}, RowPeriod: true, ColCategory: true}
	for h := range 24 {
		g.Table.Head = append(g.Table.Head, statsHourRange(t, h))
	}
	for d := range 7 {
		row := statsRow{Header: t.Get("stats.weekday." + strconv.Itoa(d+1))}
		for h := range 24 {
			row.Cells = append(row.Cells, stats.Count(r.Hours[d][h]))
		}
		g.Table.Rows = append(g.Table.Rows, row)
	}
	return g
}

// statsCSV flattens every table of the page into one long table, a line
// per number: figure; period; category; measure; value. One shape for all
// figures keeps the file one table that a spreadsheet can filter and pivot.
func statsCSV(t *i18n.T, r *stats.Report) ([]string, [][]stats.Cell) {
	head := []string{t.Get("stats.csv.figure"), t.Get("stats.csv.period"), t.Get("stats.csv.category"),
		t.Get("stats.csv.measure"), t.Get("stats.csv.value")}
	visits := t.Get("stats.col.visits")
	rows := [][]stats.Cell{{stats.Text(t.Get("stats.total")), stats.Text(""), stats.Text(""), stats.Text(visits), stats.Count(r.Total)}}
	tables := []statsTable{}
	for _, f := range statsFigures(t, r) {
		tables = append(tables, f.Tables...)
	}
	tables = append(tables, statsHours(t, r).Table)
	for _, tb := range tables {
		for _, row := range tb.Rows {
			for i, cell := range row.Cells {
				period, category, measure := "", "", tb.Head[i+1]
				if tb.RowPeriod {
					period = row.Header
				} else {
					category = row.Header
				}
				if tb.ColCategory {
					category, measure = tb.Head[i+1], visits
				}
				rows = append(rows, []stats.Cell{stats.Text(tb.Caption), stats.Text(period), stats.Text(category), stats.Text(measure), cell})
			}
		}
	}
	return head, rows
}
