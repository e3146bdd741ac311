package queue

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// Experts pressing "call next" at the same moment, round after round, never
// get the same visitor, and every waiting visitor is called exactly once.
func TestCallNextConcurrentNeverTwice(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	const rounds, perRound = 5, 30
	desks := []int64{f.desk1, f.desk2, f.addDesk(f.tenant, f.sp, "3"), f.addDesk(f.tenant, f.sp, "4")}
	staff := []int64{f.staff1, f.staff2, f.addStaff(f.tenant), f.addStaff(f.tenant)}
	for round := range rounds {
		waiting := map[int64]bool{}
		for i := range perRound {
			topic := f.topicA
			if i%3 == 0 {
				topic = f.topicB
			}
			waiting[f.takeAfter(time.Second, topic, []string{"fi", "ar", "en"}[i%3]).ID] = true
		}
		var mu sync.Mutex
		got := map[int64]int64{} // ticket → desk
		var dup []int64
		var wg sync.WaitGroup
		errs := make(chan error, len(desks))
		start := make(chan struct{})
		for i := range desks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					tk, err := f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, desks[i], staff[i], []string{"fi"}), nil)
					if errors.Is(err, ErrQueueEmpty) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if _, seen := got[tk.ID]; seen {
						dup = append(dup, tk.ID)
					}
					got[tk.ID] = desks[i]
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(dup) > 0 {
			t.Fatalf("round %d: tickets called twice: %v", round, dup)
		}
		if len(got) != len(waiting) {
			t.Fatalf("round %d: %d of %d waiting tickets called", round, len(got), len(waiting))
		}
		for id, desk := range got {
			if !waiting[id] {
				t.Fatalf("round %d: called ticket %d that was not waiting", round, id)
			}
			var state string
			var dbDesk int64
			if err := f.owner.QueryRow(f.ctx, `SELECT state, desk_id FROM tickets WHERE id = $1`, id).Scan(&state, &dbDesk); err != nil {
				t.Fatal(err)
			}
			if state != string(Called) || dbDesk != desk {
				t.Fatalf("round %d: ticket %d is %s at desk %d, handed to desk %d", round, id, state, dbDesk, desk)
			}
		}
	}
}

// The expert's languages come first, then the earliest arrival.
func TestCallNextLanguageFirstThenOldest(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	fi := f.takeAfter(time.Minute, f.topicA, "fi")
	ar1 := f.takeAfter(time.Minute, f.topicA, "ar")
	en := f.takeAfter(time.Minute, f.topicA, "en")
	zh := f.takeAfter(time.Minute, f.topicA, "zh-Hans")
	ar2 := f.takeAfter(time.Minute, f.topicA, "ar")
	want := []Ticket{ar1, zh, ar2, fi, en}
	for i, w := range want {
		tk, err := f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, []string{"AR", "zh"}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if tk.ID != w.ID {
			t.Fatalf("call %d: got %s (%s), want %s (%s)", i+1, tk.Label(), tk.Language, w.Label(), w.Language)
		}
		if tk.State != Called || tk.DeskName != "1" || tk.StaffID == nil || *tk.StaffID != f.staff1 ||
			tk.CalledAt == nil || !tk.CalledAt.Equal(f.clock.Now()) {
			t.Fatalf("called ticket = %+v", tk)
		}
	}
	_, err := f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), nil)
	wantErr(t, "empty queue", err, ErrQueueEmpty)
	// Every call reached the display and the phone.
	if got := f.seq(SPChannel(f.sp)); got != 10 {
		t.Fatalf("queue channel seq %d, want 5 created + 5 called", got)
	}
	if got := f.seq(TicketChannel(ar1.ID)); got != 1 {
		t.Fatalf("ticket channel seq %d, want 1", got)
	}
}

