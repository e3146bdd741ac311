package clients

import (
	"testing"
	"time"
)

func TestParseIdentityCode(t *testing.T) {
	good := []struct {
		in, code string
		birth    string
	}{
		{"131052-308T", "131052-308T", "1952-10-13"}, // DVV's own example
		{" 131052-308t ", "131052-308T", "1952-10-13"},
		{"010594Y9032", "010594Y9032", "1994-05-01"}, // the 2023 signs for the 1900s
		{"010594Y9021", "010594Y9021", "1994-05-01"},
		{"020594X903P", "020594X903P", "1994-05-02"},
		{"020594X902N", "020594X902N", "1994-05-02"},
		{"030594W903B", "030594W903B", "1994-05-03"},
		{"030694W9024", "030694W9024", "1994-06-03"},
		{"040594V9030", "040594V9030", "1994-05-04"},
		{"040594V902Y", "040594V902Y", "1994-05-04"},
		{"050594U903M", "050594U903M", "1994-05-05"},
		{"050594U902L", "050594U902L", "1994-05-05"},
		{"010516B903X", "010516B903X", "2016-05-01"}, // … and for the 2000s
		{"010516B902W", "010516B902W", "2016-05-01"},
		{"020516C903K", "020516C903K", "2016-05-02"},
		{"020516C902J", "020516C902J", "2016-05-02"},
		{"030516D9037", "030516D9037", "2016-05-03"},
		{"030516D9026", "030516D9026", "2016-05-03"},
		{"010501E9032", "010501E9032", "2001-05-01"},
		{"020502E902X", "020502E902X", "2002-05-02"},
		{"020503F9037", "020503F9037", "2003-05-02"},
		{"020504F902E", "020504F902E", "2004-05-02"},
		{"010101A123N", "010101A123N", "2001-01-01"},
		{"311299+998D", "311299+998D", "1899-12-31"},
		{"290200A233U", "290200A233U", "2000-02-29"}, // 2000 was a leap year
	}
	for _, g := range good {
		code, birth, ok := ParseIdentityCode(g.in)
		if !ok || code != g.code || birth.Format(time.DateOnly) != g.birth {
			t.Errorf("ParseIdentityCode(%q) = %q %s %v, want %q %s", g.in, code, birth.Format(time.DateOnly), ok, g.code, g.birth)
		}
	}
	bad := []string{
		"",
		"131052-308U",  // wrong check character
		"131052-308",   // too short
		"131052-308TT", // too long
		"131052G308T",  // G is no century sign
		"131052Z308T",
		"131052*308T",
		"321052-308T", // day 32
		"131352-308T", // month 13
		"290201A233V", // 29.2.2001 does not exist
		"131052-000X", // individual numbers 000 and 001 are never given
		"131052-0015",
		"13105a-308T",
		"١٣١٠٥٢-٣٠٨T", // digits of another script
		"131052–308T", // an en dash, not a hyphen
	}
	for _, in := range bad {
		if code, _, ok := ParseIdentityCode(in); ok {
			t.Errorf("ParseIdentityCode(%q) accepted as %q", in, code)
		}
	}
}

func TestMaskIdentityCode(t *testing.T) {
	if got := MaskIdentityCode("131052-308T"); got != "131052-****" {
		t.Errorf("mask: %q", got)
	}
	if got := MaskIdentityCode(""); got != "" {
		t.Errorf("mask of nothing: %q", got)
	}
}

// The validator never panics and accepts only what it can give back in
// canonical form, with a date of birth the code itself carries.
func FuzzParseIdentityCode(f *testing.F) {
	for _, s := range []string{"131052-308T", "010594Y9032", "010516B903X", "311299+998D", "290201A233V", "", "xxxxxxxxxxx", "131052-000X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, birth, ok := ParseIdentityCode(s)
		if !ok {
			return
		}
		again, birth2, ok2 := ParseIdentityCode(code)
		if !ok2 || again != code || !birth2.Equal(birth) {
			t.Fatalf("%q → %q is not stable: %q %v", s, code, again, ok2)
		}
		if got := birth.Format("020106"); got != code[:6] {
			t.Fatalf("%q: birth %s does not match the code", code, birth)
		}
		if MaskIdentityCode(code)[7:] != "****" {
			t.Fatalf("mask of %q shows the individual part", code)
		}
	})
}
