package portal

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
)

func TestDecodeClientForm(t *testing.T) {
	fi := i18n.Languages[0]
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	v := url.Values{"first_names": {" Amina "}, "last_name": {"Warsame"}, "birth_date": {"1.5.1994"}, "identity_code": {"010594Y9032"},
		"language": {"so"}, "phone": {"040 123 4567"}, "service_point": {"3"}, "responsible": {"7"}, "note": {"a\r\nb"}}
	in, errs := decodeClientForm(v, fi, now)
	if len(errs) != 0 || in.BirthDate.Format(time.DateOnly) != "1994-05-01" || in.ServicePointID != 3 || in.ResponsibleStaffID != 7 {
		t.Fatalf("good form: %+v %v", in, errs)
	}
	// A date the page cannot read comes back with the register's own
	// problems of the other fields, all at once.
	v.Set("birth_date", "31.2.1994")
	v.Set("last_name", "")
	v.Set("first_names", "")
	v.Set("identity_code", "010594Y9033")
	_, errs = decodeClientForm(v, fi, now)
	want := forms.Errors{"birth_date": "form.invalid_date", "last_name": "clients.error.name_required", "identity_code": "clients.error.identity_code"}
	for k, key := range want {
		if errs[k] != key {
			t.Errorf("%s: %q, want %q (all: %v)", k, errs[k], key, errs)
		}
	}
}

// fuzzLanguage picks a page language by a fuzzed number.
func fuzzLanguage(i int) i18n.Language {
	if i < 0 {
		i = -(i + 1)
	}
	return i18n.Languages[i%len(i18n.Languages)]
}

var (
	storedCode  = regexp.MustCompile(`^[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]$`)
	storedPhone = regexp.MustCompile(`^\+?[0-9 ()./-]+$`)
)

// Whatever is sent as the client form, the page and the register together
// either refuse it with messages that exist, or accept what the database's
// own checks accept: clean text within the limits, a valid identity code
// whose date agrees with the date of birth, a known language.
func FuzzDecodeClientForm(f *testing.F) {
	f.Add("first_names=Oleksandr&last_name=Shevchenko&language=uk&service_point=1&identity_code=010594Y9032&birth_date=1.5.1994", 0)
	f.Add("last_name=%D8%A3%D8%AD%D9%85%D8%AF&language=ar&service_point=2&phone=%2B358+40+123+4567&email=A%40B.fi", 5)
	f.Add("last_name=x&language=fi&service_point=1&note=one%0D%0Atwo&interpreter_language=ti", 2)
	f.Fuzz(func(t *testing.T, raw string, langIndex int) {
		lang := fuzzLanguage(langIndex)
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		in, errs := decodeClientForm(values(raw), lang, now)
		checkErrors(t, errs)
		if len(errs) > 0 {
			return
		}
		if p := in.Check(now); p != nil {
			checkErrors(t, forms.Errors(p))
			return
		}
		for name, s := range map[string]string{"first_names": in.FirstNames, "last_name": in.LastName, "native_name": in.NativeName, "phone": in.Phone} {
			checkText(t, name, s, 200)
		}
		if in.FirstNames == "" && in.LastName == "" {
			t.Error("accepted without a name")
		}
		if !utf8.ValidString(in.Note) || utf8.RuneCountInString(in.Note) > 4000 || strings.Contains(in.Note, "\r") {
			t.Errorf("note accepted: %q", in.Note)
		}
		if in.IdentityCode != "" {
			code, birth, ok := clients.ParseIdentityCode(in.IdentityCode)
			if !ok || code != in.IdentityCode || !storedCode.MatchString(code) || !birth.Equal(in.BirthDate) {
				t.Errorf("identity code %q accepted with birth date %s", in.IdentityCode, in.BirthDate)
			}
		}
		if in.BirthDate.After(now) || !in.BirthDate.IsZero() && in.BirthDate.Year() < 1890 {
			t.Errorf("birth date %s accepted", in.BirthDate)
		}
		if in.Phone != "" && !storedPhone.MatchString(in.Phone) {
			t.Errorf("phone %q accepted", in.Phone)
		}
		if in.Email != strings.ToLower(in.Email) || len(in.Email) > 254 {
			t.Errorf("e-mail %q accepted", in.Email)
		}
		if in.ServicePointID <= 0 || in.ResponsibleStaffID < 0 {
			t.Errorf("ids %d %d accepted", in.ServicePointID, in.ResponsibleStaffID)
		}
	})
}

// The contact form accepts only a contact the register accepts too, or
// refuses it with messages that exist.
func FuzzDecodeContactForm(f *testing.F) {
	f.Add("date=30.11.2026&time=10%3A15&channel=phone&summary=Soitettiin", 0)
	f.Add("date=2026-11-30&time=24%3A00&channel=fax&summary=", 2)
	f.Add("date=30%2F11%2F2026&time=09%3A00&channel=home_visit&interpreter_used=1&interpreter_language=ar&summary=%D8%B2%D9%8A%D8%A7%D8%B1%D8%A9", 5)
	f.Fuzz(func(t *testing.T, raw string, langIndex int) {
		lang := fuzzLanguage(langIndex)
		fm := forms.New(values(raw))
		in := decodeContactForm(fm, lang)
		checkErrors(t, fm.Errors)
		if !fm.OK() {
			return
		}
		if in.OccurredAt.IsZero() || in.OccurredAt.Location() != helsinki {
			t.Errorf("time %v accepted", in.OccurredAt)
		}
		if p := in.Check(in.OccurredAt); p != nil {
			checkErrors(t, forms.Errors(p))
			return
		}
		if in.Summary == "" || utf8.RuneCountInString(in.Summary) > 2000 || !utf8.ValidString(in.Summary) {
			t.Errorf("summary %q accepted", in.Summary)
		}
		if !in.InterpreterUsed && in.InterpreterLanguage != "" {
			t.Errorf("interpreter language %q kept without an interpreter", in.InterpreterLanguage)
		}
	})
}
