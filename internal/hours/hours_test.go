package hours

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var helsinki = func() *time.Location {
	l, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestParseRefusesNonsense(t *testing.T) {
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
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
	h, err := Parse([]byte(`{"7":["20:00","24:00"]}`))
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
	never, _ := Parse([]byte(`{"1":[]}`))
	if never.OpenAt(sunday) || !never.NextOpening(sunday).IsZero() || !never.PastClosing(sunday) {
		t.Fatal("hours with no ranges should never open")
	}
	always, _ := Parse([]byte(`{}`))
	if !always.Always || !always.OpenAt(sunday) || always.PastClosing(sunday) {
		t.Fatal("empty hours should always be open")
	}
}

// Opening hours are wall-clock hours: on the morning clocks go forward, the
// service point still opens at 08:00 local time.
func TestOpeningHoursAcrossDST(t *testing.T) {
	h, err := Parse([]byte(`{"1":["08:00","16:00"],"5":["08:00","16:00"]}`))
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

// A day with a lunch break keeps both openings through the stored form, and
// is closed over lunch.
func TestLunchBreakRoundTrip(t *testing.T) {
	var w Week
	w.Days[2] = []Span{{8 * 60, 11*60 + 30}, {12*60 + 30, 15 * 60}} // Wednesday
	raw, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"3":["08:00","11:30","12:30","15:00"]}` {
		t.Fatalf("stored as %s", raw)
	}
	var back Week
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Days[2]) != 2 || back.Days[2][1] != w.Days[2][1] {
		t.Fatalf("read back %+v, %v", back, err)
	}
	wed := time.Date(2026, 12, 2, 0, 0, 0, 0, helsinki)
	for _, c := range []struct {
		hh, mm int
		open   bool
	}{{7, 59, false}, {8, 0, true}, {11, 29, true}, {11, 45, false}, {12, 45, true}, {15, 0, false}} {
		if got := back.OpenAt(wed.Add(time.Duration(c.hh)*time.Hour + time.Duration(c.mm)*time.Minute)); got != c.open {
			t.Errorf("%02d:%02d open %v, want %v", c.hh, c.mm, got, c.open)
		}
	}
	if next := back.NextOpening(wed.Add(11*time.Hour + 45*time.Minute)); !next.Equal(wed.Add(12*time.Hour + 30*time.Minute)) {
		t.Errorf("next opening after 11:45: %v", next)
	}
}

func TestNeverOpenStaysClosed(t *testing.T) {
	raw, _ := json.Marshal(Week{})
	w, err := Parse(raw)
	if err != nil || w.Always || w.OpenAt(time.Now()) {
		t.Fatalf("a week never open came back as %s → %+v, %v", raw, w, err)
	}
	raw, _ = json.Marshal(Week{Always: true})
	if string(raw) != "{}" {
		t.Fatalf("always open stored as %s", raw)
	}
}

func TestCheckRefusesOverlapAndEmptySpans(t *testing.T) {
	var w Week
	w.Days[0] = []Span{{8 * 60, 12 * 60}, {11 * 60, 16 * 60}}
	if err := w.Check(); !errors.Is(err, ErrOverlap) {
		t.Errorf("overlap: %v", err)
	}
	w.Days[0] = []Span{{12 * 60, 12 * 60}}
	if err := w.Check(); !errors.Is(err, ErrBadSpan) {
		t.Errorf("empty span: %v", err)
	}
}
