package portal

import (
	"time"

	"github.com/koto-portal/portal/internal/i18n"
)

var zeroTime time.Time

// languageName is a language's own name, or its code when unknown.
func (s *Server) languageName(code string) string {
	if l, ok := s.catalog.Lookup(code); ok {
		return l.Name
	}
	return code
}

// waitText says an estimated wait in whole minutes, as one sentence that
// each language words whole: "about" is said once, and a range takes the
// plural form of its upper end, as CLDR's plural ranges do in the languages
// served here (Arabic: 3–10 minutes in one form, 11–99 in another).
func waitText(t *i18n.T, min, max time.Duration) string {
	lo, hi := int(min.Minutes()+0.5), int(max.Minutes()+0.5)
	if hi <= 0 {
		return t.Get("wait.estimate_soon")
	}
	if lo == hi {
		return t.Plural("wait.estimate_about", hi)
	}
	return t.Plural("wait.estimate_range", hi, "Min", lo)
}

// opensText says when a closed service point opens next, in its own zone.
func opensText(t *i18n.T, at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return t.Get("kiosk.closed_no_hours")
	}
	local := at.In(loc)
	day := t.Get("day." + local.Weekday().String())
	return t.Get("kiosk.opens", "Day", day, "Time", local.Format("15:04"))
}
