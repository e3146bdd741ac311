package i18n

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// DateStyle is how a language writes a day in digits. A browser's own date
// field follows the browser's locale, not the page's, so the portal shows
// and reads dates itself.
type DateStyle struct {
	YearFirst bool // year, month, day; otherwise day, month, year
	Sep       byte // between the parts
	Pad       bool // two-digit day and month
	// TimeSep is between the hour and the minutes (':' when unset): Finnish
	// and Finland's Swedish write 14.30.
	TimeSep byte
}

var (
	dateISO      = DateStyle{YearFirst: true, Sep: '-', Pad: true}
	dateDotted   = DateStyle{Sep: '.', Pad: true}
	dateSlash    = DateStyle{Sep: '/', Pad: true}
	dateYMDSlash = DateStyle{YearFirst: true, Sep: '/', Pad: true}
	dateSwedish  = DateStyle{YearFirst: true, Sep: '-', Pad: true, TimeSep: '.'}
)

// FormatDate writes the calendar day of t (in t's own zone) in the
// language's style, always with Latin digits like the rest of the staff
// pages' numbers.
func (l Language) FormatDate(t time.Time) string {
	s := l.Date
	day, month, year := strconv.Itoa(t.Day()), strconv.Itoa(int(t.Month())), strconv.Itoa(t.Year())
	if s.Pad {
		day, month = pad2(day), pad2(month)
	}
	sep := string(s.Sep)
	if s.YearFirst {
		return year + sep + month + sep + day
	}
	return day + sep + month + sep + year
}

// FormatTime writes the time of day of t (in t's own zone) on the 24-hour
// clock as the language writes it, with Latin digits: 14.30 in Finnish,
// 14:30 in most others.
func (l Language) FormatTime(t time.Time) string {
	sep := l.Date.TimeSep
	if sep == 0 {
		sep = ':'
	}
	return pad2(strconv.Itoa(t.Hour())) + string(sep) + pad2(strconv.Itoa(t.Minute()))
}

func pad2(s string) string {
	if len(s) < 2 {
		return "0" + s
	}
	return s
}

// ParseDate reads a day as people of the language type it, at midnight in
// loc. ISO yyyy-mm-dd is read in every language (addresses from the CSV
// link and bookmarks carry it). Besides it: the language's own order with
// any of . / - or a space between the parts; the same eight digits with no
// separator (a phone's number pad may have none); Arabic-Indic and Persian
// digits as well as Latin ones; direction marks that copied text carries.
// The year must have four digits: a two-digit one would be a guess.
func (l Language) ParseDate(s string, loc *time.Location) (time.Time, bool) {
	var b strings.Builder
	for _, r := range LatinDigits(strings.TrimSpace(s)) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '.' || r == '/' || r == '-' || r == ' ' || r == '\u060D' || r == '\u066B':
			b.WriteByte(' ')
		case r == '\u200E' || r == '\u200F' || r == '\u061C':
		default:
			return time.Time{}, false
		}
	}
	parts := strings.FieldsFunc(b.String(), unicode.IsSpace)
	if len(parts) == 1 && len(parts[0]) == 8 {
		p := parts[0]
		if l.Date.YearFirst {
			parts = []string{p[:4], p[4:6], p[6:]}
		} else {
			parts = []string{p[:2], p[2:4], p[4:]}
		}
	}
	if len(parts) != 3 {
		return time.Time{}, false
	}
	var y, m, d string
	switch {
	case len(parts[0]) == 4:
		y, m, d = parts[0], parts[1], parts[2]
	case !l.Date.YearFirst && len(parts[2]) == 4:
		d, m, y = parts[0], parts[1], parts[2]
	default:
		return time.Time{}, false
	}
	if len(m) > 2 || len(d) > 2 {
		return time.Time{}, false
	}
	year, _ := strconv.Atoi(y)
	month, _ := strconv.Atoi(m)
	day, _ := strconv.Atoi(d)
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, loc)
	// time.Date carries 31 November over into December: only a day that
	// exists comes back unchanged.
	if t.Year() != year || int(t.Month()) != month || t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

// LatinDigits writes Arabic-Indic and Persian digits as 0–9, so that what a
// person types on an Arabic or Persian keyboard reads as the same number.
func LatinDigits(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '\u0660' && r <= '\u0669':
			return '0' + r - '\u0660'
		case r >= '\u06F0' && r <= '\u06F9':
			return '0' + r - '\u06F0'
		}
		return r
	}, s)
}
