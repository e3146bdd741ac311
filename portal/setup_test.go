package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/i18n"
)

func newPointForm() url.Values {
	return url.Values{"slug": {"keskusta"}, "name_fi": {"Keskustan palvelupiste"}, "name_sv": {"Centrums serviceställe"},
		"name_ar": {"مركز الخدمة"}, "time_zone": {"Europe/Helsinki"},
		"open_1": {"08:00"}, "close_1": {"16:00"}, "open_2": {"08:00"}, "close_2": {"16:00"}, "open_3": {"09:00"}, "close_3": {"18:30"},
		"open_4": {"08:00"}, "close_4": {"16:00"}, "open_5": {"08:00"}, "close_5": {"14:00"}, "closed_6": {"1"}, "closed_7": {"1"},
		"target_wait": {"25"}, "max_recalls": {"3"}}
}

func TestAdminCreatesServicePoint(t *testing.T) {
	in, owner := setupStart(t)
	admin := setupLogin(t, in, demo.AdminEmail)

	resp, body := admin.get("/staff/setup")
	wantStatus(t, "overview", resp, body, http.StatusOK)
	if !strings.Contains(body, `href="/staff/setup/new"`) || !strings.Contains(body, `href="/staff/setup/demo"`) {
		t.Error("the admin's overview lacks the new-service-point link or the demo service point")
	}
	resp, body = admin.get("/staff/setup/new")
	wantStatus(t, "new form", resp, body, http.StatusOK)
	if !strings.Contains(body, `value="Europe/Helsinki"`) || !strings.Contains(body, `id="name_ar"`) {
		t.Error("the new form lacks its defaults or the Arabic name input")
	}

	resp, body = admin.post("/staff/setup/new", newPointForm())
	wantStatus(t, "create", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/staff/setup/keskusta?saved=1" {
		t.Errorf("redirected to %q", loc)
	}
	var names map[string]string
	var hours map[string][2]string
	var zone string
	var wait, recalls int
	if err := owner.QueryRow(context.Background(), `SELECT names, opening_hours, time_zone, target_wait_minutes, max_recalls
		FROM service_points WHERE slug = 'keskusta'`).Scan(&names, &hours, &zone, &wait, &recalls); err != nil {
		t.Fatalf("the service point was not stored: %v", err)
	}
	if names["fi"] != "Keskustan palvelupiste" || names["ar"] != "مركز الخدمة" || names["en"] != "" || zone != "Europe/Helsinki" ||
		wait != 25 || recalls != 3 || len(hours) != 5 || hours["3"] != [2]string{"09:00", "18:30"} {
		t.Errorf("stored %v %v %s %d %d", names, hours, zone, wait, recalls)
	}
	if n := setupCount(t, owner, `SELECT count(*) FROM service_points s JOIN municipalities m ON m.id = s.municipality_id
		WHERE s.slug = 'keskusta' AND m.slug = $1`, demo.Municipality); n != 1 {
		t.Error("the service point is not in the admin's municipality")
	}

	resp, body = admin.get("/staff/setup/keskusta?saved=1")
	wantStatus(t, "edit page", resp, body, http.StatusOK)
	if !strings.Contains(body, "Keskustan palvelupiste") || !strings.Contains(body, `role="status"`) {
		t.Error("the saved service point's page lacks its name or the saved notice")
	}
	if _, body = admin.get("/staff/setup"); !strings.Contains(body, `href="/staff/setup/keskusta"`) {
		t.Error("the overview does not list the new service point")
	}

	// Editing keeps the slug, whatever is sent.
	form := newPointForm()
	form.Set("slug", "changed")
	form.Set("always_open", "1")
	form.Set("name_fi", "Keskusta")
	resp, body = admin.post("/staff/setup/keskusta", form)
	wantStatus(t, "update", resp, body, http.StatusSeeOther)
	if n := setupCount(t, owner, `SELECT count(*) FROM service_points WHERE slug = 'keskusta' AND names->>'fi' = 'Keskusta' AND opening_hours = '{}'`); n != 1 {
		t.Error("the update was not stored, or the slug changed")
	}
}

