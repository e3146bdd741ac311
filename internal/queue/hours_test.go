package queue

import (
	"testing"
	"time"
)

func TestParseOpeningHoursRefusesNonsense(t *testing.T) {
	for _, bad := range []string{
		`[]`,
		`{"0":["08:00","16:00"]}`,
		`{"8":["08:00","16:00"]}`,
		`{"01":["08:00","16:00"]}`,
		`{"1":["08:00"]}`,
		`{"1":["16:00","08:00"]}`,
		`{"1":["8:00","16:00"]}`,
		`{"1":["08:60","16:00"]}`,
		`{"1":["08:00","24:30"]}`,
		`{"1":["08:00","12:00","11:00","16:00"]}`,
	} {
		if _, err := ParseOpeningHours([]byte(bad)); err == nil {
			t.Errorf("ParseOpeningHours(%s) accepted", bad)
		}
	}
	h, err := ParseOpeningHours([]byte(`{"7":["20:00","24:00"]}`))
	if err != nil {
		t.Fatal(err)
	}
	sunday := time.Date(2026, 11, 29, 23, 59, 0, 0, helsinki)
	if !h.OpenAt(sunday) || h.OpenAt(sunday.Add(time.Minute)) {
		t.Fatal("24:00 should close at midnight")
	}
	if next := h.NextOpening(sunday.Add(time.Minute)); !next.Equal(time.Date(2026, 12, 6, 20, 0, 0, 0, helsinki)) {
		t.Fatalf("next opening %v, want next Sunday 20:00", next)
	}
	never, _ := ParseOpeningHours([]byte(`{"1":[]}`))
	if never.OpenAt(sunday) || !never.NextOpening(sunday).IsZero() || !never.PastClosing(sunday) {
		t.Fatal("hours with no ranges should never open")
	}
	always, _ := ParseOpeningHours([]byte(`{}`))
	if !always.AlwaysOpen() || !always.OpenAt(sunday) || always.PastClosing(sunday) {
		t.Fatal("empty hours should always be open")
	}
}

// Opening hours are wall-clock hours: on the morning clocks go forward, the
// service point still opens at 08:00 local time.
func TestOpeningHoursAcrossDST(t *testing.T) {
	h, err := ParseOpeningHours([]byte(`{"1":["08:00","16:00"],"5":["08:00","16:00"]}`))
	if err != nil {
		t.Fatal(err)
	}
	friday := time.Date(2027, 3, 26, 17, 0, 0, 0, helsinki) // clocks go forward on Sunday 28 March 2027
	next := h.NextOpening(friday)
	if want := time.Date(2027, 3, 29, 8, 0, 0, 0, helsinki); !next.Equal(want) {
		t.Fatalf("next opening %v, want %v", next, want)
	}
	if _, off := next.Zone(); off != 3*3600 {
		t.Fatalf("Monday should be in summer time, offset %d", off)
	}
}
