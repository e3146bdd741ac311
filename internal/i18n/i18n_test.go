package i18n

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/koto-portal/portal/locales"
)

func TestEveryLanguageHasEveryMessage(t *testing.T) {
	for _, p := range Check(locales.FS) {
		t.Error(p)
	}
}

// Plural messages must give every form CLDR gives the language: localize
// each plural message the language has for many counts and catch the
// missing-form error.
func TestPluralFormsAreComplete(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := readMessages(locales.FS, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range Languages {
		loc := c.For(l)
		have, _ := readMessages(locales.FS, l.Code)
		for id, v := range ref {
			if _, ok := have[id]; !ok || v.Value[0] != '{' {
				continue
			}
			for _, n := range []any{0, 1, 2, 3, 5, 11, 21, 22, 25, 100, 101, 102, 111, 1000000, "1.5", "0.1"} {
				if _, err := loc.loc.Localize(localizeConfig(id, n)); err != nil {
					t.Errorf("%s: %s with count %v: %v", l.Code, id, n, err)
				}
			}
		}
	}
}

// Arabic counts 3 to 10 in the "few" form, 11 to 99 in "many": the wait's
// minute range must say each as Arabic does.
func TestArabicMinuteRangeFollowsItsPluralForms(t *testing.T) {
	c, _ := New(nil)
	ar, _ := c.Lookup("ar")
	tr := c.For(ar)
	few, many, other := tr.Plural("wait.estimate_range", 5, "Min", 3), tr.Plural("wait.estimate_range", 15, "Min", 10), tr.Plural("wait.estimate_range", 100, "Min", 90)
	if few == many || many == other || !strings.Contains(few, "5") || !strings.Contains(many, "15") {
		t.Errorf("Arabic range: 3–5 %q, 10–15 %q, 90–100 %q", few, many, other)
	}
}

func TestPluralFormsOfLanguages(t *testing.T) {
	for code, want := range map[string]string{"ar": "zero,one,two,few,many,other", "th": "other", "fa-AF": "one,other",
		"ti": "one,other", "fr": "one,many,other", "fi-x-selko": "one,other", "ku": "one,other"} {
		if got := strings.Join(PluralForms(code), ","); got != want {
			t.Errorf("PluralForms(%s) = %s, want %s", code, got, want)
		}
	}
}

// brokenCopy is the shipped message files with changes.
func brokenCopy(t *testing.T, change map[string]func(map[string]any)) fstest.MapFS {
	t.Helper()
	broken := fstest.MapFS{}
	err := fs.WalkDir(locales.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(locales.FS, p)
		broken[p] = &fstest.MapFile{Data: b}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range change {
		var m map[string]any
		if err := json.Unmarshal(broken[name].Data, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		broken[name].Data, _ = json.Marshal(m)
	}
	return broken
}

// The checks above must be able to fail: feed them a broken copy.
func TestCatalogCheckCatchesBrokenFiles(t *testing.T) {
	broken := brokenCopy(t, map[string]func(map[string]any){
		"core.sv.json": func(sv map[string]any) {
			delete(sv, "start.title")
			sv["error.home"] = "  "
			sv["error.reference"] = "Referens: {{.Id}}"
		},
		"walkin.th.json": func(th map[string]any) {
			delete(th, "kiosk.title")
			th["queue.heading"] = "คิว"
		},
		"walkin.ar.json": func(ar map[string]any) {
			delete(ar["kiosk.ahead"].(map[string]any), "few")
		},
		"walkin.fi-x-selko.json": func(fi map[string]any) {
			fi["kiosk.done"] = ""
			fi["kiosk.interpreter_yes"] = "Kyllä, {{.Kieli}}"
		},
	})
	problems := strings.Join(Check(broken), "\n")
	for _, want := range []string{"sv: missing start.title", "sv: empty error.home", "sv: placeholders of error.reference",
		"th: missing kiosk.title", "th: queue.heading is for staff", "ar: kiosk.ahead lacks the plural form few",
		"fi-x-selko: empty kiosk.done", "fi-x-selko: placeholders of kiosk.interpreter_yes"} {
		if !strings.Contains(problems, want) {
			t.Errorf("check did not report %q; it reported:\n%s", want, problems)
		}
	}
	if strings.Contains(problems, "fi-x-selko: missing") {
		t.Errorf("a plain variant may leave texts to its base, but:\n%s", problems)
	}
}

// A plain variant shows its base language's text where it has none, never
// the default's: plain Swedish falls back to Swedish.
func TestPlainVariantFallsBackToItsBase(t *testing.T) {
	broken := brokenCopy(t, map[string]func(map[string]any){
		"core.sv-x-lattlast.json": func(m map[string]any) { delete(m, "error.home"); m["start.title"] = "Hej och välkommen" },
	})
	c, err := Load(broken, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := c.Lookup("sv-x-lattlast")
	sv, _ := c.Lookup("sv")
	tr := c.For(l)
	if got, want := tr.Get("error.home"), c.For(sv).Get("error.home"); got != want {
		t.Errorf("missing plain Swedish text gave %q, want the Swedish %q", got, want)
	}
	if got := tr.Get("start.title"); got != "Hej och välkommen" {
		t.Errorf("plain Swedish own text: %q", got)
	}
}

func TestNegotiation(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Staff pages negotiate among the languages they are written in.
	cases := []struct {
		staff                       bool
		query, cookie, accept, want string
	}{
		{false, "sv", "ar", "en", "sv"},
		{false, "", "ar", "en", "ar"},
		{false, "", "", "ar-EG,ar;q=0.9,en;q=0.5", "ar"},
		{false, "", "", "zh-CN,zh;q=0.9", "zh-Hans"},
		{false, "", "", "ckb", "ckb"},
		{false, "", "", "de-DE,de", "fi"},
		{false, "xx", "", "", "fi"},
		{false, "", "", "not a header ;;;", "fi"},
		{false, "SV", "", "", "sv"},
		{false, "fi-x-selko", "", "", "fi-x-selko"},
		{false, "prs", "", "", "fa-AF"},
		{false, "", "", "prs", "fa-AF"},
		{false, "", "", "fa-AF,fa;q=0.5", "fa-AF"},
		{false, "", "", "fa-IR", "fa"},
		{false, "kmr", "", "", "ku"},
		{false, "", "", "kmr", "ku"},
		{false, "", "", "ti-ER", "ti"},
		{false, "", "", "fi", "fi"},
		{true, "th", "", "", "en"},
		{true, "fi-x-selko", "", "", "fi"},
		{true, "sv-x-lattlast", "", "", "sv"},
		{true, "", "", "th,sv;q=0.5", "sv"},
		{true, "ru", "", "", "ru"},
	}
	for _, tc := range cases {
		negotiate, name := c.Negotiate, "Negotiate"
		if tc.staff {
			negotiate, name = c.NegotiateStaff, "NegotiateStaff"
		}
		if got := negotiate(tc.query, tc.cookie, tc.accept).Code; got != tc.want {
			t.Errorf("%s(%q,%q,%q) = %s, want %s", name, tc.query, tc.cookie, tc.accept, got, tc.want)
		}
	}
	for _, code := range []string{"ar", "fa", "ckb", "fa-AF"} {
		if l, _ := c.Lookup(code); l.Dir() != "rtl" {
			t.Errorf("%s is not right-to-left", code)
		}
	}
	for _, code := range []string{"fi", "ku", "ti", "th"} {
		if l, _ := c.Lookup(code); l.Dir() != "ltr" {
			t.Errorf("%s is not left-to-right", code)
		}
	}
}

func TestTranslatorFillsPlaceholders(t *testing.T) {
	c, _ := New(nil)
	en, _ := c.Lookup("en")
	if got := c.For(en).Get("error.reference", "ID", "abc123"); got != "Reference for support: abc123" {
		t.Fatalf("got %q", got)
	}
	if got := c.For(en).Get("no.such.key"); got != "no.such.key" {
		t.Fatalf("missing key gave %q", got)
	}
}

// Every translation has a glossary of the domain's words, the same words in
// each, every one with its term.
func TestEveryTranslationHasAGlossary(t *testing.T) {
	var want []string
	for _, l := range Languages {
		if IsSource(l.Code) {
			continue
		}
		b, err := fs.ReadFile(locales.FS, "glossary/"+l.Code+".json")
		if err != nil {
			t.Errorf("%s: no glossary: %v", l.Code, err)
			continue
		}
		var g struct {
			Terms []struct{ En, Term string }
		}
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatalf("%s: %v", l.Code, err)
		}
		var words []string
		for _, term := range g.Terms {
			if strings.TrimSpace(term.Term) == "" {
				t.Errorf("%s: no term for %q", l.Code, term.En)
			}
			words = append(words, term.En)
		}
		if want == nil {
			want = words
		} else if strings.Join(words, "|") != strings.Join(want, "|") {
			t.Errorf("%s: the glossary's words are %v, others have %v", l.Code, words, want)
		}
	}
}
