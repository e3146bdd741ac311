package queue

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/sqldb"
)

var errDeliberate = errors.New("deliberate rollback")

// Many kiosks at once, some of whose transactions roll back: the committed
// numbers must be exactly 1..N, because a rolled-back take returns its number.
func TestTakeTicketConcurrentGaplessNumbers(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	const workers, each = 40, 5
	kiosks := make([]int64, workers)
	for i := range kiosks {
		kiosks[i] = f.addKiosk(f.tenant, f.sp)
	}
	var mu sync.Mutex
	var committed []int
	rolledBack := 0
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range each {
				rollback := (w*each+i)%4 == 3
				var got Ticket
				err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
					// A take that commits ends with its announcement, as a
					// kiosk's does; one that will roll back cannot.
					_, taken, err := f.svc.takeIn(f.ctx, tx, f.kioskOf(kiosks[w]),
						TakeRequest{TopicID: f.topicA, Language: "fi", Key: NewTakeKey()}, !rollback, false)
					if err != nil {
						return err
					}
					tk, tok := taken.Ticket, taken.Token
					if tok == "" || tk.Number <= 0 {
						return errors.New("empty token or number")
					}
					got = tk
					if rollback {
						return errDeliberate
					}
					return nil
				})
				switch {
				case rollback && errors.Is(err, errDeliberate):
					mu.Lock()
					rolledBack++
					mu.Unlock()
				case err != nil:
					errs <- err
				default:
					mu.Lock()
					committed = append(committed, got.Number)
					mu.Unlock()
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rolledBack != workers*each/4 {
		t.Fatalf("rolled back %d, want %d", rolledBack, workers*each/4)
	}
	slices.Sort(committed)
	n := len(committed)
	if n != workers*each-rolledBack {
		t.Fatalf("committed %d tickets, want %d", n, workers*each-rolledBack)
	}
	for i, num := range committed {
		if num != i+1 {
			t.Fatalf("committed numbers are not 1..%d: position %d holds %d (%v)", n, i, num, committed)
		}
	}
	if got := f.count(`SELECT count(*) FROM tickets WHERE service_point_id = $1`, f.sp); got != n {
		t.Fatalf("%d tickets in the table, want %d", got, n)
	}
	if got := f.count(`SELECT last_number FROM ticket_counters WHERE service_point_id = $1`, f.sp); got != n {
		t.Fatalf("counter at %d, want %d", got, n)
	}
	// Only committed takes were announced.
	if got := f.seq(SPChannel(f.sp)); got != int64(n) {
		t.Fatalf("queue channel seq %d, want %d", got, n)
	}
}

func TestTakeTicketFields(t *testing.T) {
	now := futureWednesday(9, 30)
	f := newFixture(t, `{}`, now)
	taken, err := f.tap(f.kiosk, f.topicB, "ar", true)
	if err != nil {
		t.Fatal(err)
	}
	tk, tok := taken.Ticket, taken.Token
	if tk.Label() != "B 1" || tk.State != Waiting || tk.TopicID != f.topicB || tk.OriginalTopicID != f.topicB ||
		tk.Language != "ar" || !tk.Interpreter || !tk.CreatedAt.Equal(now) || tk.DeskID != nil {
		t.Fatalf("ticket = %+v", tk)
	}
	if y, m, d := now.Date(); !tk.ServiceDay.Equal(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("service day %v", tk.ServiceDay)
	}
	if len(tok) != 22 {
		t.Fatalf("token %q: want 22 base64url characters (128 bits)", tok)
	}
	// Stored hashed only, expiring at the local midnight ending the day.
	var hash []byte
	var expires time.Time
	if err := f.owner.QueryRow(f.ctx, `SELECT token_hash, token_expires_at FROM tickets WHERE id = $1`, tk.ID).
		Scan(&hash, &expires); err != nil {
		t.Fatal(err)
	}
	want, _ := parseToken(tok)
	if !slices.Equal(hash, want) {
		t.Fatal("stored token hash does not match the token")
	}
	if y, m, d := now.Date(); !expires.Equal(time.Date(y, m, d+1, 0, 0, 0, 0, helsinki)) {
		t.Fatalf("token expires %v, want the next local midnight", expires.In(helsinki))
	}
	if got := f.seq(SPChannel(f.sp)); got != 1 {
		t.Fatalf("ticket.created not published: seq %d", got)
	}
	_, _, err = f.takeAt(f.tenant, f.sp, f.topicB, "not a language")
	wantErr(t, "bad language", err, ErrInvalidLanguage)
}