func TestServicePointBadInputKeepsWhatWasTyped(t *testing.T) {
	in, owner := setupStart(t)
	admin := setupLogin(t, in, demo.AdminEmail)
	before := setupCount(t, owner, `SELECT count(*) FROM service_points`)
	cases := []struct {
		name, field, value, message string
	}{
		{"empty Finnish name", "name_fi", "", "Täytä tämä kenttä."},
		{"reserved slug", "slug", "new", "Tämä osoitenimi on varattu."},
		{"slug of the kiosk pairing page", "slug", "pair", "Tämä osoitenimi on varattu."},
		{"slug in use", "slug", "demo", "Tämä osoitenimi on jo käytössä."},
		{"upper-case slug", "slug", "Keskusta", "Käytä vain pieniä kirjaimia"},
		{"unknown time zone", "time_zone", "Europe/Turku", "Anna aikavyöhyke"},
		{"closing before opening", "close_1", "07:00", "Sulkemisajan on oltava avaamisajan jälkeen."},
		{"not a time", "open_2", "kahdeksalta", "Anna kellonaika"},
		{"waiting time not a number", "target_wait", "<script>alert(1)</script>", "Anna kokonaisluku."},
		{"recalls out of range", "max_recalls", "11", "Luku on sallitun alueen ulkopuolella."},
		{"name too long", "name_sv", strings.Repeat("å", 101), "Teksti on liian pitkä."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := newPointForm()
			form.Set("name_en", "<b>kept</b>")
			form.Set(tc.field, tc.value)
			resp, body := admin.post("/staff/setup/new", form)
			wantStatus(t, tc.name, resp, body, http.StatusUnprocessableEntity)
			if !strings.Contains(body, tc.message) {
				t.Errorf("no message %q", tc.message)
			}
			if !strings.Contains(body, `id="`+tc.field+`-error"`) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Error("the error is not tied to its field")
			}
			wantShown(t, tc.name, body, "<b>kept</b>")
			if tc.value != "" {
				wantShown(t, tc.name, body, tc.value)
			}
		})
	}
	// Bytes that are not UTF-8, a field sent twice, and a body that is not
	// a form at all come back as field errors too, never as a 500.
	for _, raw := range []string{
		"slug=ab%FFcd&name_fi=%FF%FE&time_zone=UTC&always_open=1&target_wait=1&max_recalls=0",
		"slug=x&slug=y&name_fi=a&name_fi=%00&time_zone=UTC&always_open=1",
		"%%%&&&==",
	} {
		resp, body := admin.postRaw("/staff/setup/new", raw)
		wantStatus(t, raw, resp, body, http.StatusUnprocessableEntity)
	}
	if after := setupCount(t, owner, `SELECT count(*) FROM service_points`); after != before {
		t.Errorf("bad forms saved service points: %d → %d", before, after)
	}

	// The same for an existing service point: nothing changes.
	resp, body := admin.post("/staff/setup/demo", url.Values{"name_fi": {""}, "time_zone": {"Mars/Olympus"}, "always_open": {"1"},
		"target_wait": {"0"}, "max_recalls": {"2"}})
	wantStatus(t, "bad update", resp, body, http.StatusUnprocessableEntity)
	wantShown(t, "bad update", body, "Mars/Olympus")
	if n := setupCount(t, owner, `SELECT count(*) FROM service_points WHERE slug = 'demo' AND names->>'fi' = 'Demo-palvelupiste' AND time_zone = 'Europe/Helsinki'`); n != 1 {
		t.Error("a refused update changed the service point")
	}
}

