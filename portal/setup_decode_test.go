package portal

// Tests of the set-up forms' decoders: pure functions from what a browser
// (or anyone) sends to checked input and field errors. The fuzz targets
// assert what must hold for any input at all: no panic, errors only name
// messages that exist, and whatever is accepted is valid UTF-8 within the
// form's limits.

import (
	"encoding/json"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/hours"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/locales"
)

// englishMessages is every message id English has; every other language
// has the same ids (the i18n tests see to that).
var englishMessages = sync.OnceValue(func() map[string]bool {
	ids := map[string]bool{}
	names, _ := fs.Glob(locales.FS, "*.en.json")
	for _, name := range names {
		b, _ := fs.ReadFile(locales.FS, name)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for k := range m {
			ids[k] = true
		}
	}
	return ids
})

// checkErrors fails on an error that names no message.
func checkErrors(t *testing.T, errs forms.Errors) {
	t.Helper()
	if errs == nil {
		t.Fatal("decoder returned nil errors; handlers add to them")
	}
	for field, key := range errs {
		if !englishMessages()[key] {
			t.Errorf("field %q has error %q, which is no message", field, key)
		}
	}
}

// checkText fails on accepted text that is not clean, single-line UTF-8
// within max characters.
func checkText(t *testing.T, what, s string, max int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s accepted invalid UTF-8 %q", what, s)
	}
	if n := utf8.RuneCountInString(s); n > max {
		t.Errorf("%s accepted %d characters, limit %d", what, n, max)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		t.Errorf("%s accepted a control character: %q", what, s)
	}
	if s != strings.TrimSpace(s) {
		t.Errorf("%s accepted untrimmed %q", what, s)
	}
}

func checkLabels(t *testing.T, what string, l org.Labels, max int, ok bool) {
	t.Helper()
	for code, s := range l {
		if !slices.Contains(codes(i18n.Languages), code) {
			t.Errorf("%s: label for unknown language %q", what, code)
		}
		if s == "" {
			t.Errorf("%s: empty label kept for %s", what, code)
		}
		checkText(t, what+"["+code+"]", s, max)
	}
	if ok && l[i18n.Default] == "" {
		t.Errorf("%s: accepted without a Finnish text", what)
	}
}

// values parses fuzz input as a form body; a malformed body still yields
// the pairs parsed so far, as formValues would see them.
func values(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	return v
}