// Numbers run per prefix (topics sharing a prefix share the line of numbers)
// and start again at 1 at local midnight, not UTC midnight.
func TestNumberingPerPrefixAndServiceDay(t *testing.T) {
	day := futureWednesday(23, 40)
	f := newFixture(t, `{}`, day)
	labels := func(ts ...Ticket) []string {
		var out []string
		for _, tk := range ts {
			out = append(out, tk.Label())
		}
		return out
	}
	a1, _ := f.take(f.topicA, "fi")
	a2, _ := f.take(f.topicC, "fi")
	b1, _ := f.take(f.topicB, "fi")
	a3, _ := f.take(f.topicA, "fi")
	if got, want := labels(a1, a2, b1, a3), []string{"A 1", "A 2", "B 1", "A 3"}; !slices.Equal(got, want) {
		t.Fatalf("labels %v, want %v", got, want)
	}
	// 00:10 in Helsinki is still the previous day in UTC.
	f.clock.Set(day.Add(30 * time.Minute))
	if f.clock.Now().UTC().Day() == f.clock.Now().In(helsinki).Day() {
		t.Fatal("test clock should straddle UTC and local dates")
	}
	n1, _ := f.take(f.topicC, "fi")
	n2, _ := f.take(f.topicB, "fi")
	if got, want := labels(n1, n2), []string{"A 1", "B 1"}; !slices.Equal(got, want) {
		t.Fatalf("next day labels %v, want %v", got, want)
	}
	if !n1.ServiceDay.Equal(a1.ServiceDay.AddDate(0, 0, 1)) {
		t.Fatalf("service days %v then %v", a1.ServiceDay, n1.ServiceDay)
	}
}

func TestClosedServicePoint(t *testing.T) {
	hours := `{"1":["08:00","16:00"],"2":["08:00","16:00"],"3":["08:00","11:30","12:30","16:00"],"4":["08:00","16:00"],"5":["08:00","16:00"]}`
	friday := time.Date(2026, 11, 27, 17, 0, 0, 0, helsinki)
	f := newFixture(t, hours, friday)
	cases := []struct {
		now, opens time.Time
	}{
		{friday, time.Date(2026, 11, 30, 8, 0, 0, 0, helsinki)},                                          // Friday evening → Monday
		{time.Date(2026, 11, 28, 12, 0, 0, 0, helsinki), time.Date(2026, 11, 30, 8, 0, 0, 0, helsinki)},  // Saturday
		{time.Date(2026, 11, 30, 7, 59, 0, 0, helsinki), time.Date(2026, 11, 30, 8, 0, 0, 0, helsinki)},  // Monday early
		{time.Date(2026, 12, 2, 11, 45, 0, 0, helsinki), time.Date(2026, 12, 2, 12, 30, 0, 0, helsinki)}, // lunch
		{time.Date(2026, 12, 2, 16, 0, 0, 0, helsinki), time.Date(2026, 12, 3, 8, 0, 0, 0, helsinki)},    // closing minute
	}
	for _, c := range cases {
		f.clock.Set(c.now)
		_, err := f.tap(f.kiosk, f.topicA, "fi", false)
		var closed *ClosedError
		if !errors.As(err, &closed) {
			t.Fatalf("at %v: got %v, want ClosedError", c.now, err)
		}
		if !closed.OpensAt.Equal(c.opens) || closed.OpensAt.Location().String() != helsinki.String() {
			t.Fatalf("at %v: opens %v, want %v", c.now, closed.OpensAt, c.opens)
		}
	}
	if n := f.count(`SELECT count(*) FROM tickets`); n != 0 {
		t.Fatalf("%d tickets taken while closed", n)
	}
	if n := f.count(`SELECT count(*) FROM ticket_counters`); n != 0 {
		t.Fatalf("%d counters touched while closed", n)
	}
	f.clock.Set(time.Date(2026, 12, 2, 15, 59, 0, 0, helsinki))
	if _, err := f.tap(f.kiosk, f.topicA, "fi", false); err != nil {
		t.Fatalf("open Wednesday 15:59: %v", err)
	}
}