func TestCallNextTopicFilterAndDesk(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	a := f.takeAfter(time.Minute, f.topicA, "fi")
	b := f.takeAfter(time.Minute, f.topicB, "fi")
	tk, err := f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), []int64{f.topicB})
	if err != nil || tk.ID != b.ID {
		t.Fatalf("topic B only: got %v %v, want %s", tk.Label(), err, b.Label())
	}
	_, err = f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), []int64{f.topicB})
	wantErr(t, "topic B exhausted while A waits", err, ErrQueueEmpty)
	if f.state(a.ID) != Waiting {
		t.Fatal("topic A ticket was touched")
	}
	// A desk or staff member from elsewhere cannot call.
	sp2 := f.addServicePoint(f.tenant, `{}`)
	_, err = f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.addDesk(f.tenant, sp2, "x"), f.staff1, nil), nil)
	wantErr(t, "desk of another service point", err, ErrUnknownDesk)
	other := f.addTenant()
	_, err = f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.addStaff(other), nil), nil)
	wantErr(t, "staff of another tenant", err, ErrUnknownStaff)
	if f.state(a.ID) != Waiting {
		t.Fatal("topic A ticket was touched by a refused call")
	}
}

// A ticket transferred to a desk is called by that desk only, and a transfer
// keeps the visitor's place by their original arrival.
func TestTransfer(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	x := f.takeAfter(time.Minute, f.topicA, "fi")
	y := f.takeAfter(time.Minute, f.topicA, "fi")
	z := f.takeAfter(time.Minute, f.topicB, "fi")

	f.clock.Advance(time.Minute)
	must[Ticket](t)(f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), nil)) // x
	must[Ticket](t)(f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), x.ID))
	_, err := f.svc.Transfer(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), x.ID, nil, nil)
	wantErr(t, "transfer nowhere", err, ErrNoTransferTarget)
	bogus := int64(987654321)
	_, err = f.svc.Transfer(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), x.ID, nil, &bogus)
	wantErr(t, "transfer to unknown desk", err, ErrUnknownDesk)
	_, err = f.svc.Transfer(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), x.ID, &bogus, nil)
	wantErr(t, "transfer to unknown topic", err, ErrUnknownTopic)
	if f.state(x.ID) != Serving {
		t.Fatal("refused transfer changed the ticket")
	}
	tx, err := f.svc.Transfer(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), x.ID, nil, &f.desk2)
	if err != nil {
		t.Fatal(err)
	}
	if tx.State != Waiting || tx.ForDeskID == nil || *tx.ForDeskID != f.desk2 || tx.DeskID != nil || tx.Transfers != 1 ||
		!tx.CreatedAt.Equal(x.CreatedAt) || tx.Label() != x.Label() {
		t.Fatalf("transferred ticket = %+v", tx)
	}
	// Desk 1 skips it, and cannot take it by number either.
	got := must[Ticket](t)(f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), nil))
	if got.ID != y.ID {
		t.Fatalf("desk 1 called %s, want %s", got.Label(), y.Label())
	}
	_, err = f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), x.ID)
	wantErr(t, "desk 1 calls a ticket kept for desk 2", err, ErrOtherDesk)
	// Desk 2 gets it before the later z.
	got = must[Ticket](t)(f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), nil))
	if got.ID != x.ID {
		t.Fatalf("desk 2 called %s, want the transferred %s", got.Label(), x.Label())
	}

	// To another topic: x now waits for topic B ahead of z, who came later.
	tx, err = f.svc.Transfer(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), x.ID, &f.topicB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tx.TopicID != f.topicB || tx.OriginalTopicID != f.topicA || tx.ForDeskID != nil || tx.Transfers != 2 {
		t.Fatalf("transferred ticket = %+v", tx)
	}
	got = must[Ticket](t)(f.svc.CallNext(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), []int64{f.topicB}))
	if got.ID != x.ID {
		t.Fatalf("topic B called %s, want the transferred %s before %s", got.Label(), x.Label(), z.Label())
	}
}