func TestDecodeServicePointForm(t *testing.T) {
	good := func() url.Values {
		v := newServicePointValues()
		v.Set("slug", "keskusta")
		v.Set("name_fi", "Keskustan palvelupiste")
		v.Set("name_ar", "مركز الخدمة")
		return v
	}
	in, errs := decodeServicePointForm(good(), true)
	if len(errs) != 0 {
		t.Fatalf("good form refused: %v", errs)
	}
	if in.Slug != "keskusta" || in.Names["ar"] != "مركز الخدمة" || in.TimeZone != "Europe/Helsinki" || in.Hours.Always ||
		!slices.Equal(in.Hours.Days[0], []hours.Span{{From: 8 * 60, To: 16 * 60}}) || len(in.Hours.Days[5]) != 0 ||
		in.TargetWait != 20 || in.MaxRecalls != 2 {
		t.Fatalf("decoded %+v", in)
	}
	// A time typed the Finnish way, in Arabic-Indic digits, reads right
	// and shows back as HH:MM.
	v := good()
	v.Set("open_3", "٨.٣٠")
	if in, errs := decodeServicePointForm(v, true); len(errs) != 0 || in.Hours.Days[2][0].From != 8*60+30 || v.Get("open_3") != "08:30" {
		t.Errorf("8.30 in Arabic-Indic digits: %v %v, shown back as %q", in.Hours.Days[2], errs, v.Get("open_3"))
	}
	cases := []struct {
		name  string
		isNew bool
		edit  func(url.Values)
		field string
		key   string
	}{
		{"reserved slug", true, func(v url.Values) { v.Set("slug", "new") }, "slug", "setup.slug_reserved"},
		{"reserved pair", true, func(v url.Values) { v.Set("slug", "pair") }, "slug", "setup.slug_reserved"},
		{"upper-case slug", true, func(v url.Values) { v.Set("slug", "Keskusta") }, "slug", "form.invalid_slug"},
		{"missing slug", true, func(v url.Values) { v.Del("slug") }, "slug", "form.required"},
		{"no Finnish name", false, func(v url.Values) { v.Set("name_fi", " ") }, "name_fi", "form.required"},
		{"script tag is text", false, func(v url.Values) { v.Set("name_sv", "<script>alert(1)</script>") }, "", ""},
		{"long name", false, func(v url.Values) { v.Set("name_en", strings.Repeat("x", 101)) }, "name_en", "form.too_long"},
		{"invalid UTF-8", false, func(v url.Values) { v.Set("name_fi", "a\xffb") }, "name_fi", "form.invalid_text"},
		{"unknown zone", false, func(v url.Values) { v.Set("time_zone", "Europe/Turku") }, "time_zone", "setup.bad_time_zone"},
		{"Local zone", false, func(v url.Values) { v.Set("time_zone", "Local") }, "time_zone", "setup.bad_time_zone"},
		{"path as zone", false, func(v url.Values) { v.Set("time_zone", "../../etc/passwd") }, "time_zone", "setup.bad_time_zone"},
		{"close before open", false, func(v url.Values) { v.Set("close_2", "07:00") }, "close_2", "setup.close_before_open"},
		{"close equals open", false, func(v url.Values) { v.Set("close_2", "08:00") }, "close_2", "setup.close_before_open"},
		{"bad time", false, func(v url.Values) { v.Set("open_3", "8 o'clock") }, "open_3", "form.invalid_time"},
		{"no such hour", false, func(v url.Values) { v.Set("open_3", "25.00") }, "open_3", "form.invalid_time"},
		{"minutes past 59", false, func(v url.Values) { v.Set("open_3", "8:60") }, "open_3", "form.invalid_time"},
		{"Finnish time", false, func(v url.Values) { v.Set("open_3", "8.00") }, "", ""},
		{"Arabic-Indic time", false, func(v url.Values) { v.Set("open_3", "٠٨:٠٠") }, "", ""},
		{"number-pad time", false, func(v url.Values) { v.Set("open_3", "0800") }, "", ""},
		{"missing time", false, func(v url.Values) { v.Del("open_4") }, "open_4", "form.required"},
		{"lunch break", false, func(v url.Values) { v.Set("close_3", "11:30"); v.Set("open_3_2", "12:30"); v.Set("close_3_2", "16:00") }, "", ""},
		{"second opening half given", false, func(v url.Values) { v.Set("open_3_2", "17:00") }, "close_3_2", "form.required"},
		{"second opening backwards", false, func(v url.Values) { v.Set("open_3_2", "18:00"); v.Set("close_3_2", "17:00") }, "close_3_2", "setup.close_before_open"},
		{"openings overlap", false, func(v url.Values) { v.Set("open_3_2", "15:00"); v.Set("close_3_2", "17:00") }, "open_3_2", "setup.hours_overlap"},
		{"third opening overlaps the first", false, func(v url.Values) {
			v.Set("close_3", "11:00")
			v.Set("open_3_2", "12:00")
			v.Set("close_3_2", "13:00")
			v.Set("open_3_3", "10:00")
			v.Set("close_3_3", "11:30")
		}, "open_3_3", "setup.hours_overlap"},
		{"every day closed", false, func(v url.Values) {
			for d := 1; d <= 7; d++ {
				v.Set("closed_"+strconv.Itoa(d), "1")
			}
		}, "hours", "setup.all_closed"},
		{"wait not a number", false, func(v url.Values) { v.Set("target_wait", "soon") }, "target_wait", "form.not_a_number"},
		{"wait too long", false, func(v url.Values) { v.Set("target_wait", "601") }, "target_wait", "form.out_of_range"},
		{"recalls negative", false, func(v url.Values) { v.Set("max_recalls", "-1") }, "max_recalls", "form.out_of_range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := good()
			tc.edit(v)
			_, errs := decodeServicePointForm(v, tc.isNew)
			checkErrors(t, errs)
			if tc.field == "" {
				if len(errs) != 0 {
					t.Errorf("refused: %v", errs)
				}
				return
			}
			if errs[tc.field] != tc.key {
				t.Errorf("errors %v, want %s on %s", errs, tc.key, tc.field)
			}
		})
	}
	// Around the clock ignores the day fields entirely.
	v = good()
	v.Set("always_open", "1")
	v.Set("open_1", "garbage")
	if in, errs := decodeServicePointForm(v, false); len(errs) != 0 || !in.Hours.Always {
		t.Errorf("always open: %v %v", in.Hours, errs)
	}
	// A lunch break keeps both openings, in order, whichever row came first.
	v = good()
	v.Set("open_3", "12:30")
	v.Set("close_3", "15:00")
	v.Set("open_3_2", "08:00")
	v.Set("close_3_2", "11:30")
	in, errs = decodeServicePointForm(v, false)
	if want := []hours.Span{{From: 8 * 60, To: 11*60 + 30}, {From: 12*60 + 30, To: 15 * 60}}; len(errs) != 0 || !slices.Equal(in.Hours.Days[2], want) {
		t.Errorf("lunch break: %v %v", in.Hours.Days[2], errs)
	}
	// And the form shows them back as stored.
	back := servicePointValues(org.ServicePoint{Hours: in.Hours})
	if back.Get("open_3") != "08:00" || back.Get("close_3") != "11:30" || back.Get("open_3_2") != "12:30" || back.Get("close_3_2") != "15:00" {
		t.Errorf("form values %v", back)
	}
}