func TestSetupAuthorization(t *testing.T) {
	in, owner := setupStart(t)
	otherMunicipality(t, owner)
	expert := setupLogin(t, in, demo.ExpertEmail)
	lead := setupLogin(t, in, demo.LeadEmail)
	snapshot := func() string {
		var s string
		if err := owner.QueryRow(context.Background(), `SELECT concat_ws('|',
			(SELECT count(*) FROM service_points), (SELECT string_agg(names::text, ',' ORDER BY id) FROM service_points),
			(SELECT string_agg(name || active::text, ',' ORDER BY id) FROM desks),
			(SELECT string_agg(labels::text, ',' ORDER BY id) FROM topics),
			(SELECT count(*) FROM referral_services), (SELECT count(*) FROM devices))`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	deskID := setupID(t, owner, `SELECT min(id) FROM desks`)
	topicID := setupID(t, owner, `SELECT min(id) FROM topics`)
	steps := []struct {
		who    *setupAgent
		method string
		path   string
		status int
	}{
		{expert, "GET", "/staff/setup", http.StatusForbidden},
		{expert, "GET", "/staff/setup/demo", http.StatusForbidden},
		{expert, "POST", "/staff/setup/demo", http.StatusForbidden},
		{expert, "POST", "/staff/setup/demo/desks", http.StatusForbidden},
		{expert, "POST", "/staff/setup/demo/desks/" + strconv.FormatInt(deskID, 10), http.StatusForbidden},
		{expert, "GET", "/staff/setup/demo/topics/new", http.StatusForbidden},
		{expert, "POST", "/staff/setup/demo/topics/" + strconv.FormatInt(topicID, 10), http.StatusForbidden},
		{expert, "POST", "/staff/setup/demo/referrals", http.StatusForbidden},
		{expert, "GET", "/staff/setup/demo/devices", http.StatusForbidden},
		{expert, "POST", "/staff/setup/demo/devices", http.StatusForbidden},
		{lead, "GET", "/staff/setup/new", http.StatusForbidden},
		{lead, "POST", "/staff/setup/new", http.StatusForbidden},
		// Another municipality's service point does not exist for them.
		{lead, "GET", "/staff/setup/muualla", http.StatusNotFound},
		{lead, "POST", "/staff/setup/muualla/desks", http.StatusNotFound},
		{lead, "GET", "/staff/setup/muualla/devices", http.StatusNotFound},
		{lead, "GET", "/staff/setup/demo/topics/999999", http.StatusNotFound},
		{lead, "GET", "/staff/setup/demo/topics/abc", http.StatusNotFound},
		{lead, "POST", "/staff/setup/demo/desks/999999", http.StatusNotFound},
		{lead, "POST", "/staff/setup/demo/referrals/-1", http.StatusNotFound},
		{lead, "POST", "/staff/setup/demo/devices/999999/revoke", http.StatusNotFound},
	}
	valid := url.Values{"name": {"9"}, "name_fi": {"Uusi"}, "label_fi": {"Uusi"}, "pictogram": {"other"}, "prefix": {"Q"},
		"slug": {"uusi"}, "time_zone": {"UTC"}, "always_open": {"1"}, "target_wait": {"5"}, "max_recalls": {"1"}, "kind": {"kiosk"}}
	for _, s := range steps {
		var resp *http.Response
		var body string
		if s.method == "GET" {
			resp, body = s.who.get(s.path)
		} else {
			form := url.Values{}
			for k, v := range valid {
				form[k] = v
			}
			resp, body = s.who.post(s.path, form)
		}
		if resp.StatusCode != s.status {
			t.Errorf("%s %s: %d, want %d\n%.500s", s.method, s.path, resp.StatusCode, s.status, body)
		}
	}
	if after := snapshot(); after != before {
		t.Errorf("refused requests changed the set-up:\n%s\n%s", before, after)
	}
}

func TestLeadCreatesTopicWithTranslations(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	resp, body := lead.get("/staff/setup/demo/topics/new")
	wantStatus(t, "topic form", resp, body, http.StatusOK)
	for _, l := range i18n.Languages {
		if !strings.Contains(body, `name="label_`+l.Code+`"`) || !strings.Contains(body, `lang="`+l.Code+`" dir="`+l.Dir()+`"`) {
			t.Errorf("the form has no %s input with lang and dir", l.Code)
		}
	}
	if !strings.Contains(body, `id="label_ar" name="label_ar" value="" lang="ar" dir="rtl"`) {
		t.Error("the Arabic input does not type right to left")
	}
	if !strings.Contains(body, `type="radio" id="pictogram-housing" name="pictogram" value="housing"`) || !strings.Contains(body, "<svg") {
		t.Error("the pictogram picker lacks its radio buttons or pictures")
	}

	labels := map[string]string{"fi": "Asumisen tuki", "sv": "Bostadsstöd", "en": "Housing allowance", "ru": "Жилищное пособие",
		"et": "Eluasemetoetus", "ar": "إعانة السكن", "uk": "Житлова допомога", "so": "Kaalmada guriyeynta", "fa": "کمک هزینه مسکن",
		"ckb": "یارمەتی خانووبەرە", "zh-Hans": "住房补贴", "vi": "Trợ cấp nhà ở"}
	form := url.Values{"pictogram": {"housing"}, "prefix": {"Z"}, "active": {"1"}, "position": {"42"}}
	for code, s := range labels {
		form.Set("label_"+code, s)
	}
	resp, body = lead.post("/staff/setup/demo/topics/new", form)
	wantStatus(t, "create topic", resp, body, http.StatusSeeOther)
	var stored map[string]string
	var topicID int64
	if err := owner.QueryRow(context.Background(), `SELECT id, labels FROM topics WHERE prefix = 'Z' AND pictogram = 'housing' AND position = 42 AND active`).
		Scan(&topicID, &stored); err != nil {
		t.Fatalf("the topic was not stored: %v", err)
	}
	for code, s := range labels {
		if stored[code] != s {
			t.Errorf("label %s: %q, want %q", code, stored[code], s)
		}
	}
	resp, body = lead.get(resp.Header.Get("Location"))
	wantStatus(t, "service point page", resp, body, http.StatusOK)
	if !strings.Contains(body, "Asumisen tuki") || !strings.Contains(body, "/staff/setup/demo/topics/"+strconv.FormatInt(topicID, 10)) {
		t.Error("the new topic is not listed on the service point's page")
	}
	if _, body = lead.get("/staff/setup/demo?lang=sv"); !strings.Contains(body, "Bostadsstöd") {
		t.Error("the list does not show the topic in the page's language")
	}

	// Editing: switched off, an emptied translation is removed.
	path := "/staff/setup/demo/topics/" + strconv.FormatInt(topicID, 10)
	resp, body = lead.get(path)
	wantStatus(t, "edit form", resp, body, http.StatusOK)
	if !strings.Contains(body, `value="إعانة السكن"`) {
		t.Error("the edit form does not show the stored Arabic label")
	}
	form.Del("active")
	form.Set("label_vi", "")
	resp, body = lead.post(path, form)
	wantStatus(t, "edit topic", resp, body, http.StatusSeeOther)
	if err := owner.QueryRow(context.Background(), `SELECT labels FROM topics WHERE id = $1 AND NOT active`, topicID).Scan(&stored); err != nil {
		t.Fatalf("the edit was not stored: %v", err)
	}
	if _, ok := stored["vi"]; ok || stored["fi"] != "Asumisen tuki" {
		t.Errorf("labels after edit: %v", stored)
	}
}

func TestTopicBadInputSavesNothing(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	// A topic of another service point of the same municipality.
	other := setupID(t, owner, `INSERT INTO service_points (municipality_id, slug, names) SELECT municipality_id, 'toinen', '{"fi": "Toinen"}' FROM service_points WHERE slug = 'demo' RETURNING id`)
	foreign := setupID(t, owner, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix) SELECT municipality_id, id, '{"fi": "Vieras"}', 'other', 'X' FROM service_points WHERE id = $1 RETURNING id`, other)
	snapshot := func() string {
		var s string
		_ = owner.QueryRow(context.Background(), `SELECT string_agg(concat_ws(':', id, labels, pictogram, prefix, active, position), ',' ORDER BY id) FROM topics`).Scan(&s)
		return s
	}
	before := snapshot()
	good := func() url.Values {
		return url.Values{"label_fi": {"Uusi asia"}, "label_ar": {"أمر جديد"}, "pictogram": {"work"}, "prefix": {"Q"}, "position": {"1"}, "active": {"1"}}
	}
	cases := []struct {
		name, field, value, errorID string
	}{
		{"no Finnish label", "label_fi", "  ", "label_fi-error"},
		{"unknown pictogram", "pictogram", "../../../etc/passwd", "pictogram-error"},
		{"lower-case prefix", "prefix", "q", "prefix-error"},
		{"two-letter prefix", "prefix", "QQ", "prefix-error"},
		{"position not a number", "position", "first", "position-error"},
		{"script in a label", "label_sv", "<script>alert(1)</script>" + strings.Repeat("x", 80), "label_sv-error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := good()
			form.Set(tc.field, tc.value)
			resp, body := lead.post("/staff/setup/demo/topics/new", form)
			wantStatus(t, tc.name, resp, body, http.StatusUnprocessableEntity)
			if !strings.Contains(body, `id="`+tc.errorID+`"`) {
				t.Errorf("no field error %s", tc.errorID)
			}
			wantShown(t, tc.name, body, "أمر جديد")
			if strings.Contains(body, "<script>alert(1)") {
				t.Error("typed markup was not escaped")
			}
		})
	}
	resp, body := lead.postRaw("/staff/setup/demo/topics/new", "label_fi=%FF%FE&pictogram=work&prefix=Q")
	wantStatus(t, "invalid UTF-8", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Tekstissä on merkkejä, joita ei voi käyttää.") {
		t.Error("invalid UTF-8 did not get its message")
	}
	// Another service point's topic is not this one's.
	resp, body = lead.post("/staff/setup/demo/topics/"+strconv.FormatInt(foreign, 10), good())
	wantStatus(t, "foreign topic", resp, body, http.StatusNotFound)
	if after := snapshot(); after != before {
		t.Errorf("bad forms changed topics:\n%s\n%s", before, after)
	}
}

func TestDesksAndReferrals(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	resp, body := lead.post("/staff/setup/demo/desks", url.Values{"name": {"Neuvonta"}})
	wantStatus(t, "add desk", resp, body, http.StatusSeeOther)
	deskID := setupID(t, owner, `SELECT id FROM desks WHERE name = 'Neuvonta' AND active`)
	path := "/staff/setup/demo/desks/" + strconv.FormatInt(deskID, 10)

	// A name another desk has: the field says so, and keeps the typing.
	resp, body = lead.post(path, url.Values{"name": {"1"}, "active": {"1"}})
	wantStatus(t, "duplicate desk", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Palvelupisteessä on jo samanniminen palvelupaikka.") ||
		!strings.Contains(body, `id="desk-`+strconv.FormatInt(deskID, 10)+`-name-error"`) {
		t.Error("the duplicate name error is not shown at the desk")
	}
	resp, body = lead.post(path, url.Values{"name": {""}})
	wantStatus(t, "empty desk name", resp, body, http.StatusUnprocessableEntity)
	resp, body = lead.post(path, url.Values{"name": {"Neuvonta 2"}})
	wantStatus(t, "rename and switch off", resp, body, http.StatusSeeOther)
	if n := setupCount(t, owner, `SELECT count(*) FROM desks WHERE id = $1 AND name = 'Neuvonta 2' AND NOT active`, deskID); n != 1 {
		t.Error("the desk was not renamed and switched off")
	}

	before := setupCount(t, owner, `SELECT count(*) FROM referral_services`)
	resp, body = lead.post("/staff/setup/demo/referrals", url.Values{"name_sv": {"Bara svenska"}})
	wantStatus(t, "referral without Finnish", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `id="referral-new-name_fi-error"`) || !strings.Contains(body, `value="Bara svenska"`) {
		t.Error("the new referral form lost its typing or its error")
	}
	if n := setupCount(t, owner, `SELECT count(*) FROM referral_services`); n != before {
		t.Error("a refused referral was saved")
	}
	resp, body = lead.post("/staff/setup/demo/referrals", url.Values{"name_fi": {"Neuvola"}, "name_sv": {"Rådgivningen"}})
	wantStatus(t, "add referral", resp, body, http.StatusSeeOther)
	refID := setupID(t, owner, `SELECT id FROM referral_services WHERE names->>'fi' = 'Neuvola' AND active`)
	resp, body = lead.post("/staff/setup/demo/referrals/"+strconv.FormatInt(refID, 10), url.Values{"name_fi": {"Lastenneuvola"}})
	wantStatus(t, "edit referral", resp, body, http.StatusSeeOther)
	var names map[string]string
	if err := owner.QueryRow(context.Background(), `SELECT names FROM referral_services WHERE id = $1 AND NOT active`, refID).Scan(&names); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(names); string(b) != `{"fi":"Lastenneuvola"}` {
		t.Errorf("referral names %s", b)
	}
}

// A day with a lunch break keeps both openings through the set-up screen:
// saved, stored, and shown again for the next edit.
func TestLunchBreakThroughTheSetupScreen(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	form := newPointForm()
	form.Del("slug")
	form.Set("open_3", "08:00")
	form.Set("close_3", "11:30")
	form.Set("open_3_2", "12:30")
	form.Set("close_3_2", "15:00")
	resp, body := lead.post("/staff/setup/demo", form)
	wantStatus(t, "save", resp, body, http.StatusSeeOther)
	var wednesday []string
	if err := owner.QueryRow(context.Background(), `SELECT opening_hours->'3' FROM service_points WHERE slug = 'demo'`).Scan(&wednesday); err != nil {
		t.Fatal(err)
	}
	if strings.Join(wednesday, " ") != "08:00 11:30 12:30 15:00" {
		t.Fatalf("Wednesday stored as %v", wednesday)
	}
	resp, body = lead.get("/staff/setup/demo?lang=fi")
	wantStatus(t, "page", resp, body, http.StatusOK)
	for _, input := range []string{`name="open_3" value="08:00"`, `name="close_3" value="11:30"`, `name="open_3_2" value="12:30"`,
		`name="close_3_2" value="15:00"`, `name="open_3_3" value=""`, `Avautuu uudelleen`} {
		if !strings.Contains(body, input) {
			t.Errorf("the page lacks %s", input)
		}
	}

	// Openings that overlap come back with the reason, in the page's
	// language, and nothing stored changes.
	form.Set("open_3_2", "11:00")
	resp, body = lead.post("/staff/setup/demo?lang=fi", form)
	wantStatus(t, "overlap", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, `id="open_3_2-error"`) || !strings.Contains(body, "päällekkäin") {
		t.Error("the overlap is not told beside the opening, in Finnish")
	}
	if n := setupCount(t, owner, `SELECT count(*) FROM service_points WHERE slug = 'demo' AND opening_hours->'3' = '["08:00","11:30","12:30","15:00"]'`); n != 1 {
		t.Error("a refused form changed the stored hours")
	}
}
