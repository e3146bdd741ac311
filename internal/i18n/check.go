package i18n

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// OptionalPlaceholders are placeholders a translation may place where its
// grammar wants them or leave out: the interpreter's sentence names the
// spoken language only where it reads naturally.
var OptionalPlaceholders = map[string][]string{
	"kiosk.interpreter_yes": {"Language"},
}

var placeholder = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

// placeholdersOf lists the placeholders of a message value, the optional
// ones of id left out.
func placeholdersOf(id string, v json.RawMessage) []string {
	set := map[string]bool{}
	collect := func(s string) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		collect(s)
	} else {
		var forms map[string]string
		_ = json.Unmarshal(v, &forms)
		for k, f := range forms {
			if k != "description" {
				collect(f)
			}
		}
	}
	for _, o := range OptionalPlaceholders[id] {
		delete(set, o)
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// PluralForms lists the CLDR plural forms a language's plural messages
// need, as go-i18n chooses them: a probe message with every form, asked
// for many counts.
func PluralForms(code string) []string {
	tag := language.MustParse(code)
	b := i18n.NewBundle(tag)
	if err := b.AddMessages(tag, &i18n.Message{ID: "p", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}); err != nil {
		return []string{"other"}
	}
	loc := i18n.NewLocalizer(b, code)
	set := map[string]bool{}
	var counts []any
	for n := 0; n <= 200; n++ {
		counts = append(counts, n)
	}
	counts = append(counts, 1000, 1000000, 101000, "0.1", "1.5", "2.5")
	for _, n := range counts {
		if s, err := loc.Localize(&i18n.LocalizeConfig{MessageID: "p", PluralCount: n}); err == nil {
			set[s] = true
		}
	}
	var out []string
	for _, f := range pluralOrder {
		if set[f] {
			out = append(out, f)
		}
	}
	return out
}

// checkValue finds what is wrong with one translated message against its
// English original: empty text, other placeholders, missing plural forms.
func checkValue(code, id string, en, v json.RawMessage) []string {
	var problems []string
	var s string
	enForms := map[string]string{}
	if json.Unmarshal(en, &s) != nil {
		_ = json.Unmarshal(en, &enForms)
	}
	forms := map[string]string{}
	if json.Unmarshal(v, &s) == nil {
		if len(enForms) > 0 {
			return []string{code + ": " + id + " needs plural forms"}
		}
		if strings.TrimSpace(s) == "" {
			problems = append(problems, code+": empty "+id)
		}
	} else if err := json.Unmarshal(v, &forms); err != nil {
		return []string{code + ": " + id + " is neither a text nor plural forms"}
	} else if len(enForms) == 0 {
		return []string{code + ": " + id + " has plural forms, English has none"}
	} else {
		need := PluralForms(code)
		for _, f := range need {
			if strings.TrimSpace(forms[f]) == "" {
				problems = append(problems, code+": "+id+" lacks the plural form "+f)
			}
		}
		for f := range forms {
			if f != "description" && !slices.Contains(need, f) {
				problems = append(problems, code+": "+id+" has the plural form "+f+", which the language does not use")
			}
		}
	}
	want, have := placeholdersOf(id, en), placeholdersOf(id, v)
	if strings.Join(want, ",") != strings.Join(have, ",") {
		// A plural form for one may say "one" instead of {{.Count}}.
		if len(forms) == 0 || !sameIgnoringCount(want, have) {
			problems = append(problems, code+": placeholders of "+id+" are "+strings.Join(have, ",")+", English has "+strings.Join(want, ","))
		}
	}
	return problems
}

func sameIgnoringCount(a, b []string) bool {
	strip := func(x []string) string {
		return strings.Join(slices.DeleteFunc(slices.Clone(x), func(s string) bool { return s == "Count" }), ",")
	}
	return strip(a) == strip(b)
}

// Check returns every problem in a set of message files, against English:
// a language the staff pages are written in needs every message, any other
// language every message visitors and clients see, and a plain-language
// variant needs none (its base stands in), but what a language has must be
// complete, in the same file as English and with English's placeholders.
func Check(fsys fs.FS) []string {
	ref, err := readMessages(fsys, "en")
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, l := range Languages {
		if l.Code == "en" {
			continue
		}
		m, err := readMessages(fsys, l.Code)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for id, en := range ref {
			got, ok := m[id]
			required := l.Staff || (l.Base == "" && ForVisitors(en.Area, id))
			switch {
			case !ok && required:
				problems = append(problems, l.Code+": missing "+id)
			case ok:
				problems = append(problems, checkValue(l.Code, id, en.Value, got.Value)...)
				if got.Area != en.Area {
					problems = append(problems, l.Code+": "+id+" is in "+got.Area+", English has it in "+en.Area)
				}
			}
		}
		for id, v := range m {
			if _, ok := ref[id]; !ok {
				problems = append(problems, l.Code+": "+id+" is not in English")
			} else if !l.Staff && !ForVisitors(v.Area, id) {
				problems = append(problems, l.Code+": "+id+" is for staff, whose pages are not written in "+l.Code)
			}
		}
	}
	sort.Strings(problems)
	return problems
}
