package stats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// MaxDays bounds a report's date range: two years of days is plenty for a
// lead's questions and keeps every series a page can draw.
const MaxDays = 2*366 + 1

// Errors of a report's filter.
var (
	ErrNoServicePoint = errors.New("stats: no service point chosen")
	ErrBadRange       = errors.New("stats: the first day is after the last")
	ErrRangeTooLong   = errors.New("stats: the date range is too long")
)

// Filter chooses what a report covers.
type Filter struct {
	// From and To are the first and last day, inclusive, as dates in Zone
	// (Day makes them); visits count by their time in Zone.
	From, To time.Time
	// ServicePointIDs are the service points covered; at least one, each
	// one the actor manages.
	ServicePointIDs []int64
}

// Day is a calendar date in Zone, at midnight.
func Day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, Location()) }

// DayOf is the date in Zone of an instant.
func DayOf(t time.Time) time.Time {
	t = t.In(Location())
	return Day(t.Year(), t.Month(), t.Day())
}

// Days is the number of days the filter covers.
func (f Filter) Days() int { return daysBetween(f.From, f.To) + 1 }

// MultiplePoints tells whether the figures span more than one service
// point, which is when exports hide small counts.
func (f Filter) MultiplePoints() bool { return len(f.ServicePointIDs) > 1 }

