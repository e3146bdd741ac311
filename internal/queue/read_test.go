package queue

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/sqldb"
)

func TestByToken(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	f.takeAfter(time.Minute, f.topicA, "fi")
	f.takeAfter(time.Minute, f.topicB, "fi") // another topic: not ahead
	f.takeAfter(time.Minute, f.topicA, "ar")
	f.clock.Advance(time.Minute)
	mine, tok := f.take(f.topicA, "en")
	f.takeAfter(time.Minute, f.topicA, "fi") // later: not ahead

	tenant, v, err := f.svc.ByToken(f.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if tenant != f.tenant || v.Ticket.ID != mine.ID || v.Ahead != 2 || v.Position != 3 {
		t.Fatalf("tenant %d ticket %d ahead %d position %d; want %d %d 2 3", tenant, v.Ticket.ID, v.Ahead, v.Position, f.tenant, mine.ID)
	}
	// No history: 10 min per visitor, one expert, 2.5 visitors → 25 min ±35 %.
	if v.WaitMin != 15*time.Minute || v.WaitMax != 35*time.Minute {
		t.Fatalf("estimate %v–%v, want 15m–35m", v.WaitMin, v.WaitMax)
	}
	if v.QueueSeq != f.seq(SPChannel(f.sp)) || v.QueueSeq != 5 || v.TicketSeq != 0 {
		t.Fatalf("seqs queue %d ticket %d", v.QueueSeq, v.TicketSeq)
	}

	// Called: the phone sees the desk.
	f.clock.Advance(time.Minute)
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), mine.ID))
	_, v, err = f.svc.ByToken(f.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if v.Ticket.State != Called || v.Ticket.DeskName != "2" || v.Ahead != 0 || v.WaitMax != 0 || v.TicketSeq != 1 {
		t.Fatalf("called view = %+v", v)
	}

	// Wrong, malformed and expired tokens all read as not found.
	random := make([]byte, tokenBytes)
	_, _ = rand.Read(random)
	for what, bad := range map[string]string{
		"random":    base64.RawURLEncoding.EncodeToString(random),
		"malformed": "not-a-token!",
		"short":     tok[:10],
		"empty":     "",
	} {
		_, _, err := f.svc.ByToken(f.ctx, bad)
		wantErr(t, what+" token", err, ErrNotFound)
	}
	// Past the service day by the service's clock…
	f.clock.Advance(24 * time.Hour)
	_, _, err = f.svc.ByToken(f.ctx, tok)
	wantErr(t, "token after its day", err, ErrNotFound)
	f.clock.Advance(-24 * time.Hour)
	// …and by the database's.
	f.exec(`UPDATE tickets SET token_expires_at = now() - interval '1 second' WHERE id = $1`, mine.ID)
	_, _, err = f.svc.ByToken(f.ctx, tok)
	wantErr(t, "expired token", err, ErrNotFound)
	_, err = f.svc.Cancel(f.ctx, tok)
	wantErr(t, "cancel with an expired token", err, ErrNotFound)
	if f.state(mine.ID) != Called {
		t.Fatal("expired token changed the ticket")
	}
}

