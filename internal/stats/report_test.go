package stats

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
)

// visitSpec is one visit written straight into the table, with known
// values, as Record would have written it.
type visitSpec struct {
	sp            int64
	at            time.Time
	channel       string
	topics        []int64
	lang, interp  string
	outcomes      []string
	referral      int64
	wait, service int // -1: none
}

func (f *fixture) addVisit(v visitSpec) {
	f.t.Helper()
	var wait, service *int
	if v.wait >= 0 {
		wait = &v.wait
	}
	if v.service >= 0 {
		service = &v.service
	}
	if v.outcomes == nil {
		v.outcomes = []string{}
	}
	f.id(`INSERT INTO visits (municipality_id, service_point_id, channel, topic_ids, language, interpreter, outcomes, referral_id,
			wait_seconds, service_seconds, visited_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8::bigint, 0), $9, $10, $11) RETURNING id`,
		f.tenant, v.sp, v.channel, v.topics, v.lang, v.interp, v.outcomes, v.referral, wait, service, v.at)
}

func hel(day, hour, minute int) time.Time {
	return time.Date(2026, 3, day, hour, minute, 0, 0, Location())
}

// reportFixture fills two weeks of March 2026 (Monday the 2nd to Sunday
// the 15th, ISO weeks 10 and 11) with seven visits at sp1 and one at sp2,
// visits just outside the range on both sides, and tickets.
func reportFixture(t *testing.T) (*fixture, Filter) {
	f := newFixture(t)
	A, B, C := f.topicA, f.topicB, f.topicC
	for _, v := range []visitSpec{
		{f.sp1, hel(2, 9, 15), "walk_in", []int64{A}, "fi", "none", []string{"advice"}, 0, 60, 300},
		{f.sp1, hel(3, 10, 5), "walk_in", []int64{A, B}, "ar", "on_site", []string{"referred"}, f.ref1, 120, 600},
		{f.sp1, hel(3, 10, 20), "walk_in", []int64{B}, "ar", "phone", []string{"advice", "assessment"}, 0, 180, 900},
		{f.sp1, hel(3, 10, 55), "walk_in", []int64{A}, "so", "none", nil, 0, 240, 1200},
		{f.sp1, hel(10, 14, 0), "walk_in", []int64{C}, "fi", "video", []string{"appointment"}, 0, 600, -1},
		{f.sp1, hel(12, 11, 0), "desk", []int64{A}, "en", "none", []string{"registered_client"}, 0, -1, -1},
		// The last minutes of the range in Helsinki: already the 15th
		// in UTC too, but the next visit is the 16th in Helsinki while
		// still the 15th in UTC, and must fall out.
		{f.sp1, hel(15, 23, 30), "phone", []int64{B}, "fi", "none", nil, 0, -1, -1},
		{f.sp1, hel(16, 0, 10), "phone", []int64{B}, "fi", "none", nil, 0, -1, -1},
		{f.sp1, hel(1, 23, 50), "phone", []int64{B}, "fi", "none", nil, 0, -1, -1},
		{f.sp2, hel(4, 12, 0), "chat", []int64{f.topicX}, "fi", "none", nil, 0, -1, -1},
	} {
		f.addVisit(v)
	}
	// sp1's tickets in the range: 6 done, 2 no-shows, 1 cancelled, 1 not
	// served, 1 still waiting; a no-show the day after and one at sp2.
	states := []string{"done", "done", "done", "done", "done", "done", "no_show", "no_show", "cancelled", "not_served", "waiting"}
	for i, s := range states {
		f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp1, topic: A, state: s, day: hel(2+i%10, 0, 0), created: hel(2+i%10, 9, 0)})
	}
	f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp1, topic: A, state: "no_show", day: hel(16, 0, 0), created: hel(16, 9, 0)})
	f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp2, topic: f.topicX, state: "no_show", day: hel(4, 0, 0), created: hel(4, 9, 0)})
	return f, Filter{From: Day(2026, 3, 2), To: Day(2026, 3, 15), ServicePointIDs: []int64{f.sp1}}
}

func counts(cs []Category) map[string]int {
	out := map[string]int{}
	for _, c := range cs {
		out[c.Key] = c.N
	}
	return out
}