var hhmm = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

func FuzzDecodeServicePointForm(f *testing.F) {
	f.Add("slug=keskusta&name_fi=Keskusta&time_zone=Europe%2FHelsinki&always_open=1&target_wait=20&max_recalls=2", true)
	f.Add("name_fi=x&time_zone=UTC&open_1=08:00&close_1=16:00&closed_2=1&target_wait=1&max_recalls=0", false)
	f.Fuzz(func(t *testing.T, raw string, isNew bool) {
		in, errs := decodeServicePointForm(values(raw), isNew)
		checkErrors(t, errs)
		ok := len(errs) == 0
		checkLabels(t, "names", in.Names, maxNameLen, ok)
		if in.Slug != "" && (!slugInPath.MatchString(in.Slug) || org.SlugReserved(in.Slug)) {
			t.Errorf("accepted slug %q", in.Slug)
		}
		if !isNew && in.Slug != "" {
			t.Errorf("an existing service point's slug was read: %q", in.Slug)
		}
		if in.TimeZone != "" {
			if _, err := time.LoadLocation(in.TimeZone); err != nil || in.TimeZone == "Local" {
				t.Errorf("accepted time zone %q", in.TimeZone)
			}
		}
		if err := in.Hours.Check(); err != nil {
			t.Errorf("accepted hours %+v: %v", in.Hours, err)
		}
		for _, spans := range in.Hours.Days {
			for _, sp := range spans {
				if !hhmm.MatchString(hours.Clock(sp.From)) || !hhmm.MatchString(hours.Clock(sp.To)) {
					t.Errorf("accepted hours %v", sp)
				}
			}
		}
		if ok {
			if isNew && in.Slug == "" || in.TimeZone == "" || in.TargetWait < 1 || in.TargetWait > 600 || in.MaxRecalls < 0 || in.MaxRecalls > 10 {
				t.Errorf("accepted %+v", in)
			}
		}
	})
}

