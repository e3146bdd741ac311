// Package hours is the one model of a service point's weekly opening hours:
// the set-up screen edits it, org stores it, and the queue opens and closes
// by it. A day may have several openings (08:00–11:30 and 12:30–15:00).
package hours

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Span is one opening, in minutes after local midnight, [From, To); To may
// be 1440, which closes at midnight.
type Span struct{ From, To int }

// String shows a span as 08:00–11:30.
func (s Span) String() string { return Clock(s.From) + "–" + Clock(s.To) }

// Week is a service point's opening hours, read in its own time zone.
//
// Stored, it is a JSON object keyed by ISO weekday ("1" Monday … "7"
// Sunday) whose values list opening and closing times in pairs, e.g.
// {"1": ["08:00","16:00"], "5": ["08:00","11:30","12:30","15:00"]}. A missing
// day, or an empty list, is closed; an empty object is always open.
type Week struct {
	Always bool
	Days   [7][]Span // Monday first; each day's spans in order, none overlapping
}

// Errors of hours that cannot be used.
var (
	ErrBadSpan = errors.New("hours: an opening must start before it ends")
	ErrOverlap = errors.New("hours: openings of a day overlap")
)

// Check refuses spans that are out of a day, empty, out of order or
// overlapping, so what is stored is what the queue can use.
func (w Week) Check() error {
	for _, spans := range w.Days {
		for i, s := range spans {
			if s.From < 0 || s.To > 24*60 || s.From >= s.To {
				return ErrBadSpan
			}
			if i > 0 && s.From < spans[i-1].To {
				return ErrOverlap
			}
		}
	}
	return nil
}

// Parse reads and checks the stored form.
func Parse(raw []byte) (Week, error) {
	var w Week
	var m map[string][]string
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return w, fmt.Errorf("opening hours: %w", err)
	}
	if len(m) == 0 {
		w.Always = true
		return w, nil
	}
	for k, v := range m {
		day, err := strconv.Atoi(k)
		if err != nil || day < 1 || day > 7 || k != strconv.Itoa(day) {
			return w, fmt.Errorf("opening hours: %q is not an ISO weekday 1–7", k)
		}
		if len(v)%2 != 0 {
			return w, fmt.Errorf("opening hours: day %s needs opening and closing times in pairs", k)
		}
		for i := 0; i < len(v); i += 2 {
			from, err1 := ParseClock(v[i])
			to, err2 := ParseClock(v[i+1])
			if err1 != nil || err2 != nil {
				return w, fmt.Errorf("opening hours: day %s: %q–%q is not a time range", k, v[i], v[i+1])
			}
			w.Days[day-1] = append(w.Days[day-1], Span{from, to})
		}
		slices.SortFunc(w.Days[day-1], func(a, b Span) int { return a.From - b.From })
	}
	if err := w.Check(); err != nil {
		return w, fmt.Errorf("opening hours: %w", err)
	}
	return w, nil
}

// MarshalJSON writes the stored form. A week never open keeps one empty
// day, since an empty object would read back as always open.
func (w Week) MarshalJSON() ([]byte, error) {
	m := map[string][]string{}
	if !w.Always {
		for d, spans := range w.Days {
			for _, s := range spans {
				k := strconv.Itoa(d + 1)
				m[k] = append(m[k], Clock(s.From), Clock(s.To))
			}
		}
		if len(m) == 0 {
			m["1"] = []string{}
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the stored form, refusing what Parse refuses.
func (w *Week) UnmarshalJSON(b []byte) error {
	v, err := Parse(b)
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// ParseClock reads "HH:MM" as minutes after midnight; "24:00" closes at
// midnight.
func ParseClock(s string) (int, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("bad time %q", s)
	}
	hh, err1 := strconv.Atoi(s[:2])
	mm, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hh*60 + mm, nil
}

// Clock shows minutes after midnight as "HH:MM".
func Clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// day is the spans of t's weekday.
func (w Week) day(t time.Time) []Span { return w.Days[(int(t.Weekday())+6)%7] }

// localMinutes is the wall-clock reading, so a day with a DST change still
// opens at its written hour.
func localMinutes(t time.Time) int { return t.Hour()*60 + t.Minute() }

// OpenAt reports whether the service point is open at t (t in its zone).
func (w Week) OpenAt(t time.Time) bool {
	if w.Always {
		return true
	}
	m := localMinutes(t)
	for _, s := range w.day(t) {
		if s.From <= m && m < s.To {
			return true
		}
	}
	return false
}

// NextOpening is the first opening strictly after t (t in its zone): t
// itself for hours that always open, the zero time for hours that never do.
func (w Week) NextOpening(t time.Time) time.Time {
	if w.Always {
		return t
	}
	y, mo, d := t.Date()
	// Eight days reach the same weekday next week, after today's last close.
	for i := 0; i <= 7; i++ {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, t.Location())
		for _, s := range w.day(day) {
			open := time.Date(day.Year(), day.Month(), day.Day(), s.From/60, s.From%60, 0, 0, t.Location())
			if open.After(t) {
				return open
			}
		}
	}
	return time.Time{}
}

// PastClosing reports whether t (in its zone) is past the day's last
// closing time, or falls on a closed day; never for hours that always open.
func (w Week) PastClosing(t time.Time) bool {
	if w.Always {
		return false
	}
	spans := w.day(t)
	if len(spans) == 0 {
		return true
	}
	return localMinutes(t) >= spans[len(spans)-1].To
}