func TestStateMachine(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	tk, tok := f.take(f.topicA, "fi")
	if err := f.svc.SetPush(f.ctx, tok, []byte(`{"endpoint":"https://push.example/1"}`)); err != nil {
		t.Fatal(err)
	}

	refused := map[string]func() (Ticket, error){
		"start while waiting":   func() (Ticket, error) { return f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID) },
		"recall while waiting":  func() (Ticket, error) { return f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID) },
		"no-show while waiting": func() (Ticket, error) { return f.svc.NoShow(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID) },
		"return while waiting": func() (Ticket, error) {
			return f.svc.ReturnToQueue(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
		},
		"transfer while waiting": func() (Ticket, error) {
			return f.svc.Transfer(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID, &f.topicB, nil)
		},
		"finish while waiting": func() (Ticket, error) {
			f2, err := f.svc.Finish(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
			return f2.Ticket, err
		},
		"call a missing ticket": func() (Ticket, error) {
			return f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), 987654321)
		},
		"recall a missing ticket": func() (Ticket, error) {
			return f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), 987654321)
		},
	}
	for what, fn := range refused {
		_, err := fn()
		want := ErrWrongState
		if what == "call a missing ticket" || what == "recall a missing ticket" {
			want = ErrNotFound
		}
		wantErr(t, what, err, want)
	}
	if f.state(tk.ID) != Waiting {
		t.Fatal("refused transitions changed the ticket")
	}

	f.clock.Advance(7 * time.Minute)
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), tk.ID))
	_, err := f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), tk.ID)
	wantErr(t, "call twice", err, ErrWrongState)
	_, err = f.svc.NoShow(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
	wantErr(t, "no-show without recalls", err, ErrTooEarlyForNoShow)
	r := must[Ticket](t)(f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID))
	if r.Recalls != 1 || r.State != Called {
		t.Fatalf("after recall: %+v", r)
	}
	_, err = f.svc.NoShow(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
	wantErr(t, "no-show after one recall of two", err, ErrTooEarlyForNoShow)
	// Back to the queue and called again: recalls start over.
	back := must[Ticket](t)(f.svc.ReturnToQueue(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID))
	if back.State != Waiting || back.DeskID != nil || back.Recalls != 0 {
		t.Fatalf("after return: %+v", back)
	}
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), tk.ID))
	f.clock.Advance(time.Minute)
	must[Ticket](t)(f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID))
	_, err = f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
	wantErr(t, "recall while serving", err, ErrWrongState)
	_, err = f.svc.ReturnToQueue(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
	wantErr(t, "return while serving", err, ErrWrongState)
	f.clock.Advance(12 * time.Minute)
	fin, err := f.svc.Finish(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fin.State != Done || fin.Wait != 7*time.Minute || fin.Service != 12*time.Minute {
		t.Fatalf("finished: state %s wait %v service %v, want done 7m 12m", fin.State, fin.Wait, fin.Service)
	}
	if n := f.count(`SELECT count(*) FROM ticket_push WHERE ticket_id = $1`, tk.ID); n != 0 {
		t.Fatal("push subscription outlived the ticket")
	}
	_, err = f.svc.Finish(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), tk.ID)
	wantErr(t, "finish twice", err, ErrWrongState)
	_, err = f.svc.Cancel(f.ctx, tok)
	wantErr(t, "cancel when done", err, ErrWrongState)
	// called, recalled, returned, called, serving, done (created goes to the queue only).
	if got := f.seq(TicketChannel(tk.ID)); got != 6 {
		t.Fatalf("ticket channel seq %d, want 6", got)
	}

	// No-show once recalled max_recalls (2) times.
	ns, _ := f.take(f.topicA, "fi")
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), ns.ID))
	must[Ticket](t)(f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), ns.ID))
	must[Ticket](t)(f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), ns.ID))
	gone := must[Ticket](t)(f.svc.NoShow(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), ns.ID))
	if gone.State != NoShow || gone.FinishedAt == nil {
		t.Fatalf("no-show: %+v", gone)
	}
	_, err = f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), ns.ID)
	wantErr(t, "start after no-show", err, ErrWrongState)
}