func TestDecodeTopicForm(t *testing.T) {
	pictos := Pictograms()
	if !slices.Contains(pictos, "housing") || !slices.Contains(pictos, "other") {
		t.Fatalf("shipped pictograms: %v", pictos)
	}
	v := url.Values{"label_fi": {" Asuminen "}, "label_ar": {"السكن"}, "label_zh-Hans": {"住房"}, "pictogram": {"housing"},
		"prefix": {"C"}, "active": {"1"}, "position": {"4"}}
	in, errs := decodeTopicForm(v, pictos)
	if len(errs) != 0 || in.Labels["fi"] != "Asuminen" || in.Labels["ar"] != "السكن" || in.Labels["zh-Hans"] != "住房" ||
		in.Pictogram != "housing" || in.Prefix != "C" || !in.Active || in.Position != 4 {
		t.Fatalf("decoded %+v, %v", in, errs)
	}
	bad := url.Values{"label_fi": {""}, "label_sv": {strings.Repeat("å", 81)}, "pictogram": {"../../go.mod"},
		"prefix": {"Ä"}, "position": {"1e3"}}
	_, errs = decodeTopicForm(bad, pictos)
	want := forms.Errors{"label_fi": "form.required", "label_sv": "form.too_long", "pictogram": "form.invalid_choice",
		"prefix": "form.invalid_choice", "position": "form.not_a_number"}
	for field, key := range want {
		if errs[field] != key {
			t.Errorf("%s: %q, want %q", field, errs[field], key)
		}
	}
	if _, errs = decodeTopicForm(url.Values{"label_fi": {"x"}, "pictogram": {"work"}, "prefix": {"a"}}, pictos); errs["prefix"] == "" {
		t.Error("a lower-case prefix was accepted")
	}
}

func FuzzDecodeTopicForm(f *testing.F) {
	f.Add("label_fi=Asuminen&label_ar=%D8%A7%D9%84%D8%B3%D9%83%D9%86&pictogram=housing&prefix=C&active=1&position=2")
	f.Add("label_fi=&pictogram=nope&prefix=AA&position=-1")
	pictos := Pictograms()
	f.Fuzz(func(t *testing.T, raw string) {
		in, errs := decodeTopicForm(values(raw), pictos)
		checkErrors(t, errs)
		ok := len(errs) == 0
		checkLabels(t, "labels", in.Labels, maxTopicLabelLen, ok)
		if in.Pictogram != "" && !slices.Contains(pictos, in.Pictogram) {
			t.Errorf("accepted pictogram %q", in.Pictogram)
		}
		if in.Prefix != "" && !slices.Contains(prefixLetters, in.Prefix) {
			t.Errorf("accepted prefix %q", in.Prefix)
		}
		if in.Position < 0 || in.Position > maxTopicPosition {
			t.Errorf("accepted position %d", in.Position)
		}
		if ok && (in.Pictogram == "" || in.Prefix == "") {
			t.Errorf("accepted %+v", in)
		}
	})
}

// offered is a test's fixed set of service points the form offers.
func offered(points map[int64]bool) func(int64) bool {
	return func(id int64) bool { return points[id] }
}

func TestDecodePersonForm(t *testing.T) {
	points := map[int64]bool{7: true}
	v := url.Values{"name": {"Liisa Virtanen"}, "email": {"Liisa.Virtanen@Example.fi"}, "password": {" pitkä salasana "},
		"languages": {"fi", "ar", "fi"}, "locale": {"sv"}, "active": {"1"}, "role": {"expert:7", "lead:7", "admin:0", "expert:7"}}
	in, errs := decodePersonForm(v, true, offered(points))
	if len(errs) != 0 {
		t.Fatalf("refused: %v", errs)
	}
	if in.Email != "liisa.virtanen@example.fi" || in.Password != " pitkä salasana " || !slices.Equal(in.Languages, []string{"fi", "ar"}) ||
		in.Locale != "sv" || !in.Active || len(in.Grants) != 3 {
		t.Fatalf("decoded %+v", in)
	}
	cases := []struct {
		name, field, value, key string
	}{
		{"admin in a service point", "role", "admin:7", "form.invalid_choice"},
		{"another service point", "role", "expert:8", "form.invalid_choice"},
		{"unknown role", "role", "owner:0", "form.invalid_choice"},
		{"padded id", "role", "expert:07", "form.invalid_choice"},
		{"negative id", "role", "expert:-7", "form.invalid_choice"},
		{"no colon", "role", "expert", "form.invalid_choice"},
		{"short password", "password", "lyhyt", "people.password_short"},
		{"long password", "password", strings.Repeat("x", 201), "form.too_long"},
		{"password with a newline", "password", "salasana\nsalasana", "form.invalid_text"},
		{"unknown language", "languages", "xx", "form.invalid_choice"},
		{"unknown locale", "locale", "de", "form.invalid_choice"},
		{"bad e-mail", "email", "liisa@", "form.invalid_email"},
		{"script name", "name", "<script>", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := url.Values{}
			for k, vs := range v {
				w[k] = slices.Clone(vs)
			}
			w.Set(tc.field, tc.value)
			_, errs := decodePersonForm(w, true, offered(points))
			checkErrors(t, errs)
			if errs[tc.field] != tc.key {
				t.Errorf("errors %v, want %q on %s", errs, tc.key, tc.field)
			}
		})
	}
	// E-mail and password belong to new accounts only.
	if in, errs := decodePersonForm(url.Values{"name": {"x"}, "locale": {"fi"}, "email": {"a@b.fi"}}, false, offered(points)); len(errs) != 0 || in.Email != "" {
		t.Errorf("existing account: %+v %v", in, errs)
	}
}

