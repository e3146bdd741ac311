package queue

import (
	"testing"
	"time"
)

// checkWaiting compares the kept waiting counts (migration 00016) with a
// count of the waiting tickets, for every topic and day.
func (f *fixture) checkWaiting(step string) {
	f.t.Helper()
	var wrong []string
	rows, err := f.owner.Query(f.ctx, `
		SELECT format('topic %s on %s: kept %s, counted %s', coalesce(w.topic_id, c.topic_id),
			coalesce(w.service_day, c.service_day), coalesce(w.waiting, 0), coalesce(c.n, 0))
		FROM topic_waiting w
		FULL JOIN (SELECT topic_id, service_day, count(*) AS n FROM tickets
		           WHERE state = 'waiting' AND for_desk_id IS NULL GROUP BY 1, 2) c
		  ON c.topic_id = w.topic_id AND c.service_day = w.service_day
		WHERE coalesce(w.waiting, 0) <> coalesce(c.n, 0)`)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		wrong = append(wrong, s)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	if len(wrong) > 0 {
		f.t.Fatalf("after %s the waiting counts are wrong: %v", step, wrong)
	}
}

// The take reads who is ahead from the kept count instead of counting; the
// count must follow every way a ticket starts or stops waiting.
func TestWaitingCountFollowsEveryChange(t *testing.T) {
	wed := futureWednesday(10, 0)
	f := newFixture(t, `{}`, wed.AddDate(0, 0, -1))
	at := func(desk, staff int64) Expert { return f.expert(f.tenant, f.sp, desk, staff, nil) }

	// Tuesday's leftovers, closed with the day on Wednesday.
	f.takeAfter(time.Minute, f.topicA, "fi")
	f.takeAfter(time.Minute, f.topicB, "fi")
	f.clock.Set(wed)
	a1 := f.takeAfter(time.Minute, f.topicA, "fi")
	a2 := f.takeAfter(time.Minute, f.topicA, "fi")
	b1 := f.takeAfter(time.Minute, f.topicB, "fi")
	f.takeAfter(time.Minute, f.topicC, "fi")
	f.checkWaiting("taking")
	taken, err := f.tap(f.kiosk, f.topicA, "fi", false)
	if err != nil || taken.Ahead != 2 || taken.Position != 3 {
		t.Fatalf("third ticket of topic A: ahead %d, position %d, %v; want 2 and 3", taken.Ahead, taken.Position, err)
	}
	a3 := taken.Ticket

	steps := []struct {
		name string
		do   func() error
	}{
		{"calling", func() error { _, err := f.svc.Call(f.ctx, at(f.desk1, f.staff1), a1.ID); return err }},
		{"returning to the queue", func() error { _, err := f.svc.ReturnToQueue(f.ctx, at(0, f.staff1), a1.ID); return err }},
		{"calling next", func() error { _, err := f.svc.CallNext(f.ctx, at(f.desk1, f.staff1), nil); return err }},
		{"starting", func() error { _, err := f.svc.Start(f.ctx, at(0, f.staff1), a1.ID); return err }},
		{"transferring to a topic", func() error {
			_, err := f.svc.Transfer(f.ctx, at(0, f.staff1), a1.ID, &f.topicB, nil)
			return err
		}},
		{"calling the transferred", func() error { _, err := f.svc.Call(f.ctx, at(f.desk2, f.staff2), a1.ID); return err }},
		{"transferring to a desk", func() error {
			_, err := f.svc.Transfer(f.ctx, at(0, f.staff2), a1.ID, &f.topicC, &f.desk1)
			return err
		}},
		{"calling at the desk", func() error { _, err := f.svc.Call(f.ctx, at(f.desk1, f.staff1), a1.ID); return err }},
		{"no-show", func() error {
			for range 2 {
				if _, err := f.svc.Recall(f.ctx, at(0, f.staff1), a1.ID); err != nil {
					return err
				}
			}
			_, err := f.svc.NoShow(f.ctx, at(0, f.staff1), a1.ID)
			return err
		}},
		{"cancelling", func() error {
			_, tok := f.take(f.topicB, "fi")
			_, err := f.svc.Cancel(f.ctx, tok)
			return err
		}},
		{"closing the days", func() error { _, err := f.svc.CloseDay(f.ctx, f.tenant, f.sp); return err }},
		{"deleting", func() error {
			f.exec(`DELETE FROM tickets WHERE id = ANY ($1)`, []int64{a2.ID, a3.ID})
			return nil
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		f.checkWaiting(s.name)
	}
	if n := f.count(`SELECT count(*) FROM topic_waiting WHERE service_day < $1`, a1.ServiceDay); n != 0 {
		t.Fatalf("%d waiting counts of past days outlive the day's closing", n)
	}
	if n := f.count(`SELECT waiting FROM topic_waiting WHERE topic_id = $1 AND service_day = $2`, f.topicB, b1.ServiceDay); n != 1 {
		t.Fatalf("topic B: %d waiting, want 1", n)
	}
}