func TestFloodFromOneKiosk(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	for i := range DefaultFloodLimit {
		f.clock.Advance(5 * time.Second)
		if _, err := f.tap(f.kiosk, f.topicA, "fi", false); err != nil {
			t.Fatalf("ticket %d: %v", i+1, err)
		}
	}
	f.clock.Advance(5 * time.Second)
	_, err := f.tap(f.kiosk, f.topicA, "fi", false)
	wantErr(t, "seventh ticket within a minute", err, ErrRateLimited)
	if n := f.count(`SELECT count(*) FROM tickets`); n != DefaultFloodLimit {
		t.Fatalf("%d tickets after the flood, want %d", n, DefaultFloodLimit)
	}
	if n := f.count(`SELECT last_number FROM ticket_counters`); n != DefaultFloodLimit {
		t.Fatalf("counter %d after the flood, want %d", n, DefaultFloodLimit)
	}
	// Another kiosk is not held back by the first.
	other := f.addKiosk(f.tenant, f.sp)
	if _, err := f.tap(other, f.topicA, "fi", false); err != nil {
		t.Fatalf("other kiosk: %v", err)
	}
	// A minute after the first, the first kiosk may take one again.
	f.clock.Advance(30 * time.Second)
	if _, err := f.tap(f.kiosk, f.topicA, "fi", false); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	// A kiosk of another service point, or a revoked one, cannot take here.
	sp2 := f.addServicePoint(f.tenant, `{}`)
	here := f.kioskOf(f.kiosk)
	_, _, err = f.svc.TakeAtKiosk(f.ctx, Device{Kind: auth.KindKiosk, Slug: here.Slug, Token: kioskToken(f.addKiosk(f.tenant, sp2))},
		TakeRequest{TopicID: f.topicA, Language: "fi", Key: NewTakeKey()})
	wantErr(t, "foreign kiosk", err, ErrUnknownDevice)
	f.exec(`UPDATE devices SET revoked_at = now() WHERE id = $1`, other)
	_, err = f.tap(other, f.topicA, "fi", false)
	wantErr(t, "revoked kiosk", err, ErrUnknownDevice)
}

func TestForgedTopic(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	sp2 := f.addServicePoint(f.tenant, `{}`)
	otherTenant := f.addTenant()
	otherSP := f.addServicePoint(otherTenant, `{}`)
	forged := map[string]int64{
		"another service point's topic": f.addTopic(f.tenant, sp2, "A", true),
		"another tenant's topic":        f.addTopic(otherTenant, otherSP, "A", true),
		"inactive topic":                f.addTopic(f.tenant, f.sp, "D", false),
		"nonexistent topic":             987654321,
	}
	for what, topic := range forged {
		_, err := f.tap(f.kiosk, topic, "fi", false)
		wantErr(t, what, err, ErrUnknownTopic)
	}
	if n := f.count(`SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM ticket_counters) + (SELECT count(*) FROM live_channels)`); n != 0 {
		t.Fatalf("forged topics left %d rows behind", n)
	}
	// Another tenant's service point is simply not there.
	_, _, err := f.takeAt(f.tenant, otherSP, f.topicA, "fi")
	wantErr(t, "another tenant's service point", err, ErrNotFound)
}

func BenchmarkTakeTicket(b *testing.B) {
	f := newFixture(b, `{}`, futureWednesday(10, 0))
	for b.Loop() {
		if _, _, err := f.takeAt(f.tenant, f.sp, f.topicA, "fi"); err != nil {
			b.Fatal(err)
		}
	}
}