func FuzzDecodePersonForm(f *testing.F) {
	f.Add("name=Liisa&email=liisa%40example.fi&password=0123456789&languages=fi&locale=fi&active=1&role=expert%3A1", true)
	f.Add("name=Liisa&locale=sv&role=admin%3A0&role=lead%3A2", false)
	points := map[int64]bool{1: true, 2: true}
	f.Fuzz(func(t *testing.T, raw string, isNew bool) {
		in, errs := decodePersonForm(values(raw), isNew, offered(points))
		checkErrors(t, errs)
		ok := len(errs) == 0
		checkText(t, "name", in.Name, maxNameLen)
		checkText(t, "email", in.Email, 254)
		if in.Email != strings.ToLower(in.Email) || (!isNew && in.Email != "") {
			t.Errorf("accepted e-mail %q", in.Email)
		}
		if in.Password != "" && (!isNew || !utf8.ValidString(in.Password) || utf8.RuneCountInString(in.Password) < minPasswordLen ||
			utf8.RuneCountInString(in.Password) > maxPasswordLen) {
			t.Errorf("accepted password %q", in.Password)
		}
		for _, l := range in.Languages {
			if !slices.Contains(spokenCodes, l) {
				t.Errorf("accepted spoken language %q", l)
			}
		}
		if in.Locale != "" && !slices.Contains(staffCodes, in.Locale) {
			t.Errorf("accepted staff page language %q", in.Locale)
		}
		for _, g := range in.Grants {
			if g.ServicePointID != 0 && !points[g.ServicePointID] || g.Role == auth.RoleAdmin && g.ServicePointID != 0 ||
				!slices.Contains([]string{auth.RoleExpert, auth.RoleLead, auth.RoleAdmin}, g.Role) {
				t.Errorf("accepted grant %+v", g)
			}
		}
		if ok && (in.Name == "" || in.Locale == "" || isNew && (in.Email == "" || in.Password == "")) {
			t.Errorf("accepted %+v", in)
		}
	})
}

func FuzzDecodeDeskForm(f *testing.F) {
	f.Add("name=3&active=1", false)
	f.Add("name=", true)
	f.Fuzz(func(t *testing.T, raw string, isNew bool) {
		in, errs := decodeDeskForm(values(raw), isNew)
		checkErrors(t, errs)
		checkText(t, "desk name", in.Name, maxDeskNameLen)
		if len(errs) == 0 && in.Name == "" || isNew && !in.Active {
			t.Errorf("accepted %+v", in)
		}
	})
}

func FuzzDecodeReferralForm(f *testing.F) {
	f.Add("name_fi=Kela&name_sv=FPA&active=1", false)
	f.Add("name_sv=FPA", true)
	f.Fuzz(func(t *testing.T, raw string, isNew bool) {
		in, errs := decodeReferralForm(values(raw), isNew)
		checkErrors(t, errs)
		checkLabels(t, "referral names", in.Names, maxNameLen, len(errs) == 0)
	})
}