func wantCounts(t *testing.T, what string, got []Category, want map[string]int) {
	t.Helper()
	have := counts(got)
	for k, n := range want {
		if have[k] != n {
			t.Errorf("%s %s = %d, want %d", what, k, have[k], n)
		}
	}
	sum := 0
	for _, n := range have {
		sum += n
	}
	wantSum := 0
	for _, n := range want {
		wantSum += n
	}
	if sum != wantSum {
		t.Errorf("%s: %d in all, want %d (%v)", what, sum, wantSum, have)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestReportFigures(t *testing.T) {
	f, filter := reportFixture(t)
	r, err := f.load(leadAt(f.tenant, f.sp1), filter)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 7 {
		t.Errorf("total %d, want 7", r.Total)
	}
	if len(r.Days) != 14 {
		t.Fatalf("%d days, want 14", len(r.Days))
	}
	days := map[string]int{}
	for _, d := range r.Days {
		days[d.Label] = d.N
	}
	for day, n := range map[string]int{"2026-03-02": 1, "2026-03-03": 3, "2026-03-04": 0, "2026-03-10": 1, "2026-03-12": 1, "2026-03-15": 1} {
		if days[day] != n {
			t.Errorf("day %s: %d visits, want %d", day, days[day], n)
		}
	}
	if len(r.Weeks) != 2 || r.Weeks[0].Label != "2026-W10" || r.Weeks[0].N != 4 || r.Weeks[1].Label != "2026-W11" || r.Weeks[1].N != 3 {
		t.Errorf("weeks = %+v", r.Weeks)
	}
	wantCounts(t, "topic", r.Topics, map[string]int{key(f.topicA): 4, key(f.topicB): 3, key(f.topicC): 1})
	if len(r.Topics) != 3 || r.Topics[0].Labels["en"] != "Housing" {
		t.Errorf("topics = %+v", r.Topics)
	}
	// Week × topic, topics in position order A, B, C.
	want := [][]int{{3, 2, 0}, {1, 1, 1}}
	for w := range want {
		for i := range want[w] {
			if r.WeekTopics[w][i] != want[w][i] {
				t.Errorf("week %s topic %d: %d, want %d", r.Weeks[w].Label, i, r.WeekTopics[w][i], want[w][i])
			}
		}
	}
	wantCounts(t, "language", r.Languages, map[string]int{"fi": 3, "ar": 2, "so": 1, "en": 1})
	if len(r.Languages) != len(i18n.Languages) {
		t.Errorf("%d languages, want all %d", len(r.Languages), len(i18n.Languages))
	}
	wantCounts(t, "channel", r.Channels, map[string]int{"walk_in": 5, "desk": 1, "phone": 1, "chat": 0})
	wantCounts(t, "interpreter", r.Interpreters, map[string]int{"none": 4, "on_site": 1, "phone": 1, "video": 1})
	wantCounts(t, "outcome", r.Outcomes, map[string]int{"advice": 2, "referred": 1, "appointment": 1, "assessment": 1, "registered_client": 1})
	wantCounts(t, "referral", r.Referrals, map[string]int{key(f.ref1): 1, key(f.ref2): 0})
	wantCounts(t, "age group", r.AgeGroups, map[string]int{"not_asked": 7})

	// Waits 60, 120, 180, 240, 600: median 180; p90 at rank 3.6 is
	// 240 + 0.6 × 360 = 456. Services 300, 600, 900, 1200: median 750;
	// p90 at rank 2.7 is 900 + 0.7 × 300 = 1110.
	if r.Wait.N != 5 || !near(r.Wait.Median, 180) || !near(r.Wait.P90, 456) {
		t.Errorf("wait = %+v, want n 5, median 180, p90 456", r.Wait)
	}
	if r.Service.N != 4 || !near(r.Service.Median, 750) || !near(r.Service.P90, 1110) {
		t.Errorf("service = %+v, want n 4, median 750, p90 1110", r.Service)
	}

	tk := r.Tickets
	if tk.Taken != 11 || tk.Closed != 10 || tk.Done != 6 || tk.NoShow != 2 || tk.Cancelled != 1 || tk.NotServed != 1 {
		t.Errorf("tickets = %+v", tk)
	}
	if rate, ok := tk.NoShowRate(); !ok || !near(rate, 0.2) {
		t.Errorf("no-show rate %v (%v), want 0.2", rate, ok)
	}

	if d, h, n := r.Busiest(); d != 2 || h != 10 || n != 3 {
		t.Errorf("busiest = weekday %d hour %d (%d visits), want Tuesday 10 (3)", d, h, n)
	}
	if r.Hours[6][23] != 1 {
		t.Errorf("Sunday 23: %d, want 1", r.Hours[6][23])
	}
	if byHour := r.ByHour(); byHour[10] != 3 || byHour[9] != 1 {
		t.Errorf("by hour = %v", byHour)
	}
}

func key(id int64) string { return strconv.FormatInt(id, 10) }

func TestReportOverTwoServicePoints(t *testing.T) {
	f, filter := reportFixture(t)
	filter.ServicePointIDs = []int64{f.sp1, f.sp2}
	r, err := f.load(adminOf(f.tenant), filter)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 8 || len(r.Places) != 2 || !filter.MultiplePoints() {
		t.Errorf("total %d over %d places", r.Total, len(r.Places))
	}
	wantCounts(t, "channel", r.Channels, map[string]int{"walk_in": 5, "desk": 1, "phone": 1, "chat": 1})
	if r.Tickets.NoShow != 3 {
		t.Errorf("no-shows %d, want 3", r.Tickets.NoShow)
	}
	if len(r.Topics) != 4 {
		t.Errorf("%d topics, want sp1's three and sp2's one", len(r.Topics))
	}
}

func TestReportAccess(t *testing.T) {
	f, filter := reportFixture(t)
	both := filter
	both.ServicePointIDs = []int64{f.sp1, f.sp2}
	for _, c := range []struct {
		name   string
		actor  auth.Principal
		filter Filter
		want   error
	}{
		{"an expert", expertAt(f.tenant, f.sp1), filter, ErrForbidden},
		{"the lead of one of two service points", leadAt(f.tenant, f.sp1), both, ErrForbidden},
		// Row-level security hides the service point from another
		// municipality's admin, whose own transaction it is.
		{"another municipality's admin", adminOf(f.other), filter, ErrUnknownServicePoint},
		{"the lead of both", leadAt(f.tenant, f.sp1, f.sp2), both, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.load(c.actor, c.filter); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestFilterCheck(t *testing.T) {
	sp := []int64{1}
	for _, c := range []struct {
		f    Filter
		want error
	}{
		{Filter{From: Day(2026, 3, 2), To: Day(2026, 3, 2), ServicePointIDs: sp}, nil},
		{Filter{From: Day(2026, 3, 2), To: Day(2026, 3, 1), ServicePointIDs: sp}, ErrBadRange},
		{Filter{From: Day(2024, 1, 1), To: Day(2026, 3, 1), ServicePointIDs: sp}, ErrRangeTooLong},
		{Filter{From: Day(2026, 3, 2), To: Day(2026, 3, 3)}, ErrNoServicePoint},
	} {
		if err := c.f.Check(); !errors.Is(err, c.want) {
			t.Errorf("%v: err = %v, want %v", c.f, err, c.want)
		}
	}
	// Across the spring clock change, a day is still a day.
	if n := (Filter{From: Day(2026, 3, 28), To: Day(2026, 3, 30)}).Days(); n != 3 {
		t.Errorf("Days() = %d over the clock change, want 3", n)
	}
}

func TestWriteCSV(t *testing.T) {
	rows := [][]Cell{
		{Text("Päivä"), Text("2026-03-02"), Count(3)},
		{Text("Päivä"), Text("2026-03-03"), Count(0)},
		{Text("Päivä"), Text("2026-03-04"), Count(5)},
		{Text("Mediaani"), Text(""), DerivedCell("180", 4)},
		{Text("Mediaani"), Text(""), DerivedCell("12,5", 7)},
		{Text("=HYPERLINK(\"x\")"), Text("a;b"), Count(12)},
	}
	var multi, single bytes.Buffer
	if err := WriteCSV(&multi, []string{"taulukko", "jakso", "arvo"}, rows, true); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&single, []string{"taulukko", "jakso", "arvo"}, rows, false); err != nil {
		t.Fatal(err)
	}
	wantMulti := BOM + "taulukko;jakso;arvo\r\n" +
		"Päivä;2026-03-02;<5\r\n" +
		"Päivä;2026-03-03;<5\r\n" +
		"Päivä;2026-03-04;5\r\n" +
		"Mediaani;;\r\n" +
		"Mediaani;;12,5\r\n" +
		"\"'=HYPERLINK(\"\"x\"\")\";\"a;b\";12\r\n"
	if multi.String() != wantMulti {
		t.Errorf("suppressed CSV:\n%q\nwant\n%q", multi.String(), wantMulti)
	}
	wantSingle := strings.NewReplacer("2026-03-02;<5", "2026-03-02;3", "2026-03-03;<5", "2026-03-03;0", "Mediaani;;\r\n", "Mediaani;;180\r\n").Replace(wantMulti)
	if single.String() != wantSingle {
		t.Errorf("exact CSV:\n%q\nwant\n%q", single.String(), wantSingle)
	}
}
