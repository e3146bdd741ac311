package queue

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// OpeningHours is a service point's weekly opening times, read in its own
// time zone. The stored form is a JSON object keyed by ISO weekday ("1" is
// Monday … "7" Sunday) whose values list opening and closing times in pairs,
// e.g. {"1": ["08:00","16:00"], "5": ["08:00","11:30","12:30","15:00"]}.
// A missing day, or an empty list, is closed; an empty object is always open.
type OpeningHours struct {
	always bool
	days   [8][]span // indexed by ISO weekday; 0 unused
}

// span is one opening, in minutes after local midnight, [from, to).
type span struct{ from, to int }

// ParseOpeningHours reads and checks the stored form, so an admin form can
// refuse what the queue could not use.
func ParseOpeningHours(raw []byte) (OpeningHours, error) {
	var h OpeningHours
	var m map[string][]string
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return h, fmt.Errorf("opening hours: %w", err)
	}
	if len(m) == 0 {
		h.always = true
		return h, nil
	}
	for k, v := range m {
		day, err := strconv.Atoi(k)
		if err != nil || day < 1 || day > 7 || k != strconv.Itoa(day) {
			return h, fmt.Errorf("opening hours: %q is not an ISO weekday 1–7", k)
		}
		if len(v)%2 != 0 {
			return h, fmt.Errorf("opening hours: day %s needs opening and closing times in pairs", k)
		}
		for i := 0; i < len(v); i += 2 {
			from, err1 := clockMinutes(v[i])
			to, err2 := clockMinutes(v[i+1])
			if err1 != nil || err2 != nil || from >= to {
				return h, fmt.Errorf("opening hours: day %s: %q–%q is not a time range", k, v[i], v[i+1])
			}
			h.days[day] = append(h.days[day], span{from, to})
		}
		sort.Slice(h.days[day], func(i, j int) bool { return h.days[day][i].from < h.days[day][j].from })
		for i := 1; i < len(h.days[day]); i++ {
			if h.days[day][i].from < h.days[day][i-1].to {
				return h, fmt.Errorf("opening hours: day %s has overlapping ranges", k)
			}
		}
	}
	return h, nil
}

// clockMinutes reads "HH:MM"; "24:00" closes at midnight.
func clockMinutes(s string) (int, error) {
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

func isoWeekday(t time.Time) int {
	if wd := int(t.Weekday()); wd != 0 {
		return wd
	}
	return 7
}

// localMinutes is the wall-clock reading, so a day with a DST change still
// opens at its written hour.
func localMinutes(t time.Time) int { return t.Hour()*60 + t.Minute() }

// AlwaysOpen reports hours that never close.
func (h OpeningHours) AlwaysOpen() bool { return h.always }

// OpenAt reports whether the service point is open at t (t in its zone).
func (h OpeningHours) OpenAt(t time.Time) bool {
	if h.always {
		return true
	}
	m := localMinutes(t)
	for _, s := range h.days[isoWeekday(t)] {
		if s.from <= m && m < s.to {
			return true
		}
	}
	return false
}

// NextOpening is the first opening strictly after t (t in its zone): t
// itself for hours that always open, the zero time for hours that never do.
func (h OpeningHours) NextOpening(t time.Time) time.Time {
	if h.always {
		return t
	}
	y, mo, d := t.Date()
	// Eight days reach the same weekday next week, after today's last close.
	for i := 0; i <= 7; i++ {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, t.Location())
		for _, s := range h.days[isoWeekday(day)] {
			open := time.Date(day.Year(), day.Month(), day.Day(), s.from/60, s.from%60, 0, 0, t.Location())
			if open.After(t) {
				return open
			}
		}
	}
	return time.Time{}
}

// PastClosing reports whether t (in its zone) is past the day's last
// closing time, or falls on a closed day; never for hours that always open.
func (h OpeningHours) PastClosing(t time.Time) bool {
	if h.always {
		return false
	}
	spans := h.days[isoWeekday(t)]
	if len(spans) == 0 {
		return true
	}
	return localMinutes(t) >= spans[len(spans)-1].to
}