func FuzzDecodeDeviceForm(f *testing.F) {
	f.Add("kind=kiosk&name=Aulan+automaatti")
	f.Add("kind=printer&name=")
	f.Fuzz(func(t *testing.T, raw string) {
		in, errs := decodeDeviceForm(values(raw))
		checkErrors(t, errs)
		checkText(t, "device name", in.Name, maxDeviceNameLen)
		if in.Kind != "" && in.Kind != auth.KindKiosk && in.Kind != auth.KindDisplay {
			t.Errorf("accepted kind %q", in.Kind)
		}
		if len(errs) == 0 && (in.Kind == "" || in.Name == "") {
			t.Errorf("accepted %+v", in)
		}
	})
}

func TestDecodeAccessLogFilter(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Helsinki")
	fi := languageOf(t, "fi")
	v := url.Values{"staff": {"3"}, "kind": {"staff"}, "action": {"read"}, "from": {"2025-03-01"}, "to": {"1.3.2025"}}
	flt, errs := decodeAccessLogFilter(v, fi, loc)
	if v.Get("from") != "1.3.2025" {
		t.Errorf("a good date is shown back as %q, want it in Finnish", v.Get("from"))
	}
	if len(errs) != 0 || flt.StaffID != 3 || flt.SubjectKind != "staff" || flt.Action != "read" ||
		!flt.From.Equal(time.Date(2025, 3, 1, 0, 0, 0, 0, loc)) || !flt.To.Equal(time.Date(2025, 3, 2, 0, 0, 0, 0, loc)) {
		t.Fatalf("%+v %v", flt, errs)
	}
	_, errs = decodeAccessLogFilter(url.Values{"staff": {"x"}, "kind": {"Staff;"}, "action": {"drop"}, "from": {"30.2.2025"}}, fi, loc)
	want := forms.Errors{"staff": "form.not_a_number", "kind": "form.invalid_choice", "action": "form.invalid_choice", "from": "form.invalid_date"}
	for field, key := range want {
		if errs[field] != key {
			t.Errorf("%s: %q, want %q", field, errs[field], key)
		}
	}
	if _, errs = decodeAccessLogFilter(url.Values{"from": {"2025-03-02"}, "to": {"2025-03-01"}}, fi, loc); errs["to"] != "access_log.bad_range" {
		t.Errorf("reversed range: %v", errs)
	}
}

func FuzzDecodeAccessLogFilter(f *testing.F) {
	f.Add("staff=1&kind=staff&action=read&from=2025-01-01&to=2025-12-31")
	f.Add("staff=-1&from=9999-99-99")
	f.Add("from=%D9%A3%D9%A1/%D9%A1%D9%A2/%D9%A2%D9%A0%D9%A2%D9%A6")
	loc, _ := time.LoadLocation("Europe/Helsinki")
	ar := languageOf(f, "ar")
	f.Fuzz(func(t *testing.T, raw string) {
		flt, errs := decodeAccessLogFilter(values(raw), ar, loc)
		checkErrors(t, errs)
		if flt.StaffID < 0 || flt.SubjectKind != "" && !subjectKindPattern.MatchString(flt.SubjectKind) ||
			flt.Action != "" && !slices.Contains(accessLogActions, flt.Action) || flt.Limit != accessLogLimit {
			t.Errorf("accepted %+v", flt)
		}
		if !flt.From.IsZero() && !flt.To.IsZero() && !flt.From.Before(flt.To) {
			t.Errorf("accepted an empty range %v – %v", flt.From, flt.To)
		}
	})
}

func FuzzDecodePairForm(f *testing.F) {
	f.Add("code=1234-5678")
	f.Add("code=%EF%BC%91234")
	f.Fuzz(func(t *testing.T, raw string) {
		code, errs := decodePairForm(values(raw))
		checkErrors(t, errs)
		if code != "" && auth.NormalizePairCode(code) != code {
			t.Errorf("accepted code %q", code)
		}
		if len(errs) == 0 && code == "" {
			t.Error("accepted no code")
		}
	})
}