// Another service point's or another tenant's ticket is not there for the
// caller, whatever the action, and stays as it was.
func TestOtherServicePointOrTenant(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	sp2 := f.addServicePoint(f.tenant, `{}`)
	topic2 := f.addTopic(f.tenant, sp2, "A", true)
	mine := must[Ticket](t)(func() (Ticket, error) {
		tk, _, err := f.takeAt(f.tenant, sp2, topic2, "fi")
		return tk, err
	}())
	otherTenant := f.addTenant()
	otherSP := f.addServicePoint(otherTenant, `{}`)
	otherTopic := f.addTopic(otherTenant, otherSP, "A", true)
	theirs := must[Ticket](t)(func() (Ticket, error) {
		tk, _, err := f.takeAt(otherTenant, otherSP, otherTopic, "fi")
		return tk, err
	}())
	for _, target := range []struct {
		name   string
		sp, id int64
	}{{"other service point", f.sp, mine.ID}, {"other tenant, own sp", f.sp, theirs.ID}, {"other tenant, its sp", otherSP, theirs.ID}} {
		actions := map[string]func() error{
			"call": func() error {
				_, err := f.svc.Call(f.ctx, f.expert(f.tenant, target.sp, f.desk1, f.staff1, nil), target.id)
				return err
			},
			"recall": func() error {
				_, err := f.svc.Recall(f.ctx, f.expert(f.tenant, target.sp, 0, f.staff1, nil), target.id)
				return err
			},
			"start": func() error {
				_, err := f.svc.Start(f.ctx, f.expert(f.tenant, target.sp, 0, f.staff1, nil), target.id)
				return err
			},
			"finish": func() error {
				_, err := f.svc.Finish(f.ctx, f.expert(f.tenant, target.sp, 0, f.staff1, nil), target.id)
				return err
			},
			"no-show": func() error {
				_, err := f.svc.NoShow(f.ctx, f.expert(f.tenant, target.sp, 0, f.staff1, nil), target.id)
				return err
			},
			"return": func() error {
				_, err := f.svc.ReturnToQueue(f.ctx, f.expert(f.tenant, target.sp, 0, f.staff1, nil), target.id)
				return err
			},
			"transfer": func() error {
				_, err := f.svc.Transfer(f.ctx, f.expert(f.tenant, target.sp, 0, f.staff1, nil), target.id, &f.topicA, nil)
				return err
			},
		}
		for what, fn := range actions {
			err := fn()
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s on %s: got %v, want ErrNotFound", what, target.name, err)
			}
		}
	}
	if f.state(mine.ID) != Waiting || f.state(theirs.ID) != Waiting {
		t.Fatal("a refused action changed a ticket")
	}
	if _, err := f.svc.Snapshot(f.ctx, f.tenant, otherSP); !errors.Is(err, ErrNotFound) {
		t.Fatalf("snapshot of another tenant's service point: %v", err)
	}
	if _, err := f.svc.CallNext(f.ctx, f.expert(f.tenant, otherSP, f.desk1, f.staff1, nil), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("call next at another tenant's service point: %v", err)
	}
	if got := f.seq(TicketChannel(theirs.ID)) + f.seq(TicketChannel(mine.ID)); got != 0 {
		t.Fatal("refused actions published events")
	}
}

// The service checks who acts, once, where the handler cannot forget it:
// an expert of another service point is refused, an address the
// municipality does not have is not found, and another service point's
// ticket is not one of this one's.
func TestActionsCheckTheExpert(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	tk, _ := f.take(f.topicA, "fi")
	sp2 := f.addServicePoint(f.tenant, `{}`)
	elsewhere := f.expert(f.tenant, sp2, 0, f.staff1, nil)
	elsewhere.Slug = f.expert(f.tenant, f.sp, 0, f.staff1, nil).Slug
	_, err := f.svc.Call(f.ctx, Expert{Actor: elsewhere.Actor, Slug: elsewhere.Slug, Desk: f.desk1}, tk.ID)
	wantErr(t, "an expert of another service point", err, ErrForbidden)
	missing := f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil)
	missing.Slug = "no-such-place"
	_, err = f.svc.CallNext(f.ctx, missing, nil)
	wantErr(t, "an unknown service point", err, ErrNotFound)
	_, err = f.svc.Recall(f.ctx, f.expert(f.tenant, sp2, 0, f.staff1, nil), tk.ID)
	wantErr(t, "another service point's ticket", err, ErrUnknownTicket)
	if f.state(tk.ID) != Waiting {
		t.Fatal("a refused action changed the ticket")
	}
}