// The same tap sent twice (its answer was lost, the visitor tapped again,
// the browser resubmitted) answers with the first ticket: same number, same
// follow link, one row, one counter step, one event.
func TestRepeatedTapGivesTheFirstTicket(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	req := TakeRequest{TopicID: f.topicA, Language: "so", Interpreter: true, Key: NewTakeKey()}
	_, first, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), req)
	if err != nil {
		t.Fatal(err)
	}
	// Even with another topic in the repeat (a forged or stale form), the
	// key decides.
	again := req
	again.TopicID = f.topicB
	_, second, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), again)
	if err != nil {
		t.Fatal(err)
	}
	if first.Repeat || !second.Repeat || second.Ticket.ID != first.Ticket.ID || second.Ticket.Label() != "A 1" ||
		second.Token != first.Token || second.Pictogram != first.Pictogram {
		t.Fatalf("first %+v, repeat %+v", first, second)
	}
	if _, v, err := f.svc.ByToken(f.ctx, second.Token); err != nil || v.Ticket.ID != first.Ticket.ID {
		t.Fatalf("the repeat's follow link: %v, %+v", err, v)
	}
	if n := f.count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets after a repeated tap, want 1", n)
	}
	if n := f.count(`SELECT last_number FROM ticket_counters`); n != 1 {
		t.Fatalf("counter %d after a repeated tap, want 1", n)
	}
	if got := f.seq(SPChannel(f.sp)); got != 1 {
		t.Fatalf("%d events after a repeated tap, want 1", got)
	}
	// A new key is a new tap.
	if taken, err := f.tap(f.kiosk, f.topicA, "fi", false); err != nil || taken.Ticket.Label() != "A 2" {
		t.Fatalf("next tap: %v %+v", err, taken.Ticket)
	}
	// A tap without a key of ours takes nothing.
	for _, key := range []string{"", "short", NewTakeKey() + "x"} {
		_, _, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), TakeRequest{TopicID: f.topicA, Language: "fi", Key: key})
		wantErr(t, "key "+key, err, ErrInvalidKey)
	}
}

// A tap sent again after the service point closed, after the kiosk reached
// its flood limit, or naming a topic switched off since, still gets its
// first ticket: the repeat is looked up before any refusal is given.
func TestRepeatedTapOutlivesRefusals(t *testing.T) {
	hours := `{"3":["08:00","16:00"]}`
	f := newFixture(t, hours, time.Date(2026, 12, 2, 15, 59, 0, 0, helsinki))
	f.svc.FloodLimit = 1
	req := TakeRequest{TopicID: f.topicA, Language: "fi", Key: NewTakeKey()}
	_, first, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), req)
	if err != nil {
		t.Fatal(err)
	}
	repeat := func(what string, want error) {
		t.Helper()
		_, again, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), req)
		if err != nil || !again.Repeat || again.Ticket.ID != first.Ticket.ID || again.Token != first.Token {
			t.Fatalf("%s: %v, %+v; want the first ticket again", what, err, again.Ticket)
		}
		// A new tap is refused.
		other := req
		other.Key = NewTakeKey()
		_, _, err = f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), other)
		if !errors.Is(err, want) && !(want == nil && errors.As(err, new(*ClosedError))) {
			t.Fatalf("%s: a new tap got %v, want %v", what, err, want)
		}
	}
	repeat("at the flood limit", ErrRateLimited)
	f.svc.FloodLimit = 0
	f.exec(`UPDATE topics SET active = false WHERE id = $1`, f.topicA)
	repeat("topic switched off", ErrUnknownTopic)
	f.exec(`UPDATE topics SET active = true WHERE id = $1`, f.topicA)
	f.clock.Advance(2 * time.Minute)
	repeat("closed", nil)
	if n := f.count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
}

// Many copies of one tap at the same moment, with the flood limit off (so no
// device lock orders them): still one ticket, and every copy shows it.
func TestConcurrentRepeatsGiveOneTicket(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	f.svc.FloodLimit = 0
	req := TakeRequest{TopicID: f.topicA, Language: "fi", Key: NewTakeKey()}
	const copies = 8
	ids := make(chan int64, copies)
	errs := make(chan error, copies)
	var wg sync.WaitGroup
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, taken, err := f.svc.TakeAtKiosk(f.ctx, f.kioskOf(f.kiosk), req)
			if err != nil {
				errs <- err
				return
			}
			ids <- taken.Ticket.ID
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var first int64
	for id := range ids {
		if first == 0 {
			first = id
		}
		if id != first {
			t.Fatalf("copies of one tap got tickets %d and %d", first, id)
		}
	}
	if n := f.count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets from copies of one tap", n)
	}
	if n := f.count(`SELECT last_number FROM ticket_counters`); n != 1 {
		t.Fatalf("counter %d: a copy's number was not given back", n)
	}
}

