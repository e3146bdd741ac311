package stats

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

// validDesk is a correct visit without a ticket at the fixture's sp1.
func (f *fixture) validDesk() Visit {
	return Visit{ServicePointID: f.sp1, Channel: ChannelDesk, TopicIDs: []int64{f.topicA}, Language: "ar",
		Interpreter: "on_site", Outcomes: []string{"advice", OutcomeReferred}, ReferralID: f.ref1, AgeGroup: "30_44", Gender: "female"}
}

func TestRecordDeskVisit(t *testing.T) {
	f := newFixture(t)
	v := f.validDesk()
	v.TopicIDs = []int64{f.topicA, f.topicB, f.topicA} // ticked twice counts once
	id, err := f.record(expertAt(f.tenant, f.sp1), v)
	if err != nil {
		t.Fatal(err)
	}
	var channel, lang, interp, age, gender string
	var topics []int64
	var outcomes []string
	var ref *int64
	var wait, service *int32
	var ticket *int64
	err = f.owner.QueryRow(f.ctx, `SELECT channel, topic_ids, language, interpreter, outcomes, referral_id, age_group, gender,
		wait_seconds, service_seconds, ticket_id FROM visits WHERE id = $1`, id).
		Scan(&channel, &topics, &lang, &interp, &outcomes, &ref, &age, &gender, &wait, &service, &ticket)
	if err != nil {
		t.Fatal(err)
	}
	if channel != "desk" || lang != "ar" || interp != "on_site" || age != "30_44" || gender != "female" {
		t.Errorf("stored %s %s %s %s %s", channel, lang, interp, age, gender)
	}
	if len(topics) != 2 || topics[0] != f.topicA || topics[1] != f.topicB {
		t.Errorf("topics = %v, want [%d %d]", topics, f.topicA, f.topicB)
	}
	if len(outcomes) != 2 || ref == nil || *ref != f.ref1 {
		t.Errorf("outcomes %v referral %v", outcomes, ref)
	}
	if wait != nil || service != nil || ticket != nil {
		t.Errorf("a desk visit has no ticket or times: wait %v service %v ticket %v", wait, service, ticket)
	}
}

func TestRecordDefaults(t *testing.T) {
	f := newFixture(t)
	id, err := f.record(expertAt(f.tenant, f.sp1), Visit{ServicePointID: f.sp1, Channel: ChannelPhone,
		TopicIDs: []int64{f.topicC}, Language: "fi"})
	if err != nil {
		t.Fatal(err)
	}
	var interp, age, gender string
	var outcomes []string
	if err := f.owner.QueryRow(f.ctx, `SELECT interpreter, age_group, gender, outcomes FROM visits WHERE id = $1`, id).
		Scan(&interp, &age, &gender, &outcomes); err != nil {
		t.Fatal(err)
	}
	if interp != "none" || age != "not_asked" || gender != "not_asked" || len(outcomes) != 0 {
		t.Errorf("defaults: %s %s %s %v", interp, age, gender, outcomes)
	}
}