func daysBetween(a, b time.Time) int {
	// Dates, not durations: a day with a clock change is still one day.
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// Check reports what is wrong with a filter, if anything.
func (f Filter) Check() error {
	switch {
	case len(f.ServicePointIDs) == 0:
		return ErrNoServicePoint
	case f.To.Before(f.From):
		return ErrBadRange
	case f.Days() > MaxDays:
		return ErrRangeTooLong
	}
	return nil
}

// bounds are the instants the filter's days start and end at in Zone.
func (f Filter) bounds() (start, end time.Time) {
	return Day(f.From.Year(), f.From.Month(), f.From.Day()), Day(f.To.Year(), f.To.Month(), f.To.Day()+1)
}

// Category is one bar of a breakdown. Key is a code (language, channel,
// outcome …) the web layer translates, or a topic's or referral service's
// id, which comes with its own Labels.
type Category struct {
	Key    string
	Labels org.Labels // topics and referral services only
	Place  org.Labels // the service point of a topic or referral service
	N      int
}

// Period is one day or one ISO week of a series.
type Period struct {
	Start time.Time // the first day of the period (a week may begin before the filter)
	Label string    // 2026-01-05 for a day, 2026-W02 for an ISO week
	N     int
}

// Durations are the percentiles of wait or service times, in seconds, over
// N visits that have one (walk-ins; desk, phone and chat have none).
type Durations struct {
	N           int
	Median, P90 float64
}

// TicketCounts are the walk-in tickets of the period by how they ended.
type TicketCounts struct {
	Taken, Closed, Done, NoShow, Cancelled, NotServed int
}

// NoShowRate is no-shows over closed tickets; ok is false without any
// closed ticket.
func (t TicketCounts) NoShowRate() (rate float64, ok bool) {
	if t.Closed == 0 {
		return 0, false
	}
	return float64(t.NoShow) / float64(t.Closed), true
}

// Place is a service point the report covers.
type Place struct {
	ID    int64
	Slug  string
	Names org.Labels
}

// Report is every figure of the statistics page for one filter.
type Report struct {
	Filter Filter
	Places []Place
	Total  int
	Days   []Period
	Weeks  []Period
	// Topics has every active topic of the service points and any other
	// with visits. A visit with several topics counts under each, so
	// topics add up to more than Total.
	Topics []Category
	// WeekTopics[w][t] counts visits of week Weeks[w] under topic Topics[t].
	WeekTopics   [][]int
	Languages    []Category // all twelve, in the portal's order
	Channels     []Category
	Interpreters []Category
	Outcomes     []Category // a visit may have several outcomes or none
	Referrals    []Category
	AgeGroups    []Category
	Genders      []Category
	Wait         Durations
	Service      Durations
	Tickets      TicketCounts
	// Hours[d][h] counts visits on ISO weekday d+1 (Monday first) in hour h.
	Hours [7][24]int
}

// Busiest is the weekday (1 = Monday) and hour with the most visits, the
// earliest of a tie; n is 0 when there were no visits.
func (r *Report) Busiest() (weekday, hour, n int) {
	for d := range r.Hours {
		for h, c := range r.Hours[d] {
			if c > n {
				weekday, hour, n = d+1, h, c
			}
		}
	}
	return weekday, hour, n
}

// ByHour sums the visits of each hour of the day over the weekdays.
func (r *Report) ByHour() [24]int {
	var out [24]int
	for d := range r.Hours {
		for h, c := range r.Hours[d] {
			out[h] += c
		}
	}
	return out
}

// load computes the report. The actor must manage every service point of
// the filter (an admin manages all of them).
func load(ctx context.Context, tx sqldb.Tx, actor auth.Principal, f Filter) (*Report, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	allowed := true
	for _, id := range f.ServicePointIDs {
		allowed = allowed && actor.CanManage(id)
	}
	if err := auth.Authorize(ctx, tx, actor, allowed); err != nil {
		return nil, err
	}
	f.ServicePointIDs = dedupe(f.ServicePointIDs)
	// The dates as written, whatever zone the caller's values were in.
	f.From, f.To = Day(f.From.Year(), f.From.Month(), f.From.Day()), Day(f.To.Year(), f.To.Month(), f.To.Day())
	r := &Report{Filter: f}
	q := querier{ctx: ctx, tx: tx, f: f}
	q.start, q.end = f.bounds()

	if err := q.places(r); err != nil {
		return nil, err
	}
	if len(r.Places) != len(f.ServicePointIDs) {
		return nil, ErrUnknownServicePoint
	}
	steps := []func(*Report) error{q.days, q.topics, q.weekTopics, q.languages, q.enums, q.outcomes, q.referrals,
		q.durations, q.tickets, q.hours}
	for _, step := range steps {
		if err := step(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// querier runs the report's queries over one filter. Every query names the
// service points and the time window; row-level security adds the tenant.
type querier struct {
	ctx        context.Context
	tx         sqldb.Tx
	f          Filter
	start, end time.Time
}

// visitsWhere selects the filter's visits: $1 the service points, $2 and
// $3 the window.
const visitsWhere = `v.service_point_id = ANY($1) AND v.visited_at >= $2 AND v.visited_at < $3`

func (q querier) query(sql string, args ...any) (sqldb.Rows, error) {
	all := append([]any{q.f.ServicePointIDs, q.start, q.end}, args...)
	return q.tx.Query(q.ctx, sql, all...)
}

func (q querier) places(r *Report) error {
	rows, err := q.tx.Query(q.ctx, `SELECT id, slug, names FROM service_points WHERE id = ANY($1) ORDER BY slug`, q.f.ServicePointIDs)
	if err != nil {
		return err
	}
	r.Places, err = sqldb.CollectRows(rows, func(row sqldb.Row) (Place, error) {
		var p Place
		err := row.Scan(&p.ID, &p.Slug, &p.Names)
		return p, err
	})
	return err
}

// days counts visits per date and per ISO week, with every day of the
// range present, zero or not, so charts and exports have no gaps.
func (q querier) days(r *Report) error {
	rows, err := q.query(`SELECT to_char(v.visited_at AT TIME ZONE '` + Zone + `', 'YYYY-MM-DD'), count(*) FROM visits v
		WHERE ` + visitsWhere + ` GROUP BY 1`)
	if err != nil {
		return err
	}
	byDay := map[string]int{}
	var day string
	var n int
	if _, err := sqldb.ForEachRow(rows, []any{&day, &n}, func() error { byDay[day] = n; return nil }); err != nil {
		return err
	}
	for d := q.f.From; !d.After(q.f.To); d = d.AddDate(0, 0, 1) {
		label := d.Format(time.DateOnly)
		r.Days = append(r.Days, Period{Start: d, Label: label, N: byDay[label]})
		r.Total += byDay[label]
		week := WeekLabel(d)
		if len(r.Weeks) == 0 || r.Weeks[len(r.Weeks)-1].Label != week {
			r.Weeks = append(r.Weeks, Period{Start: d.AddDate(0, 0, 1-isoWeekday(d)), Label: week})
		}
		r.Weeks[len(r.Weeks)-1].N += byDay[label]
	}
	return nil
}

// WeekLabel names the ISO week of a date as 2026-W02, the form both Go and
// PostgreSQL's IYYY-"W"IW write.
func WeekLabel(d time.Time) string {
	y, w := d.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

func isoWeekday(d time.Time) int {
	if d.Weekday() == time.Sunday {
		return 7
	}
	return int(d.Weekday())
}

func (q querier) topics(r *Report) error {
	rows, err := q.query(`SELECT tp.id, tp.labels, sp.names, count(v.tid)::int FROM topics tp
		JOIN service_points sp ON sp.id = tp.service_point_id
		LEFT JOIN (SELECT unnest(v.topic_ids) AS tid FROM visits v WHERE ` + visitsWhere + `) v ON v.tid = tp.id
		WHERE tp.service_point_id = ANY($1)
		GROUP BY tp.id, tp.labels, sp.names, sp.slug, tp.position, tp.active
		HAVING tp.active OR count(v.tid) > 0
		ORDER BY sp.slug, tp.position, tp.id`)
	if err != nil {
		return err
	}
	r.Topics, err = collectLabelled(rows)
	return err
}

func collectLabelled(rows sqldb.Rows) ([]Category, error) {
	return sqldb.CollectRows(rows, func(row sqldb.Row) (Category, error) {
		var c Category
		var id int64
		err := row.Scan(&id, &c.Labels, &c.Place, &c.N)
		c.Key = strconv.FormatInt(id, 10)
		return c, err
	})
}

func (q querier) weekTopics(r *Report) error {
	week := map[string]int{}
	for i, w := range r.Weeks {
		week[w.Label] = i
	}
	topic := map[string]int{}
	for i, t := range r.Topics {
		topic[t.Key] = i
	}
	r.WeekTopics = make([][]int, len(r.Weeks))
	for i := range r.WeekTopics {
		r.WeekTopics[i] = make([]int, len(r.Topics))
	}
	rows, err := q.query(`SELECT to_char(v.visited_at AT TIME ZONE '` + Zone + `', 'IYYY-"W"IW'), t::text, count(*)
		FROM visits v, unnest(v.topic_ids) t WHERE ` + visitsWhere + ` GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	var w, t string
	var n int
	_, err = sqldb.ForEachRow(rows, []any{&w, &t, &n}, func() error {
		wi, ok1 := week[w]
		ti, ok2 := topic[t]
		if ok1 && ok2 {
			r.WeekTopics[wi][ti] = n
		}
		return nil
	})
	return err
}

// countBy counts visits by one text column, or by the elements of an
// array column when unnest is set. column comes from this file only.
func (q querier) countBy(column string, unnest bool) (map[string]int, error) {
	sql := `SELECT v.` + column + `, count(*) FROM visits v WHERE ` + visitsWhere + ` GROUP BY 1`
	if unnest {
		sql = `SELECT x, count(*) FROM visits v, unnest(v.` + column + `) x WHERE ` + visitsWhere + ` GROUP BY 1`
	}
	rows, err := q.query(sql)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	var k string
	var n int
	_, err = sqldb.ForEachRow(rows, []any{&k, &n}, func() error { out[k] = n; return nil })
	return out, err
}

// fixed lists every key in order, zero or not, so each figure has the same
// rows every time; a stored value outside the list is added at the end.
func fixed(keys []string, counts map[string]int) []Category {
	out := make([]Category, 0, len(keys))
	for _, k := range keys {
		out = append(out, Category{Key: k, N: counts[k]})
	}
	var extra []string
	for k := range counts {
		if !slices.Contains(keys, k) {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		out = append(out, Category{Key: k, N: counts[k]})
	}
	return out
}

func (q querier) languages(r *Report) error {
	counts, err := q.countBy("language", false)
	r.Languages = fixed(Languages(), counts)
	return err
}

func (q querier) enums(r *Report) error {
	for _, e := range []struct {
		column string
		keys   []string
		out    *[]Category
	}{
		{"channel", Channels, &r.Channels},
		{"interpreter", Interpreters, &r.Interpreters},
		{"age_group", AgeGroups, &r.AgeGroups},
		{"gender", Genders, &r.Genders},
	} {
		counts, err := q.countBy(e.column, false)
		if err != nil {
			return err
		}
		*e.out = fixed(e.keys, counts)
	}
	return nil
}

func (q querier) outcomes(r *Report) error {
	counts, err := q.countBy("outcomes", true)
	r.Outcomes = fixed(Outcomes, counts)
	return err
}

func (q querier) referrals(r *Report) error {
	rows, err := q.query(`SELECT rs.id, rs.names, sp.names, count(v.id)::int FROM referral_services rs
		JOIN service_points sp ON sp.id = rs.service_point_id
		LEFT JOIN visits v ON v.referral_id = rs.id AND ` + visitsWhere + `
		WHERE rs.service_point_id = ANY($1)
		GROUP BY rs.id, rs.names, sp.names, sp.slug, rs.position, rs.active
		HAVING rs.active OR count(v.id) > 0
		ORDER BY sp.slug, rs.position, rs.id`)
	if err != nil {
		return err
	}
	r.Referrals, err = collectLabelled(rows)
	return err
}

// durations: the median and 90th percentile are interpolated
// (percentile_cont), the usual reading of "median" for an even count.
func (q querier) durations(r *Report) error {
	var wm, w90, sm, s90 *float64
	rows, err := q.query(`SELECT count(v.wait_seconds)::int,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY v.wait_seconds), percentile_cont(0.9) WITHIN GROUP (ORDER BY v.wait_seconds),
			count(v.service_seconds)::int,
			percentile_cont(0.5) WITHIN GROUP (ORDER BY v.service_seconds), percentile_cont(0.9) WITHIN GROUP (ORDER BY v.service_seconds)
		FROM visits v WHERE ` + visitsWhere + ``)
	if err != nil {
		return err
	}
	_, err = sqldb.CollectExactlyOneRow(rows, func(row sqldb.Row) (struct{}, error) {
		return struct{}{}, row.Scan(&r.Wait.N, &wm, &w90, &r.Service.N, &sm, &s90)
	})
	r.Wait.Median, r.Wait.P90 = deref(wm), deref(w90)
	r.Service.Median, r.Service.P90 = deref(sm), deref(s90)
	return err
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

// tickets counts the walk-in tickets of the period's service days; no-show
// rate is no-shows over every closed ticket (done, no-show, cancelled, not
// served), as the queue closes them.
func (q querier) tickets(r *Report) error {
	t := &r.Tickets
	return q.tx.QueryRow(q.ctx, `SELECT count(*)::int,
			count(*) FILTER (WHERE state IN ('done','no_show','cancelled','not_served'))::int,
			count(*) FILTER (WHERE state = 'done')::int,
			count(*) FILTER (WHERE state = 'no_show')::int,
			count(*) FILTER (WHERE state = 'cancelled')::int,
			count(*) FILTER (WHERE state = 'not_served')::int
		FROM tickets WHERE service_point_id = ANY($1) AND service_day BETWEEN $2::date AND $3::date`,
		q.f.ServicePointIDs, q.f.From.Format(time.DateOnly), q.f.To.Format(time.DateOnly)).
		Scan(&t.Taken, &t.Closed, &t.Done, &t.NoShow, &t.Cancelled, &t.NotServed)
}

func (q querier) hours(r *Report) error {
	rows, err := q.query(`SELECT extract(isodow FROM v.visited_at AT TIME ZONE '` + Zone + `')::int, extract(hour FROM v.visited_at AT TIME ZONE '` + Zone + `')::int, count(*)
		FROM visits v WHERE ` + visitsWhere + ` GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	var d, h, n int
	_, err = sqldb.ForEachRow(rows, []any{&d, &h, &n}, func() error {
		if d >= 1 && d <= 7 && h >= 0 && h < 24 {
			r.Hours[d-1][h] = n
		}
		return nil
	})
	return err
}
