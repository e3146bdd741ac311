// Package forms owns checking what people type: each field is read from the
// submitted values, trimmed, checked (valid UTF-8, no control characters or
// direction overrides, length in characters, the right kind) and either kept
// or given an error key that the web layer translates. What was typed is always kept, so a
// form with an error comes back filled in.
package forms

import (
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Errors maps a field name to the message id of its problem.
type Errors map[string]string

// Form reads one submission.
type Form struct {
	Values url.Values
	Errors Errors
}

// New wraps submitted values.
func New(v url.Values) *Form { return &Form{Values: v, Errors: Errors{}} }

// OK tells whether no field had a problem.
func (f *Form) OK() bool { return len(f.Errors) == 0 }

// Fail records a problem on a field unless it already has one.
func (f *Form) Fail(field, key string) {
	if _, ok := f.Errors[field]; !ok {
		f.Errors[field] = key
	}
}

// Raw is what was typed, for showing back; invalid UTF-8 is made valid so
// the page can show it.
func (f *Form) Raw(field string) string {
	return strings.ToValidUTF8(f.Values.Get(field), "\uFFFD")
}

// Text reads a text field: required or not, at most max characters, one line.
func (f *Form) Text(field string, required bool, max int) string {
	return f.keep(field)(Clean(f.Values.Get(field), required, max))
}

// Lines reads a text area: Text, but line breaks may separate lines.
func (f *Form) Lines(field string, required bool, max int) string {
	return f.keep(field)(CleanLines(f.Values.Get(field), required, max))
}

// keep records a cleaning's problem on field and passes its value on.
func (f *Form) keep(field string) func(value, problem string) string {
	return func(value, problem string) string {
		if problem != "" {
			f.Fail(field, problem)
		}
		return value
	}
}

// Clean checks one line of typed text outside any form (an imported
// cell, an API field) by the rules Text applies: valid UTF-8, trimmed,
// required or not, at most max characters, no control characters or
// direction overrides. It returns the text, or "" and the message id of
// its problem.
func Clean(raw string, required bool, max int) (value, problem string) {
	return clean(raw, required, max, false)
}

// CleanLines is Clean for text of several lines; line breaks come back as
// "\n" alone.
func CleanLines(raw string, required bool, max int) (value, problem string) {
	return clean(strings.ReplaceAll(raw, "\r\n", "\n"), required, max, true)
}

func clean(raw string, required bool, max int, lines bool) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "form.invalid_text"
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		if required {
			return "", "form.required"
		}
		return "", ""
	}
	if utf8.RuneCountInString(s) > max {
		return "", "form.too_long"
	}
	for _, r := range s {
		if lines && r == '\n' {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || isDirectionOverride(r) {
			return "", "form.invalid_text"
		}
	}
	return s, ""
}

// isDirectionOverride tells the invisible embedding, override and isolate
// controls (U+202A–U+202E, U+2066–U+2069), which make a name display as
// something other than its letters ("Ali" shown backwards, a file name
// whose end reads as its start) and spill into the text around it. The
// plain marks (U+200E, U+200F, U+061C) stay allowed: they only nudge
// punctuation next to right-to-left script and override nothing.
func isDirectionOverride(r rune) bool {
	return r >= '\u202A' && r <= '\u202E' || r >= '\u2066' && r <= '\u2069'
}

// Int reads a whole number within [min, max].
func (f *Form) Int(field string, required bool, min, max int64) (int64, bool) {
	s := strings.TrimSpace(f.Values.Get(field))
	if s == "" {
		if required {
			f.Fail(field, "form.required")
		}
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f.Fail(field, "form.not_a_number")
		return 0, false
	}
	if n < min || n > max {
		f.Fail(field, "form.out_of_range")
		return 0, false
	}
	return n, true
}

// IDs reads a list of positive ids (checkboxes sharing a name).
func (f *Form) IDs(field string) []int64 {
	var out []int64
	for _, s := range f.Values[field] {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n <= 0 {
			f.Fail(field, "form.invalid_choice")
			return nil
		}
		out = append(out, n)
	}
	return out
}

// Choice reads one value that must be among allowed.
func (f *Form) Choice(field string, required bool, allowed ...string) string {
	s := strings.TrimSpace(f.Values.Get(field))
	if s == "" {
		if required {
			f.Fail(field, "form.required")
		}
		return ""
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	f.Fail(field, "form.invalid_choice")
	return ""
}

// Choices reads several values that must each be among allowed.
func (f *Form) Choices(field string, allowed ...string) []string {
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range f.Values[field] {
		s = strings.TrimSpace(s)
		if !ok[s] {
			f.Fail(field, "form.invalid_choice")
			return nil
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Bool reads a checkbox.
func (f *Form) Bool(field string) bool {
	switch f.Values.Get(field) {
	case "1", "on", "true", "yes":
		return true
	}
	return false
}

// Email reads an e-mail address, lower-cased.
func (f *Form) Email(field string, required bool) string {
	return f.keep(field)(CleanEmail(f.Values.Get(field), required))
}

// CleanEmail is Clean for an e-mail address, which comes back lower-cased.
func CleanEmail(raw string, required bool) (value, problem string) {
	s, problem := Clean(raw, required, 254)
	if s == "" {
		return "", problem
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndex(s, "@"):], ".") {
		return "", "form.invalid_email"
	}
	return strings.ToLower(s), ""
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Slug reads a short address name: lower-case letters, digits and dashes.
func (f *Form) Slug(field string, required bool) string {
	s := f.Text(field, required, 63)
	if s == "" {
		return ""
	}
	if !slugPattern.MatchString(s) {
		f.Fail(field, "form.invalid_slug")
		return ""
	}
	return s
}

var clock = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

// Clock reads a time of day as HH:MM.
func (f *Form) Clock(field string, required bool) string {
	s := f.Text(field, required, 5)
	if s == "" {
		return ""
	}
	if !clock.MatchString(s) {
		f.Fail(field, "form.invalid_time")
		return ""
	}
	return s
}
