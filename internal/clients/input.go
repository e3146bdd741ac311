package clients

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
)

// Input is a client's information as a form, an import row or the API
// gives it, before Check has cleaned it.
type Input struct {
	ServicePointID      int64
	ExternalID          string
	FirstNames          string
	LastName            string
	NativeName          string
	BirthDate           time.Time // zero: not known
	IdentityCode        string    // "" on an update keeps the stored code…
	RemoveIdentityCode  bool      // … unless this is set
	Language            string
	InterpreterLanguage string
	Phone               string
	Email               string
	ResponsibleStaffID  int64
	Note                string
	// IfVersion, when not 0, makes Update refuse (sqldb.ErrStale) a
	// client changed since the caller read that version.
	IfVersion int
}

// UnreadableDate is the BirthDate of an Input whose writer sent a text that
// is no date (31 February, "tomorrow"): Check reports it as such, where a
// zero BirthDate means not known.
var UnreadableDate = time.Date(1, time.January, 2, 0, 0, 0, 0, time.UTC)

// Problems maps an Input field to the message id of what is wrong with it.
// The field names are those of the client form: first_names, last_name,
// native_name, birth_date, identity_code, language, interpreter_language,
// phone, email, note, service_point, responsible, external_id.
type Problems map[string]string

// InvalidError is what Create and Update return for input that Check
// refuses; errors.As finds it.
type InvalidError struct{ Problems Problems }

func (e *InvalidError) Error() string { return "clients: invalid input" }

// Language is a language code with its own name.
type Language struct{ Code, Name string }

// InterpreterLanguages are the languages an interpreter may be booked for:
// every language the portal serves, and those Finnish interpreting services
// are most often asked for beyond them.
var InterpreterLanguages = func() []Language {
	out := make([]Language, 0, len(i18n.Languages)+24)
	for _, l := range i18n.Languages {
		out = append(out, Language{l.Code, l.Name})
	}
	return append(out,
		Language{"fse", "Suomalainen viittomakieli"}, Language{"prs", "دری"}, Language{"ps", "پښتو"},
		Language{"ti", "ትግርኛ"}, Language{"am", "አማርኛ"}, Language{"kmr", "Kurmancî"}, Language{"tr", "Türkçe"},
		Language{"sq", "Shqip"}, Language{"fr", "Français"}, Language{"es", "Español"}, Language{"pt", "Português"},
		Language{"de", "Deutsch"}, Language{"pl", "Polski"}, Language{"ro", "Română"}, Language{"bg", "Български"},
		Language{"th", "ไทย"}, Language{"my", "မြန်မာ"}, Language{"ne", "नेपाली"}, Language{"bn", "বাংলা"},
		Language{"ur", "اردو"}, Language{"hi", "हिन्दी"}, Language{"ta", "தமிழ்"}, Language{"sw", "Kiswahili"},
		Language{"tl", "Tagalog"})
}()

func isPortalLanguage(code string) bool {
	return slices.ContainsFunc(i18n.Languages, func(l i18n.Language) bool { return l.Code == code })
}

func isInterpreterLanguage(code string) bool {
	return slices.ContainsFunc(InterpreterLanguages, func(l Language) bool { return l.Code == code })
}

// phoneChars are what people type in a phone number besides digits.
var phoneChars = regexp.MustCompile(`^\+?[0-9 ()./-]+$`)

// Check cleans the input in place and reports what is wrong with it,
// field by field, by the rules every way into the register shares (the
// form, the import, the API): texts are valid, one line (the note may
// have several) and not too long, at least one name is given, the
// languages are known, the phone number and e-mail address have their
// shape, the identity code is a valid Finnish one whose date of birth
// agrees with the one given (and gives it when none was). now bounds the
// date of birth.
func (in *Input) Check(now time.Time) Problems {
	p := Problems{}
	text := func(field string, v *string, required bool, max int) {
		var problem string
		if *v, problem = forms.Clean(*v, required, max); problem != "" {
			p[field] = problem
		}
	}
	text("first_names", &in.FirstNames, false, maxNameLen)
	text("last_name", &in.LastName, false, maxNameLen)
	text("native_name", &in.NativeName, false, maxNameLen)
	if in.FirstNames == "" && in.LastName == "" && p["first_names"] == "" && p["last_name"] == "" {
		p["last_name"] = "clients.error.name_required"
	}
	text("external_id", &in.ExternalID, false, maxExternalIDLength)
	var problem string
	if in.Note, problem = forms.CleanLines(in.Note, false, maxNoteLen); problem != "" {
		p["note"] = problem
	}
	if in.Email, problem = forms.CleanEmail(in.Email, false); problem != "" {
		p["email"] = problem
	}
	text("phone", &in.Phone, false, 40)
	if in.Phone != "" && p["phone"] == "" {
		in.Phone = strings.Join(strings.Fields(in.Phone), " ")
		digits := 0
		for _, r := range in.Phone {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if !phoneChars.MatchString(in.Phone) || digits < 5 || digits > 15 {
			p["phone"] = "clients.error.phone"
		}
	}
	in.Language = strings.TrimSpace(in.Language)
	switch {
	case in.Language == "":
		p["language"] = "form.required"
	case !isPortalLanguage(in.Language):
		p["language"] = "clients.error.language"
	}
	if in.InterpreterLanguage = strings.TrimSpace(in.InterpreterLanguage); in.InterpreterLanguage != "" && !isInterpreterLanguage(in.InterpreterLanguage) {
		p["interpreter_language"] = "clients.error.language"
	}
	if in.BirthDate.Equal(UnreadableDate) {
		p["birth_date"] = "form.invalid_date"
	} else if !in.BirthDate.IsZero() {
		y, m, d := in.BirthDate.Date()
		in.BirthDate = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if y < 1890 || in.BirthDate.After(now) {
			p["birth_date"] = "clients.error.birth_date"
		}
	}
	if strings.TrimSpace(in.IdentityCode) != "" {
		code, birth, ok := ParseIdentityCode(in.IdentityCode)
		switch {
		case !ok:
			p["identity_code"] = "clients.error.identity_code"
		case in.BirthDate.IsZero():
			in.BirthDate = birth
		case !in.BirthDate.Equal(birth) && p["birth_date"] == "":
			p["birth_date"] = "clients.error.birth_date_mismatch"
		}
		in.IdentityCode = code
	} else {
		in.IdentityCode = ""
	}
	if in.ServicePointID <= 0 {
		p["service_point"] = "form.required"
	}
	if in.ResponsibleStaffID < 0 {
		p["responsible"] = "form.invalid_choice"
	}
	if len(p) == 0 {
		return nil
	}
	return p
}