// A visitor leaving from the phone: the link then shows "cancelled".
func TestCancelAndPush(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	tk, tok := f.take(f.topicA, "fi")
	err := f.svc.SetPush(f.ctx, tok, []byte(`[1,2]`))
	wantErr(t, "non-object subscription", err, ErrInvalidSubscription)
	sub := `{"endpoint":"https://push.example/abc","keys":{"p256dh":"x","auth":"y"}}`
	if err := f.svc.SetPush(f.ctx, tok, []byte(sub)); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.PushFor(f.ctx, f.tenant, tk.ID)
	if err != nil || p.NearSent || len(p.Subscription) == 0 {
		t.Fatalf("PushFor = %+v, %v", p, err)
	}
	// Another tenant cannot read it.
	_, err = f.svc.PushFor(f.ctx, f.addTenant(), tk.ID)
	wantErr(t, "push of another tenant's ticket", err, ErrNotFound)

	c, err := f.svc.Cancel(f.ctx, tok)
	if err != nil || c.State != Cancelled || c.FinishedAt == nil {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	_, err = f.svc.PushFor(f.ctx, f.tenant, tk.ID)
	wantErr(t, "push after cancel", err, ErrNotFound)
	_, v, err := f.svc.ByToken(f.ctx, tok)
	if err != nil || v.Ticket.State != Cancelled {
		t.Fatalf("link after cancel: %+v, %v", v.Ticket, err)
	}
	err = f.svc.SetPush(f.ctx, tok, []byte(sub))
	wantErr(t, "subscribe a cancelled ticket", err, ErrWrongState)
	_, err = f.svc.Cancel(f.ctx, tok)
	wantErr(t, "cancel twice", err, ErrWrongState)
	if got := f.seq(TicketChannel(tk.ID)); got != 1 {
		t.Fatalf("ticket channel seq %d, want 1 (cancelled)", got)
	}
}

func TestSnapshot(t *testing.T) {
	f := newFixture(t, `{}`, futureWednesday(10, 0))
	f.svc.RecentCalls = 2
	a1 := f.takeAfter(time.Minute, f.topicA, "fi")
	b1 := f.takeAfter(time.Minute, f.topicB, "ar")
	a2 := f.takeAfter(time.Minute, f.topicA, "fi")
	a3 := f.takeAfter(time.Minute, f.topicC, "fi")
	b2 := f.takeAfter(time.Minute, f.topicB, "fi")
	f.clock.Advance(time.Minute)
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), a1.ID))
	must[Ticket](t)(f.svc.Start(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), a1.ID))
	f.clock.Advance(time.Minute)
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk2, f.staff2, nil), b1.ID))
	f.clock.Advance(time.Minute)
	must[Ticket](t)(f.svc.Recall(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), b1.ID))
	f.clock.Advance(time.Minute)
	must[Finished](t)(f.svc.Finish(f.ctx, f.expert(f.tenant, f.sp, 0, f.staff1, nil), a1.ID))
	must[Ticket](t)(f.svc.Call(f.ctx, f.expert(f.tenant, f.sp, f.desk1, f.staff1, nil), a3.ID))

	st, err := f.svc.Snapshot(f.ctx, f.tenant, f.sp)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Open || st.OpensAt != nil {
		t.Fatalf("open %v opens %v", st.Open, st.OpensAt)
	}
	if len(st.Waiting) != 2 || st.Waiting[0].ID != a2.ID || st.Waiting[0].Position != 1 ||
		st.Waiting[1].ID != b2.ID || st.Waiting[1].Position != 2 {
		t.Fatalf("waiting = %+v", st.Waiting)
	}
	if len(st.Active) != 2 || st.Active[0].ID != a3.ID || st.Active[1].ID != b1.ID || st.Active[1].DeskName != "2" {
		t.Fatalf("active = %+v", st.Active)
	}
	// The display: a3 called last, then b1's recall; a1's earlier call falls off.
	if len(st.RecentCalls) != 2 || st.RecentCalls[0].ID != a3.ID || st.RecentCalls[1].ID != b1.ID {
		t.Fatalf("recent calls = %+v", st.RecentCalls)
	}
	counts := map[int64]int{}
	for _, tc := range st.Topics {
		counts[tc.TopicID] = tc.Waiting
	}
	if len(st.Topics) != 3 || counts[f.topicA] != 1 || counts[f.topicB] != 1 || counts[f.topicC] != 0 {
		t.Fatalf("topic counts = %+v", st.Topics)
	}
	if want := f.seq(SPChannel(f.sp)); st.Seq != want || want == 0 {
		t.Fatalf("snapshot seq %d, channel at %d", st.Seq, want)
	}
}

