package queue

import (
	"testing"
	"time"
)

func TestCloseDay(t *testing.T) {
	wed := futureWednesday(10, 0)
	hours := `{"1":["08:00","16:00"],"2":["08:00","16:00"],"3":["08:00","16:00"],"4":["08:00","16:00"],"5":["08:00","16:00"]}`
	f := newFixture(t, hours, wed.AddDate(0, 0, -1))
	sub := []byte(`{"endpoint":"https://push.example/1"}`)
	setPush := func(tok string) {
		t.Helper()
		if err := f.svc.SetPush(f.ctx, tok, sub); err != nil {
			t.Fatal(err)
		}
	}
	// Tuesday: one left waiting, one called and never seen, one still being
	// served (forgotten), one done.
	waiting, wTok := f.take(f.topicA, "fi")
	setPush(wTok)
	called, cTok := f.take(f.topicA, "fi")
	setPush(cTok)
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), called.ID))
	serving, sTok := f.take(f.topicB, "fi")
	setPush(sTok)
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), serving.ID))
	must[Ticket](t)(f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), serving.ID))
	done, _ := f.take(f.topicB, "fi")
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), done.ID))
	must[Ticket](t)(f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), done.ID))
	must[Finished](t)(f.svc.Finish(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), done.ID))
	// Another tenant's leftover, for CloseAllDue.
	other := f.addTenant()
	otherSP := f.addServicePoint(other, `{}`)
	theirs, _, err := f.takeAt(other, otherSP, f.addTopic(other, otherSP, "A", true), "fi")
	if err != nil {
		t.Fatal(err)
	}

	// Wednesday morning: today's visitor is left alone.
	f.clock.Set(wed)
	today, tTok := f.take(f.topicA, "fi")
	setPush(tTok)
	seqBefore := f.seq(SPChannel(f.sp))
	n, err := f.svc.CloseDay(f.ctx, f.tenant, f.sp)
	if err != nil || n != 2 {
		t.Fatalf("CloseDay = %d, %v; want 2 (waiting and called from Tuesday)", n, err)
	}
	for _, tk := range []Ticket{waiting, called} {
		var state string
		var finished *time.Time
		if err := f.owner.QueryRow(f.ctx, `SELECT state, finished_at FROM tickets WHERE id = $1`, tk.ID).Scan(&state, &finished); err != nil {
			t.Fatal(err)
		}
		if state != string(NotServed) || finished == nil || !finished.Equal(wed) {
			t.Fatalf("ticket %s: %s finished %v, want not_served at %v", tk.Label(), state, finished, wed)
		}
		if got := f.seq(TicketChannel(tk.ID)); got == 0 {
			t.Fatalf("ticket %s: its phone was not told", tk.Label())
		}
	}
	if f.state(serving.ID) != Serving || f.state(done.ID) != Done || f.state(today.ID) != Waiting {
		t.Fatal("CloseDay touched a ticket it should not")
	}
	if got := f.seq(SPChannel(f.sp)); got != seqBefore+1 {
		t.Fatalf("queue channel seq %d, want one day-closed event after %d", got, seqBefore)
	}
	// Tuesday's links and subscriptions are gone; today's stay.
	if n := f.count(`SELECT count(*) FROM tickets WHERE service_point_id = $1 AND service_day < $2 AND token_hash IS NOT NULL`,
		f.sp, today.ServiceDay); n != 0 {
		t.Fatalf("%d follow tokens of Tuesday remain", n)
	}
	if n := f.count(`SELECT count(*) FROM ticket_push`); n != 1 {
		t.Fatalf("%d push subscriptions remain, want today's one", n)
	}
	if n := f.count(`SELECT count(*) FROM visits`); n != 0 {
		t.Fatalf("%d visits written for tickets nobody served", n)
	}
	if n, err := f.svc.CloseDay(f.ctx, f.tenant, f.sp); err != nil || n != 0 {
		t.Fatalf("second CloseDay = %d, %v; want 0", n, err)
	}

	// Every tenant's service points in one sweep.
	n, err = f.svc.CloseAllDue(f.ctx)
	if err != nil || n != 1 {
		t.Fatalf("CloseAllDue = %d, %v; want 1 (the other tenant's)", n, err)
	}
	if f.state(theirs.ID) != NotServed || f.state(today.ID) != Waiting {
		t.Fatal("CloseAllDue closed the wrong tickets")
	}

	// After Wednesday's closing time, today's leftovers close too, and the
	// phone can still read how its ticket ended until midnight.
	f.clock.Set(wed.Add(6*time.Hour + 30*time.Minute))
	if n, err := f.svc.CloseDay(f.ctx, f.tenant, f.sp); err != nil || n != 1 {
		t.Fatalf("CloseDay after closing = %d, %v; want 1", n, err)
	}
	_, v, err := f.svc.ByToken(f.ctx, tTok)
	if err != nil || v.Ticket.State != NotServed {
		t.Fatalf("link after closing: %+v, %v", v.Ticket, err)
	}
	if n := f.count(`SELECT count(*) FROM ticket_push`); n != 0 {
		t.Fatalf("%d push subscriptions remain after closing", n)
	}
}