// TestRecordRefuses checks each kind of bad input gives its error and
// writes nothing.
func TestRecordRefuses(t *testing.T) {
	f := newFixture(t)
	expert := expertAt(f.tenant, f.sp1)
	serving := f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp1, topic: f.topicA, state: "serving",
		created: time.Now().Add(-time.Hour), called: time.Now().Add(-time.Minute), serving: time.Now()})
	ofSP2 := f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp2, topic: f.topicX, state: "done",
		created: time.Now().Add(-time.Hour), called: time.Now().Add(-30 * time.Minute), serving: time.Now().Add(-29 * time.Minute), finished: time.Now()})
	ofOther := f.addTicket(ticketSpec{tenant: f.other, sp: f.otherSP, topic: f.otherTopic, state: "done",
		created: time.Now().Add(-time.Hour), called: time.Now().Add(-30 * time.Minute), serving: time.Now().Add(-29 * time.Minute), finished: time.Now()})
	done := f.doneTicket()

	walkIn := func(ticket int64) Visit {
		v := f.validDesk()
		v.TicketID, v.Channel = ticket, ""
		return v
	}
	cases := []struct {
		name  string
		edit  func(v *Visit)
		field string
		want  error
	}{
		{"topic of another service point", func(v *Visit) { v.TopicIDs = []int64{f.topicA, f.topicX} }, FieldTopics, ErrUnknownTopic},
		{"topic of another municipality", func(v *Visit) { v.TopicIDs = []int64{f.otherTopic} }, FieldTopics, ErrUnknownTopic},
		{"no topic", func(v *Visit) { v.TopicIDs = nil }, FieldTopics, ErrNoTopic},
		{"unknown referral", func(v *Visit) { v.ReferralID = 987654 }, FieldReferral, ErrUnknownReferral},
		{"referral of another service point", func(v *Visit) { v.ReferralID = f.refSP2 }, FieldReferral, ErrUnknownReferral},
		{"inactive referral", func(v *Visit) { v.ReferralID = f.refOff }, FieldReferral, ErrUnknownReferral},
		{"referred without a referral", func(v *Visit) { v.ReferralID = 0 }, FieldReferral, ErrReferralRequired},
		{"referral without the outcome", func(v *Visit) { v.Outcomes = []string{"advice"} }, FieldReferral, ErrReferralNotReferred},
		{"ticket of another service point", func(v *Visit) { *v = walkIn(ofSP2) }, FieldTicket, ErrUnknownTicket},
		{"ticket of another municipality", func(v *Visit) { *v = walkIn(ofOther) }, FieldTicket, ErrUnknownTicket},
		{"ticket that does not exist", func(v *Visit) { *v = walkIn(99999999) }, FieldTicket, ErrUnknownTicket},
		{"ticket not done", func(v *Visit) { *v = walkIn(serving) }, FieldTicket, ErrTicketNotDone},
		{"ticket with a desk channel", func(v *Visit) { *v = walkIn(done); v.Channel = ChannelDesk }, FieldChannel, ErrInvalidChannel},
		{"walk-in without a ticket", func(v *Visit) { v.Channel = ChannelWalkIn }, FieldChannel, ErrInvalidChannel},
		{"no channel", func(v *Visit) { v.Channel = "" }, FieldChannel, ErrInvalidChannel},
		{"unknown channel", func(v *Visit) { v.Channel = "email" }, FieldChannel, ErrInvalidChannel},
		{"language not of the portal", func(v *Visit) { v.Language = "de" }, FieldLanguage, ErrInvalidLanguage},
		{"no language", func(v *Visit) { v.Language = "" }, FieldLanguage, ErrInvalidLanguage},
		{"bad interpreter", func(v *Visit) { v.Interpreter = "sign" }, FieldInterpreter, ErrInvalidInterpreter},
		{"bad outcome", func(v *Visit) { v.Outcomes = append(v.Outcomes, "cured") }, FieldOutcomes, ErrInvalidOutcome},
		{"bad age group", func(v *Visit) { v.AgeGroup = "40" }, FieldAgeGroup, ErrInvalidAgeGroup},
		{"bad gender", func(v *Visit) { v.Gender = "x" }, FieldGender, ErrInvalidGender},
		{"unknown service point", func(v *Visit) { v.ServicePointID = 99999999 }, "", ErrForbidden},
		{"expert of another service point", func(v *Visit) { v.ServicePointID = f.sp2; v.TopicIDs = []int64{f.topicX}; v.ReferralID = f.refSP2 }, "", ErrForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := f.validDesk()
			c.edit(&v)
			_, err := f.record(expert, v)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.field != "" {
				var ve *ValidationError
				if !errors.As(err, &ve) || !errors.Is(ve.Fields[c.field], c.want) {
					t.Errorf("the error is not on field %s: %v", c.field, err)
				}
			}
		})
	}
	t.Run("another municipality's staff member", func(t *testing.T) {
		_, err := f.record(expertAt(f.other, f.sp1), f.validDesk())
		if !errors.Is(err, ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
	})
	t.Run("an admin and a service point that does not exist", func(t *testing.T) {
		v := f.validDesk()
		v.ServicePointID = 99999999
		_, err := f.record(adminOf(f.tenant), v)
		if !errors.Is(err, ErrUnknownServicePoint) {
			t.Fatalf("err = %v, want ErrUnknownServicePoint", err)
		}
	})
	t.Run("every problem at once", func(t *testing.T) {
		v := Visit{ServicePointID: f.sp1, Channel: "fax", Language: "xx", Interpreter: "?", Outcomes: []string{OutcomeReferred}, AgeGroup: "?", Gender: "?"}
		_, err := f.record(expert, v)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("err = %v, want a ValidationError", err)
		}
		for _, field := range []string{FieldChannel, FieldTopics, FieldLanguage, FieldInterpreter, FieldReferral, FieldAgeGroup, FieldGender} {
			if ve.Fields[field] == nil {
				t.Errorf("no error on %s: %v", field, err)
			}
		}
	})
	if n := f.count(`SELECT count(*) FROM visits`); n != 0 {
		t.Fatalf("%d visits were stored from bad input", n)
	}
}

