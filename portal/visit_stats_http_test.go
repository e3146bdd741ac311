package portal_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/stats"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/portal/portaltest"
)

// vsPassword is the demo staff's password in the visit and statistics tests.
const vsPassword = "visits and statistics test password"

// vsStart runs a portal on the demo data and opens the owner connection.
func vsStart(t *testing.T) (*portaltest.Instance, *pgx.Conn) {
	t.Helper()
	in := portaltest.Start(t, portaltest.WithSeed(func(t testing.TB, _ *store.DB, ownerURL string) {
		if err := demo.Seed(context.Background(), ownerURL, vsPassword); err != nil {
			t.Fatalf("demo seed: %v", err)
		}
	}))
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, in.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close(ctx) })
	return in, owner
}

// vsFinnish is the demo staff's own language, which their pages speak.
func vsFinnish(t *testing.T) *i18n.T {
	t.Helper()
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := catalog.Lookup("fi")
	return catalog.For(fi)
}

// vsAgent is a logged-in staff member's browser: a cookie jar, redirects
// not followed (the tests look at them), and the session's CSRF token.
type vsAgent struct {
	t      *testing.T
	base   string
	client *http.Client
	csrf   string
}

var (
	vsHiddenCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	vsMetaCSRF   = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

func vsLogin(t *testing.T, in *portaltest.Instance, email string) *vsAgent {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &vsAgent{t: t, base: in.URL, client: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, body := a.get("/login")
	m := vsHiddenCSRF.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the login page has no _csrf field")
	}
	resp, _ := a.send(http.MethodPost, "/login", url.Values{"_csrf": {html.UnescapeString(m[1])}, "email": {email},
		"password": {vsPassword}, "next": {"/staff"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login as %s: %d", email, resp.StatusCode)
	}
	_, body = a.get("/staff/")
	if m = vsMetaCSRF.FindStringSubmatch(body); m == nil {
		t.Fatalf("no CSRF token after logging in as %s", email)
	}
	a.csrf = html.UnescapeString(m[1])
	return a
}

func (a *vsAgent) send(method, path string, form url.Values) (*http.Response, string) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	return resp, string(b)
}

func (a *vsAgent) get(path string) (*http.Response, string) { return a.send(http.MethodGet, path, nil) }

// post sends a form with the session's CSRF token.
func (a *vsAgent) post(path string, form url.Values) (*http.Response, string) {
	form.Set("_csrf", a.csrf)
	return a.send(http.MethodPost, path, form)
}

func vsCount(t *testing.T, owner *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

var (
	vsTopicBox = regexp.MustCompile(`name="topics" value="(\d+)"`)
	vsReferral = regexp.MustCompile(`(?s)id="field-referral".*?<option value="(\d+)"`)
)

// vsFormChoices opens the visit form and returns its topic ids and the
// first referral service's id.
func vsFormChoices(t *testing.T, a *vsAgent, path string) (topics []string, referral string) {
	t.Helper()
	resp, body := a.get(path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	for _, m := range vsTopicBox.FindAllStringSubmatch(body, -1) {
		topics = append(topics, m[1])
	}
	m := vsReferral.FindStringSubmatch(body)
	if len(topics) != 8 || m == nil {
		t.Fatalf("the form shows %d topics (want the demo's 8) and referral %v", len(topics), m)
	}
	return topics, m[1]
}

func TestExpertRecordsDeskVisit(t *testing.T) {
	in, owner := vsStart(t)
	expert := vsLogin(t, in, demo.ExpertEmail)
	// The expert works at one service point only: the form opens on it.
	topics, referral := vsFormChoices(t, expert, "/staff/visits/new")

	resp, body := expert.post("/staff/visits", url.Values{"sp": {demo.ServicePoint}, "channel": {"desk"}, "topics": {topics[2], topics[5]},
		"language": {"ar"}, "interpreter": {"phone"}, "outcomes": {"advice", "referred"}, "referral": {referral},
		"age_group": {"not_asked"}, "gender": {"not_asked"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /staff/visits: %d\n%s", resp.StatusCode, body)
	}
	if loc := resp.Header.Get("Location"); loc != "/staff/queue/demo?saved=visit" {
		t.Errorf("redirected to %q", loc)
	}
	n := vsCount(t, owner, `SELECT count(*) FROM visits WHERE channel = 'desk' AND language = 'ar' AND interpreter = 'phone'
		AND topic_ids = ARRAY[$1::bigint, $2::bigint] AND outcomes = '{advice,referred}' AND referral_id = $3
		AND ticket_id IS NULL AND wait_seconds IS NULL AND age_group = 'not_asked'`, topics[2], topics[5], referral)
	if n != 1 {
		t.Fatalf("%d matching visit rows, want 1", n)
	}
}

func TestVisitFormKeepsWhatWasTyped(t *testing.T) {
	in, owner := vsStart(t)
	expert := vsLogin(t, in, demo.ExpertEmail)
	fi := vsFinnish(t)
	topics, _ := vsFormChoices(t, expert, "/staff/visits/new?sp=demo")

	resp, body := expert.post("/staff/visits", url.Values{"sp": {demo.ServicePoint}, "channel": {"phone"}, "topics": {topics[0], topics[3]},
		"language": {""}, "interpreter": {"video"}, "outcomes": {"referred", "appointment"}, "age_group": {"45_64"}, "gender": {"female"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("POST with errors: %d, want 422", resp.StatusCode)
	}
	for _, want := range []string{
		`value="phone" checked`, `value="` + topics[0] + `" checked`, `value="` + topics[3] + `" checked`, `value="video" checked`,
		`value="referred" checked`, `value="appointment" checked`, `value="45_64" checked`, `value="female" checked`,
		html.EscapeString(fi.Get("form.required")), html.EscapeString(fi.Get("visit.error.referral_required")),
		`href="#field-language"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the form sent back lacks %q", want)
		}
	}
	if strings.Contains(body, `value="`+topics[1]+`" checked`) {
		t.Error("a topic not ticked came back ticked")
	}

	// A topic of another service point, forged into the form.
	resp, body = expert.post("/staff/visits", url.Values{"sp": {demo.ServicePoint}, "channel": {"chat"}, "topics": {"987654"},
		"language": {"fi"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, html.EscapeString(fi.Get("visit.error.unknown_topic"))) {
		t.Errorf("a forged topic: %d", resp.StatusCode)
	}
	if n := vsCount(t, owner, `SELECT count(*) FROM visits`); n != 0 {
		t.Fatalf("%d visits saved from bad input", n)
	}
}

func TestVisitFromTicket(t *testing.T) {
	in, owner := vsStart(t)
	expert := vsLogin(t, in, demo.ExpertEmail)
	fi := vsFinnish(t)
	ctx := context.Background()
	var ticket, topic int64
	err := owner.QueryRow(ctx, `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number,
			service_day, language, interpreter, state, created_at, called_at, serving_at, finished_at)
		SELECT sp.municipality_id, sp.id, tp.id, tp.id, tp.prefix, 17, (now() AT TIME ZONE 'Europe/Helsinki')::date, 'uk', true, 'done',
			now() - interval '50 minutes', now() - interval '30 minutes', now() - interval '29 minutes', now() - interval '9 minutes'
		FROM service_points sp JOIN topics tp ON tp.service_point_id = sp.id
		WHERE sp.slug = $1 ORDER BY tp.position DESC LIMIT 1 RETURNING id, topic_id`, demo.ServicePoint).Scan(&ticket, &topic)
	if err != nil {
		t.Fatal(err)
	}
	tid, topicID := strconv.FormatInt(ticket, 10), strconv.FormatInt(topic, 10)

	resp, body := expert.get("/staff/visits/new?ticket=" + tid + "&sp=demo&back=desk%3D1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the form for a ticket: %d", resp.StatusCode)
	}
	for _, want := range []string{`name="topics" value="` + topicID + `" checked`, `value="uk" lang="uk" dir="ltr" selected`,
		`name="ticket" value="` + tid + `"`, html.EscapeString(fi.Get("visit.asked_interpreter"))} {
		if !strings.Contains(body, want) {
			t.Errorf("the ticket's form lacks %q", want)
		}
	}
	if strings.Contains(body, `name="channel"`) {
		t.Error("a walk-in's form asks for the channel")
	}

	form := url.Values{"sp": {demo.ServicePoint}, "ticket": {tid}, "topics": {topicID}, "language": {"uk"}, "interpreter": {"on_site"},
		"back": {"desk=1"}}
	resp, body = expert.post("/staff/visits", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/staff/queue/demo?desk=1&saved=visit" {
		t.Fatalf("POST: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var wait, service int
	var channel string
	if err := owner.QueryRow(ctx, `SELECT wait_seconds, service_seconds, channel FROM visits WHERE ticket_id = $1`, ticket).
		Scan(&wait, &service, &channel); err != nil {
		t.Fatal(err)
	}
	if wait != 20*60 || service != 20*60 || channel != "walk_in" {
		t.Errorf("wait %d s, service %d s, channel %s; want 1200, 1200, walk_in", wait, service, channel)
	}

	// The same ticket again: refused, clearly, and nothing added.
	form.Del("_csrf")
	resp, body = expert.post("/staff/visits", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, html.EscapeString(fi.Get("visit.error.already_recorded"))) {
		t.Errorf("second record: %d", resp.StatusCode)
	}
	resp, _ = expert.get("/staff/visits/new?ticket=" + tid + "&sp=demo")
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("the form for a recorded ticket: %d, want 409", resp.StatusCode)
	}
	if n := vsCount(t, owner, `SELECT count(*) FROM visits`); n != 1 {
		t.Fatalf("%d visits, want 1", n)
	}
}

func TestStatsPageAndCSV(t *testing.T) {
	in, _ := vsStart(t)
	fi := vsFinnish(t)
	expert := vsLogin(t, in, demo.ExpertEmail)
	topics, _ := vsFormChoices(t, expert, "/staff/visits/new")
	resp, _ := expert.post("/staff/visits", url.Values{"sp": {demo.ServicePoint}, "channel": {"desk"}, "topics": {topics[0]}, "language": {"ar"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("record: %d", resp.StatusCode)
	}

	for _, path := range []string{"/staff/stats", "/staff/stats.csv"} {
		if resp, _ := expert.get(path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("expert GET %s: %d, want 403", path, resp.StatusCode)
		}
	}

	lead := vsLogin(t, in, demo.LeadEmail)
	resp, body := lead.get("/staff/stats")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lead GET /staff/stats: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"<dt>" + html.EscapeString(fi.Get("stats.total")) + `</dt><dd id="stats-total">1</dd>`,
		`role="img" aria-labelledby="chart-languages-title chart-languages-desc"`,
		"<th scope=\"row\">العربية</th><td class=\"num\">1</td>",
		`href="/staff/stats.csv?`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the statistics page lacks %q", want)
		}
	}
	if strings.Contains(body, "style=") || strings.Contains(body, "<style") {
		t.Error("the page has inline style, which the CSP blocks")
	}

	today := stats.DayOf(time.Now()).Format(time.DateOnly)
	from := stats.DayOf(time.Now()).AddDate(0, 0, -29).Format(time.DateOnly)
	resp, body = lead.get("/staff/stats.csv")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lead GET /staff/stats.csv: %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="koto-stats-all-`+from+`-`+today+`.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	visits := fi.Get("stats.col.visits")
	for _, want := range []string{
		stats.BOM + "Taulukko;Jakso;Luokka;Mittari;Arvo\r\n",
		"\r\n" + fi.Get("stats.total") + ";;;" + visits + ";1\r\n",
		"\r\n" + fi.Get("stats.by.language") + ";;العربية;" + visits + ";1\r\n",
		"\r\n" + fi.Get("stats.by.day") + ";" + today + ";;" + visits + ";1\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the CSV lacks %q", want)
		}
	}

	// A bad filter is a clear 422, never a 500.
	if resp, body := lead.get("/staff/stats?from=2026-13-01"); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(body, html.EscapeString(fi.Get("form.invalid_date"))) || !strings.Contains(body, `value="2026-13-01"`) {
		t.Errorf("bad date: %d", resp.StatusCode)
	}
	if resp, _ := lead.get("/staff/stats.csv?sp=nowhere"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("CSV with an unknown service point: %d", resp.StatusCode)
	}
}

// The statistics' date fields read and show dates as the page's language
// writes them, ISO in every language; a date that is wrong or written
// another way is a 422 with the field's message in the page's language and
// what was typed kept.
func TestStatsDatesInThePageLanguage(t *testing.T) {
	in, _ := vsStart(t)
	catalog, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	lead := vsLogin(t, in, demo.LeadEmail)
	for _, c := range []struct {
		lang, from, to string
		status         int
		shown          []string // value attributes the page must have
	}{
		{"fi", "1.3.2026", "2026-03-31", http.StatusOK, []string{`value="1.3.2026"`, `value="31.3.2026"`}},
		{"sv", "2026-03-01", "2026-03-31", http.StatusOK, []string{`value="2026-03-01"`, `value="2026-03-31"`}},
		{"ar", "٠١/٠٣/٢٠٢٦", "31/3/2026", http.StatusOK, []string{`value="01/03/2026"`, `value="31/03/2026"`}},
		{"fa", "۲۰۲۶/۰۳/۰۱", "2026-03-31", http.StatusOK, []string{`value="2026/03/01"`, `value="2026/03/31"`}},
		{"fi", "31.2.2026", "", http.StatusUnprocessableEntity, []string{`value="31.2.2026"`}},
		{"ar", "٣١/٠٢/٢٠٢٦", "", http.StatusUnprocessableEntity, []string{`value="٣١/٠٢/٢٠٢٦"`}},
		{"en", "03/01/2026", "", http.StatusUnprocessableEntity, []string{`value="03/01/2026"`}},
		{"sv", "1.3.2026", "", http.StatusUnprocessableEntity, []string{`value="1.3.2026"`}},
	} {
		l, _ := catalog.Lookup(c.lang)
		q := url.Values{"lang": {c.lang}, "from": {c.from}}
		if c.to != "" {
			q.Set("to", c.to)
		}
		resp, body := lead.get("/staff/stats?" + q.Encode())
		if resp.StatusCode != c.status {
			t.Errorf("%s %s–%s: %d, want %d", c.lang, c.from, c.to, resp.StatusCode, c.status)
		}
		for _, want := range append(c.shown, html.EscapeString(catalog.For(l).Get("form.date_hint"))) {
			if !strings.Contains(body, want) {
				t.Errorf("%s %s–%s: the page lacks %s", c.lang, c.from, c.to, want)
			}
		}
		msg := html.EscapeString(catalog.For(l).Get("form.invalid_date"))
		if bad := c.status != http.StatusOK; bad != strings.Contains(body, `<p class="field-error" id="from-error">`+msg+`</p>`) {
			t.Errorf("%s %s: the field error in the page's language shown: %v, want %v", c.lang, c.from, !bad, bad)
		}
	}
}

// Over two service points the export hides counts under five; for one it
// is exact.
func TestStatsCSVHidesSmallCountsOverServicePoints(t *testing.T) {
	in, owner := vsStart(t)
	fi := vsFinnish(t)
	if _, err := owner.Exec(context.Background(), `INSERT INTO service_points (municipality_id, slug, names)
		SELECT id, 'toinen', '{"fi": "Toinen"}' FROM municipalities WHERE slug = $1`, demo.Municipality); err != nil {
		t.Fatal(err)
	}
	expert := vsLogin(t, in, demo.ExpertEmail)
	topics, _ := vsFormChoices(t, expert, "/staff/visits/new")
	for range 3 {
		resp, _ := expert.post("/staff/visits", url.Values{"sp": {demo.ServicePoint}, "channel": {"phone"}, "topics": {topics[1]}, "language": {"so"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("record: %d", resp.StatusCode)
		}
	}
	if resp, _ := expert.get("/staff/visits/new?sp=toinen"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an expert's form for a service point they do not work at: %d, want 403", resp.StatusCode)
	}
	if resp, _ := expert.get("/staff/visits/new?sp=nowhere"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the form for a service point that does not exist: %d, want 404", resp.StatusCode)
	}
	admin := vsLogin(t, in, demo.AdminEmail)
	// Working at two service points, the admin first picks one.
	if resp, body := admin.get("/staff/visits/new"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `<option value="toinen">`) ||
		strings.Contains(body, `name="topics"`) {
		t.Errorf("the service point step: %d", resp.StatusCode)
	}
	total := "\r\n" + fi.Get("stats.total") + ";;;" + fi.Get("stats.col.visits") + ";"
	_, all := admin.get("/staff/stats.csv")
	if !strings.Contains(all, total+"<5\r\n") || strings.Contains(all, total+"3\r\n") {
		t.Errorf("over two service points the total of 3 is not hidden:\n%s", all[:min(len(all), 300)])
	}
	resp, one := admin.get("/staff/stats.csv?sp=demo")
	if !strings.Contains(one, total+"3\r\n") || strings.Contains(one, "<5") {
		t.Errorf("for one service point the counts are not exact:\n%s", one[:min(len(one), 300)])
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="koto-stats-demo-`) {
		t.Errorf("Content-Disposition %q", cd)
	}
}
