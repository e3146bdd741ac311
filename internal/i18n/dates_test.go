package i18n

import (
	"strings"
	"testing"
	"time"
)

func lang(t *testing.T, code string) Language {
	t.Helper()
	for _, l := range Languages {
		if l.Code == code {
			return l
		}
	}
	t.Fatalf("no language %q", code)
	return Language{}
}

func TestFormatDate(t *testing.T) {
	early, late := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct{ code, early, late string }{
		{"fi", "5.3.2026", "30.11.2026"},
		{"sv", "2026-03-05", "2026-11-30"},
		{"en", "2026-03-05", "2026-11-30"},
		{"ru", "05.03.2026", "30.11.2026"},
		{"et", "05.03.2026", "30.11.2026"},
		{"uk", "05.03.2026", "30.11.2026"},
		{"ar", "05/03/2026", "30/11/2026"},
		{"ckb", "05/03/2026", "30/11/2026"},
		{"so", "05/03/2026", "30/11/2026"},
		{"vi", "05/03/2026", "30/11/2026"},
		{"fa", "2026/03/05", "2026/11/30"},
		{"zh-Hans", "2026/03/05", "2026/11/30"},
	} {
		l := lang(t, c.code)
		if got := l.FormatDate(early); got != c.early {
			t.Errorf("%s: %q, want %q", c.code, got, c.early)
		}
		if got := l.FormatDate(late); got != c.late {
			t.Errorf("%s: %q, want %q", c.code, got, c.late)
		}
	}
}

func TestParseDate(t *testing.T) {
	helsinki, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		code, in string
		want     string // yyyy-mm-dd, or "" when the input must be refused
	}{
		{"fi", "30.11.2026", "2026-11-30"},
		{"fi", "1.2.2026", "2026-02-01"},
		{"fi", " 01.02.2026 ", "2026-02-01"},
		{"fi", "2026-11-30", "2026-11-30"}, // ISO in every language
		{"fi", "30112026", "2026-11-30"},   // a number pad without separators
		{"fi", "30/11/2026", "2026-11-30"},
		{"fi", "31.11.2026", ""}, // no such day
		{"fi", "29.2.2026", ""},
		{"fi", "29.2.2028", "2028-02-29"},
		{"fi", "30.11.26", ""}, // a two-digit year is a guess
		{"fi", "30.11.2026.", "2026-11-30"},
		{"fi", "30.11", ""},
		{"fi", "30.11.2026 12:00", ""},
		{"fi", "huomenna", ""},
		{"fi", "", ""},
		{"fi", "0030.11.2026", ""},
		{"sv", "2026-11-30", "2026-11-30"},
		{"sv", "20261130", "2026-11-30"},
		{"sv", "30.11.2026", ""}, // Swedish puts the year first
		{"en", "2026-11-30", "2026-11-30"},
		{"en", "11/30/2026", ""}, // never the US order
		{"en", "30/11/2026", ""}, // nor the British one: ISO only
		{"ru", "30.11.2026", "2026-11-30"},
		{"ar", "30/11/2026", "2026-11-30"},
		{"ar", "٣٠/١١/٢٠٢٦", "2026-11-30"},             // Arabic-Indic digits
		{"ar", "٣٠\u200f/١١\u200f/٢٠٢٦", "2026-11-30"}, // with the marks of copied text
		{"ar", "٢٠٢٦-١١-٣٠", "2026-11-30"},
		{"ar", "۳۰/۱۱/۲۰۲۶", "2026-11-30"}, // Persian digits typed on a Persian keyboard
		{"ar", "11/30/2026", ""},
		{"ar", "٣١/١١/٢٠٢٦", ""},
		{"fa", "۲۰۲۶/۱۱/۳۰", "2026-11-30"},
		{"fa", "2026/11/30", "2026-11-30"},
		{"fa", "30/11/2026", ""}, // Persian puts the year first
		{"ckb", "٣٠/١١/٢٠٢٦", "2026-11-30"},
		{"zh-Hans", "2026/11/30", "2026-11-30"},
		{"vi", "30/11/2026", "2026-11-30"},
		{"fi", "30.11.2026\u202e", ""},
		{"fi", "3O.11.2026", ""},
	} {
		got, ok := lang(t, c.code).ParseDate(c.in, helsinki)
		switch {
		case c.want == "" && ok:
			t.Errorf("%s %q: accepted as %v", c.code, c.in, got)
		case c.want != "" && !ok:
			t.Errorf("%s %q: refused, want %s", c.code, c.in, c.want)
		case ok && (got.Format(time.DateOnly) != c.want || got.Location() != helsinki || got.Hour() != 0):
			t.Errorf("%s %q: %v, want midnight of %s in Helsinki", c.code, c.in, got, c.want)
		}
	}
}

// Whatever a language writes, it reads back; and the example in its hint
// and error message is a date written its way.
func TestDatesRoundTripAndHintsMatch(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	example := time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)
	for _, l := range Languages {
		for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
			if got, ok := l.ParseDate(l.FormatDate(d), time.UTC); !ok || !got.Equal(d) {
				t.Fatalf("%s: %s written %q reads back as %v %v", l.Code, d.Format(time.DateOnly), l.FormatDate(d), got, ok)
			}
		}
		if !l.Staff {
			continue // the date fields are on staff pages
		}
		tr := c.For(l)
		for _, key := range []string{"form.date_hint", "form.invalid_date"} {
			if msg := tr.Get(key); !strings.Contains(msg, l.FormatDate(example)) {
				t.Errorf("%s %s %q does not show %s", l.Code, key, msg, l.FormatDate(example))
			}
		}
	}
}

func TestFormatTime(t *testing.T) {
	at := time.Date(2026, 3, 5, 9, 5, 0, 0, time.UTC)
	for code, want := range map[string]string{"fi": "09.05", "fi-x-selko": "09.05", "sv": "09.05", "en": "09:05",
		"ar": "09:05", "zh-Hans": "09:05", "so": "09:05"} {
		if got := lang(t, code).FormatTime(at); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
}