func TestRecordFromTicketTakesTheTicketsTimes(t *testing.T) {
	f := newFixture(t)
	created := time.Date(2026, 3, 3, 10, 0, 0, 0, Location())
	ticket := f.addTicket(ticketSpec{tenant: f.tenant, sp: f.sp1, topic: f.topicB, state: "done", created: created,
		called: created.Add(12*time.Minute + 30*time.Second), serving: created.Add(13 * time.Minute),
		finished: created.Add(31*time.Minute + 15*time.Second)})
	v := Visit{ServicePointID: f.sp1, TicketID: ticket, TopicIDs: []int64{f.topicB}, Language: "so"}
	id, err := f.record(expertAt(f.tenant, f.sp1), v)
	if err != nil {
		t.Fatal(err)
	}
	var wait, service int
	var channel string
	var visited time.Time
	if err := f.owner.QueryRow(f.ctx, `SELECT wait_seconds, service_seconds, channel, visited_at FROM visits WHERE id = $1`, id).
		Scan(&wait, &service, &channel, &visited); err != nil {
		t.Fatal(err)
	}
	if wait != 750 || service != 1095 {
		t.Errorf("wait %d s, service %d s; want 750 and 1095", wait, service)
	}
	if channel != ChannelWalkIn {
		t.Errorf("channel %q, want walk_in", channel)
	}
	if !visited.Equal(created) {
		t.Errorf("visited_at %v, want the arrival %v", visited, created)
	}
}

func TestRecordTicketOnlyOnce(t *testing.T) {
	f := newFixture(t)
	ticket := f.doneTicket()
	v := Visit{ServicePointID: f.sp1, TicketID: ticket, Channel: ChannelWalkIn, TopicIDs: []int64{f.topicA}, Language: "fi"}
	if _, err := f.record(expertAt(f.tenant, f.sp1), v); err != nil {
		t.Fatal(err)
	}
	_, err := f.record(expertAt(f.tenant, f.sp1), v)
	if !errors.Is(err, ErrTicketAlreadyCounted) {
		t.Fatalf("second record: err = %v, want ErrTicketAlreadyCounted", err)
	}
	if n := f.count(`SELECT count(*) FROM visits WHERE ticket_id = $1`, ticket); n != 1 {
		t.Fatalf("%d visits for the ticket, want 1", n)
	}
}

// TestGetTicket: the visit form reads a ticket of its own municipality
// only, and sees whether it is already recorded.
func TestGetTicket(t *testing.T) {
	f := newFixture(t)
	ticket := f.doneTicket()
	other := f.addTicket(ticketSpec{tenant: f.other, sp: f.otherSP, topic: f.otherTopic, state: "done"})
	var got Ticket
	var errOther error
	read := func() {
		if err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
			var err error
			got, err = getTicket(f.ctx, tx, ticket)
			if err != nil {
				return err
			}
			_, errOther = getTicket(f.ctx, tx, other)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if got.ServicePointID != f.sp1 || got.TopicID != f.topicA || got.State != "done" || got.Language != "ar" || got.Recorded {
		t.Errorf("ticket = %+v", got)
	}
	if !errors.Is(errOther, ErrUnknownTicket) {
		t.Errorf("another municipality's ticket: err = %v, want ErrUnknownTicket", errOther)
	}
	if _, err := f.record(expertAt(f.tenant, f.sp1), Visit{ServicePointID: f.sp1, TicketID: ticket, TopicIDs: []int64{f.topicA}, Language: "ar"}); err != nil {
		t.Fatal(err)
	}
	read()
	if !got.Recorded {
		t.Error("a recorded ticket does not say so")
	}
}
