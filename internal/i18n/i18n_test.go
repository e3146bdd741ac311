package i18n

import (
	"encoding/json"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/koto-portal/portal/locales"
)

// messages reads every message file of one language as id → plain text
// or plural forms; an id defined twice is an error.
func messages(t *testing.T, fsys fs.FS, code string) map[string]any {
	t.Helper()
	names, err := fs.Glob(fsys, "*."+code+".json")
	if err != nil || len(names) == 0 {
		t.Fatalf("%s: no message files", code)
	}
	all := map[string]any{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for k, v := range m {
			if _, dup := all[k]; dup {
				t.Errorf("%s: %s is defined in two files", name, k)
			}
			all[k] = v
		}
	}
	return all
}

var placeholder = regexp.MustCompile(`{{\s*\.(\w+)\s*}}`)

func placeholders(v any) []string {
	set := map[string]bool{}
	collect := func(s string) {
		for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	}
	switch x := v.(type) {
	case string:
		collect(x)
	case map[string]any:
		for k, f := range x {
			if s, ok := f.(string); ok && k != "description" {
				collect(s)
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkCatalog returns every problem in a set of message files, against
// English as the reference.
func checkCatalog(t *testing.T, fsys fs.FS) []string {
	var problems []string
	ref := messages(t, fsys, "en")
	for _, l := range Languages {
		m := messages(t, fsys, l.Code)
		for id, v := range ref {
			got, ok := m[id]
			if !ok {
				problems = append(problems, l.Code+": missing "+id)
				continue
			}
			if s, ok := got.(string); ok && strings.TrimSpace(s) == "" {
				problems = append(problems, l.Code+": empty "+id)
			}
			if want, have := placeholders(v), placeholders(got); strings.Join(want, ",") != strings.Join(have, ",") {
				// Plural "one" forms may drop {{.Count}} ("one day"), but
				// nothing else may differ.
				if _, plural := got.(map[string]any); !plural || !sameIgnoringCount(want, have) {
					problems = append(problems, l.Code+": placeholders of "+id+" are "+strings.Join(have, ",")+", English has "+strings.Join(want, ","))
				}
			}
		}
		for id := range m {
			if _, ok := ref[id]; !ok {
				problems = append(problems, l.Code+": "+id+" is not in English")
			}
		}
	}
	return problems
}

func sameIgnoringCount(a, b []string) bool {
	strip := func(x []string) string {
		var out []string
		for _, s := range x {
			if s != "Count" {
				out = append(out, s)
			}
		}
		return strings.Join(out, ",")
	}
	return strip(a) == strip(b)
}

func TestEveryLanguageHasEveryMessage(t *testing.T) {
	for _, p := range checkCatalog(t, locales.FS) {
		t.Error(p)
	}
}

// Plural messages must have every form CLDR gives the language: localize
// each plural message for many counts and catch the missing-form error.
func TestPluralFormsAreComplete(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := messages(t, locales.FS, "en")
	for _, l := range Languages {
		loc := c.For(l)
		for id, v := range ref {
			if _, plural := v.(map[string]any); !plural {
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

// The checks above must be able to fail: feed them a broken copy.
func TestCatalogCheckCatchesBrokenFiles(t *testing.T) {
	broken := fstest.MapFS{}
	entries, _ := fs.ReadDir(locales.FS, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(locales.FS, e.Name())
		broken[e.Name()] = &fstest.MapFile{Data: b}
	}
	var sv map[string]any
	_ = json.Unmarshal(broken["core.sv.json"].Data, &sv)
	delete(sv, "start.title")
	sv["error.home"] = "  "
	sv["error.reference"] = "Referens: {{.Id}}"
	broken["core.sv.json"].Data, _ = json.Marshal(sv)
	problems := strings.Join(checkCatalog(t, broken), "\n")
	for _, want := range []string{"sv: missing start.title", "sv: empty error.home", "sv: placeholders of error.reference"} {
		if !strings.Contains(problems, want) {
			t.Errorf("check did not report %q; it reported:\n%s", want, problems)
		}
	}
}

func TestNegotiation(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ query, cookie, accept, want string }{
		{"sv", "ar", "en", "sv"},
		{"", "ar", "en", "ar"},
		{"", "", "ar-EG,ar;q=0.9,en;q=0.5", "ar"},
		{"", "", "zh-CN,zh;q=0.9", "zh-Hans"},
		{"", "", "ckb", "ckb"},
		{"", "", "de-DE,de", "fi"},
		{"xx", "", "", "fi"},
		{"", "", "not a header ;;;", "fi"},
		{"SV", "", "", "sv"},
	}
	for _, tc := range cases {
		if got := c.Negotiate(tc.query, tc.cookie, tc.accept).Code; got != tc.want {
			t.Errorf("Negotiate(%q,%q,%q) = %s, want %s", tc.query, tc.cookie, tc.accept, got, tc.want)
		}
	}
	for _, code := range []string{"ar", "fa", "ckb"} {
		if l, _ := c.Lookup(code); l.Dir() != "rtl" {
			t.Errorf("%s is not right-to-left", code)
		}
	}
	if l, _ := c.Lookup("fi"); l.Dir() != "ltr" {
		t.Error("fi is not left-to-right")
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