// The estimate is a range from the recent median service time shared among
// the experts at work, with fallbacks when history is thin.
func TestEstimate(t *testing.T) {
	now := futureWednesday(14, 0)
	f := newFixture(t, `{}`, now)
	done := func(topic int64, service time.Duration, staff int64, finishedAgo time.Duration) {
		fin := now.Add(-finishedAgo)
		f.exec(`INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number,
				service_day, language, state, staff_id, created_at, called_at, serving_at, finished_at)
			VALUES ($1, $2, $3, $3, 'Z', (SELECT coalesce(max(number), 0) + 1 FROM tickets), $4, 'fi', 'done', $5,
				$6, $6, $6, $7)`,
			f.tenant, f.sp, topic, now.Add(-finishedAgo).UTC().Truncate(24*time.Hour), staff, fin.Add(-service), fin)
	}
	est := func(topic int64, ahead int) (time.Duration, time.Duration) {
		var lo, hi time.Duration
		err := f.db.InTenant(f.ctx, f.tenant, func(tx sqldb.Tx) (err error) {
			lo, hi, err = f.svc.Estimate(f.ctx, tx, f.sp, topic, ahead)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if lo > hi || lo < 0 || lo%estimateStep != 0 || hi%estimateStep != 0 {
			t.Fatalf("estimate %v–%v is not an ordered 5-minute range", lo, hi)
		}
		return lo, hi
	}
	// Nothing known: 10 minutes each, one expert assumed.
	if lo, hi := est(f.topicA, 0); lo != 0 || hi != 10*time.Minute {
		t.Fatalf("next in line, no history: %v–%v, want 0–10m", lo, hi)
	}
	// Topic A: five 20-minute services by two experts within the hour;
	// topic B: too few of its own, so the service point's median applies.
	for i := range 5 {
		done(f.topicA, 20*time.Minute, []int64{f.staff1, f.staff2}[i%2], time.Duration(10+i)*time.Minute)
	}
	done(f.topicB, 2*time.Minute, f.staff1, 20*time.Minute)
	// Older than two weeks: ignored.
	done(f.topicA, 3*time.Hour, f.staff1, 15*24*time.Hour)

	// The pace read a moment ago is still used, until paceTTL has passed.
	if lo, hi := est(f.topicA, 0); lo != 0 || hi != 10*time.Minute {
		t.Fatalf("within paceTTL: %v–%v, want the pace read before, 0–10m", lo, hi)
	}
	f.clock.Advance(paceTTL)
	// A: 20 min / 2 experts × 3.5 = 35 min → 22.75–47.25 → 20–50.
	if lo, hi := est(f.topicA, 3); lo != 20*time.Minute || hi != 50*time.Minute {
		t.Fatalf("topic A, 3 ahead: %v–%v, want 20m–50m", lo, hi)
	}
	// B: median of six (20,20,20,20,20,2) = 20 → the same.
	if lo, hi := est(f.topicB, 3); lo != 20*time.Minute || hi != 50*time.Minute {
		t.Fatalf("topic B, 3 ahead: %v–%v, want 20m–50m", lo, hi)
	}
	// Experts who last called over an hour ago no longer count.
	f.clock.Advance(2 * time.Hour)
	if lo, hi := est(f.topicA, 3); lo != 45*time.Minute || hi != 95*time.Minute {
		t.Fatalf("topic A, no one calling: %v–%v, want 45m–95m (70 min ±35 %%)", lo, hi)
	}
}

func TestWaitRange(t *testing.T) {
	for _, c := range []struct {
		service       time.Duration
		experts       int
		ahead         int
		wantLo, wantH time.Duration
	}{
		{10 * time.Minute, 1, 0, 0, 10 * time.Minute},                 // 5 → 3.25–6.75
		{10 * time.Minute, 3, 0, 0, 5 * time.Minute},                  // 1.67 → 1.08–2.25
		{10 * time.Minute, 1, 9, 60 * time.Minute, 130 * time.Minute}, // 95 → 61.75–128.25
		{time.Minute, 1, 0, 0, 5 * time.Minute},
	} {
		lo, hi := waitRange(c.service, c.experts, c.ahead)
		if lo != c.wantLo || hi != c.wantH {
			t.Errorf("waitRange(%v, %d, %d) = %v–%v, want %v–%v", c.service, c.experts, c.ahead, lo, hi, c.wantLo, c.wantH)
		}
	}
}

// Take shows the new ticket with the same people-ahead count and estimate
// the phone's view gives afterwards.
func TestTakeGivesTheViewItsFollowLinkGives(t *testing.T) {
	f := newFixture(t, "{}", futureWednesday(10, 0))
	ctx := context.Background()
	f.take(f.topicA, "fi")
	f.take(f.topicB, "fi")
	taken, err := f.tap(f.kiosk, f.topicA, "en", false)
	if err != nil {
		t.Fatal(err)
	}
	v, token := taken.View, taken.Token
	if v.Ticket.Label() != "A 2" || v.Ahead != 1 || v.Position != 2 || v.WaitMax < v.WaitMin || v.WaitMax == 0 {
		t.Fatalf("Take gave %+v", v)
	}
	_, byToken, err := f.svc.ByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if byToken.Ahead != v.Ahead || byToken.WaitMin != v.WaitMin || byToken.WaitMax != v.WaitMax {
		t.Fatalf("Take %+v, ByToken %+v", v, byToken)
	}
}