// The statement that inserts a ticket builds its event's data itself
// (summarySQL); it must say what summarize says of the same ticket, for a
// new ticket and for one with every field filled, and name every field.
func TestSummarySQLIsSummarize(t *testing.T) {
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Summary]()) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !strings.Contains(summarySQL, "'"+name+"'") {
			t.Errorf("summarySQL has no %q", name)
		}
	}
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fresh, _ := f.take(f.topicA, "fi")
	full, _ := f.take(f.topicB, "ar")
	f.exec(`UPDATE tickets SET state = 'called', desk_id = $2, for_desk_id = $2, recalls = 2, called_at = now(),
		last_called_at = now(), for_staff_id = $3, booked_for = now(), interpreter = true WHERE id = $1`,
		full.ID, f.desk1, f.staff1)
	for _, id := range []int64{fresh.ID, full.ID} {
		var fromSQL []byte
		var tk Ticket
		err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) error {
			var err error
			if tk, err = scanTicket(tx.QueryRow(f.ctx, `SELECT `+ticketCols+ticketFrom+` WHERE t.id = $1`, id)); err != nil {
				return err
			}
			return tx.QueryRow(f.ctx, `SELECT (`+summarySQL+`)::text`+ticketFrom+` WHERE t.id = $1`, id).Scan(&fromSQL)
		})
		if err != nil {
			t.Fatal(err)
		}
		var got Summary
		if err := json.Unmarshal(fromSQL, &got); err != nil {
			t.Fatalf("%s: %v", fromSQL, err)
		}
		want := summarize(tk)
		// Times are the same instants written in two ways.
		for _, p := range [][2]*time.Time{{&got.CreatedAt, &want.CreatedAt}, {got.CalledAt, want.CalledAt}, {got.BookedFor, want.BookedFor}} {
			if (p[0] == nil) != (p[1] == nil) || p[0] != nil && !p[0].Equal(*p[1]) {
				t.Fatalf("ticket %d: times differ: SQL %s, Go %+v", id, fromSQL, want)
			}
			if p[0] != nil {
				*p[0] = *p[1]
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ticket %d: SQL says %+v (%s), summarize %+v", id, got, fromSQL, want)
		}
	}
}

// With the kiosk cache on, a tap sets the tenant the cache names, and the
// device is still checked in the tap's transaction: a kiosk revoked or
// moved to another municipality while the cache has not heard of it yet
// takes nothing.
func TestTapTrustsTheKioskCacheOnlyForTheTenant(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	f.svc.CacheKiosks(func() bool { return true })
	k := f.kioskOf(f.kiosk)
	if _, err := f.svc.KioskScreen(f.ctx, k); err != nil {
		t.Fatal(err)
	}
	tap := func() error {
		_, _, err := f.svc.TakeAtKiosk(f.ctx, k, TakeRequest{TopicID: f.topicA, Language: "fi", Key: NewTakeKey()})
		return err
	}
	if err := tap(); err != nil {
		t.Fatal(err)
	}
	// Moved to a service point of another municipality, the cache not told.
	other := f.addTenant()
	otherSP := f.addServicePoint(other, `{}`)
	f.exec(`UPDATE devices SET municipality_id = $2, service_point_id = $3 WHERE id = $1`, f.kiosk, other, otherSP)
	if err := tap(); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("a kiosk moved away took a ticket at its old service point: %v", err)
	}
	f.exec(`UPDATE devices SET municipality_id = $2, service_point_id = $3 WHERE id = $1`, f.kiosk, f.tenant, f.sp)
	f.exec(`UPDATE devices SET revoked_at = now() WHERE id = $1`, f.kiosk)
	if err := tap(); !errors.Is(err, ErrUnknownDevice) {
		t.Fatalf("a revoked kiosk took a ticket: %v", err)
	}
	if n := f.count(`SELECT count(*) FROM tickets`); n != 1 {
		t.Fatalf("%d tickets, want 1", n)
	}
}
