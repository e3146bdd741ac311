package forms

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestTextChecks(t *testing.T) {
	cases := []struct {
		in, want, err string
		required      bool
	}{
		{"  Asumisasiat ", "Asumisasiat", "", true},
		{"", "", "form.required", true},
		{"   ", "", "form.required", true},
		{"", "", "", false},
		{strings.Repeat("ä", 41), "", "form.too_long", true},
		{strings.Repeat("ä", 40), strings.Repeat("ä", 40), "", true},
		{"bad\xff\xfe", "", "form.invalid_text", true},
		{"line\nbreak", "", "form.invalid_text", true},
		{"nul\x00", "", "form.invalid_text", true},
		{"<script>alert(1)</script>", "<script>alert(1)</script>", "", true}, // kept as text; templates escape it
		{"السكن", "السكن", "", true},
		// Direction overrides and isolates make a name show as other letters.
		{"Ali\u202Eecila", "", "form.invalid_text", true},
		{"\u202Dname", "", "form.invalid_text", true},
		{"a\u202Ab", "", "form.invalid_text", true},
		{"a\u202Bb", "", "form.invalid_text", true},
		{"a\u202Cb", "", "form.invalid_text", true},
		{"a\u2066b\u2069", "", "form.invalid_text", true},
		{"a\u2067b", "", "form.invalid_text", true},
		{"a\u2068b", "", "form.invalid_text", true},
		// The plain marks only place punctuation next to right-to-left text.
		{"السكن\u200F (2)", "السكن\u200F (2)", "", true},
		{"Ali\u200E", "Ali\u200E", "", true},
	}
	for _, tc := range cases {
		f := New(url.Values{"name": {tc.in}})
		got := f.Text("name", tc.required, 40)
		if got != tc.want || f.Errors["name"] != tc.err {
			t.Errorf("Text(%q) = %q, %q; want %q, %q", tc.in, got, f.Errors["name"], tc.want, tc.err)
		}
		if tc.err != "" && f.Raw("name") == "" && strings.TrimSpace(tc.in) != "" {
			t.Errorf("Raw lost what was typed: %q", tc.in)
		}
	}
}

func TestNumbersChoicesEmail(t *testing.T) {
	f := New(url.Values{"n": {"12"}, "bad": {"12x"}, "big": {"99999"}, "c": {"b"}, "cx": {"z"},
		"e": {"Liisa.Virtanen@Example.FI"}, "ebad": {"liisa@"}, "ids": {"1", "2"}, "idsbad": {"1", "-3"},
		"slug": {"itakeskus-2"}, "slugbad": {"Itäkeskus"}, "t": {"08:30"}, "tbad": {"25:00"}})
	if n, ok := f.Int("n", true, 1, 100); !ok || n != 12 {
		t.Error("Int n")
	}
	f.Int("bad", true, 1, 100)
	f.Int("big", true, 1, 100)
	if f.Choice("c", true, "a", "b") != "b" {
		t.Error("Choice c")
	}
	f.Choice("cx", true, "a", "b")
	if f.Email("e", true) != "liisa.virtanen@example.fi" {
		t.Error("Email e")
	}
	f.Email("ebad", true)
	if ids := f.IDs("ids"); len(ids) != 2 || ids[1] != 2 {
		t.Error("IDs")
	}
	f.IDs("idsbad")
	if f.Slug("slug", true) != "itakeskus-2" {
		t.Error("Slug")
	}
	f.Slug("slugbad", true)
	if f.Clock("t", true) != "08:30" {
		t.Error("Clock")
	}
	f.Clock("tbad", true)
	want := Errors{"bad": "form.not_a_number", "big": "form.out_of_range", "cx": "form.invalid_choice",
		"ebad": "form.invalid_email", "idsbad": "form.invalid_choice", "slugbad": "form.invalid_slug", "tbad": "form.invalid_time"}
	for k, v := range want {
		if f.Errors[k] != v {
			t.Errorf("%s: error %q, want %q", k, f.Errors[k], v)
		}
	}
	if len(f.Errors) != len(want) {
		t.Errorf("errors %v", f.Errors)
	}
}

// FuzzText: whatever is typed, an accepted value is valid UTF-8, one line,
// within its length, and free of control characters and direction overrides.
func FuzzText(f *testing.F) {
	for _, seed := range []string{"Asumisasiat", "السكن", "Ali\u202Eecila", "\u2066x\u2069", "a\u202Ab\u202C",
		"\u2067\u2068", "x\u200Fy", "\xff", "tab\tin", "\u2028", " \u202E ", strings.Repeat("ä", 41)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		form := New(url.Values{"name": {in}})
		got := form.Text("name", false, 40)
		if got == "" {
			return
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > 40 || got != strings.TrimSpace(got) {
			t.Fatalf("Text(%q) kept %q", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069' {
				t.Fatalf("Text(%q) kept %U", in, r)
			}
		}
	})
}
