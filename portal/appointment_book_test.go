package portal

import (
	"slices"
	"testing"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/i18n"
)

// FuzzDecodeBooking: any booking form gives either field errors naming
// real messages, or a booking whose every field is within its range.
func FuzzDecodeBooking(f *testing.F) {
	f.Add("sp=1&staff=2&channel=in_person&desk=3&topic=4&date=2030-03-07&time=10%3A00&minutes=45&interpreter=ar")
	f.Add("sp=1&staff=2&channel=phone&date=7.3.2030&time=09%3A05&minutes=15&overlap_ok=1")
	f.Add("sp=-1&staff=x&channel=fax&date=31.2.2030&time=25%3A00&minutes=9999&interpreter=xx")
	f.Add("date=%D9%A7.%D9%A3.%D9%A2%D9%A0%D9%A3%D9%A0&time=10%3A00")
	fi := i18n.Languages[slices.IndexFunc(i18n.Languages, func(l i18n.Language) bool { return l.Code == "fi" })]
	f.Fuzz(func(t *testing.T, raw string) {
		b, errs := decodeBooking(values(raw), fi)
		checkErrors(t, errs)
		if len(errs) > 0 {
			return
		}
		if b.ServicePointID < 1 || b.StaffID < 1 || b.DeskID < 0 || b.TopicID < 0 || b.StartsAt.IsZero() ||
			b.Minutes < appointments.MinMinutes || b.Minutes > appointments.MaxMinutes ||
			!slices.Contains(appointments.Channels, b.Channel) {
			t.Errorf("accepted %+v", b)
		}
		if b.InterpreterLanguage != "" && !slices.ContainsFunc(i18n.Languages, func(l i18n.Language) bool { return l.Code == b.InterpreterLanguage }) {
			t.Errorf("accepted interpreter language %q", b.InterpreterLanguage)
		}
	})
}
