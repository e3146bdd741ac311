package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/live"
)

type latencyOptions struct {
	screens  int
	tickets  int
	interval time.Duration
}

type latencyResult struct {
	Screens, Tickets int
	Expected         int // tickets × screens
	Missing          int // expected messages that never arrived
	Duplicates       int
	Unexpected       int // ticket.created for a ticket this run did not take
	// CommitTS tells whether PostgreSQL dated the commits (FromCommit is
	// then filled in).
	CommitTS bool
	// Latency to each screen, from the commit and from the ticket's
	// created_at, over all (ticket, screen) pairs and per instance.
	FromCommit, FromCreated                     dist
	FromCommitByInstance, FromCreatedByInstance []dist
	// The stages, through a LISTEN session of our own: commit to its
	// notification, and that notification to the screens.
	CommitToListen, ListenToScreen dist
	CreatedToCommit                dist // how much earlier created_at is than the commit
	Post                           dist // the kiosk POST's round trip
	Skew, SkewRTT                  time.Duration
	CPU                            []cpuShare
	Instances                      []string
}

// runLatency connects the screens over the instances, takes tickets one at a
// time through the first instance, and measures when each screen hears of
// each ticket.
func runLatency(ctx context.Context, e *env, instances []*portalProc, o latencyOptions) (latencyResult, error) {
	r := latencyResult{Screens: o.screens}
	var bases []string
	for _, p := range instances {
		bases = append(bases, p.base)
		r.Instances = append(r.Instances, p.name)
	}
	topics, err := activeTopics(ctx, e)
	if err != nil {
		return r, err
	}
	// Whatever (a) left in the queue would only slow the kiosk's page, not
	// the path measured here; an empty day keeps the runs alike all the same.
	if err := freshDay(ctx, e); err != nil {
		return r, err
	}

	// Our own LISTEN session sees each notification as any listener would:
	// the time it arrives splits the path into database and portal.
	lctx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	heard, listenDone, err := listenForTickets(lctx, e)
	if err != nil {
		return r, err
	}

	logf("(b) connecting %d screens over %d instances", o.screens, len(instances))
	screens, err := dialScreens(ctx, bases, o.screens, 32, true)
	if err != nil {
		return r, err
	}
	defer closeScreens(screens)
	if err := waitResynced(ctx, screens, time.Minute); err != nil {
		return r, err
	}
	if r.Skew, r.SkewRTT, err = clockSkew(ctx, e); err != nil {
		return r, err
	}

	k, err := newKiosk(ctx, instances[0].base, topics[0], "")
	if err != nil {
		return r, err
	}
	defer k.close()
	meter := &cpuMeter{}
	for _, p := range instances {
		meter.add(p.name, func() (time.Duration, error) { return processCPU(p.pid()) })
	}
	pm := e.postmasterPID()
	meter.add("postgres", func() (time.Duration, error) { return familyCPU(pm) })
	meter.add("loadgen", func() (time.Duration, error) { return selfCPU(), nil })

	logf("(b) taking %d tickets through %s, one every %s", o.tickets, instances[0].name, o.interval)
	a := meter.sample()
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	taken := make(map[string]bool, o.tickets)
	var posts []time.Duration
	for range o.tickets {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return r, ctx.Err()
		}
		t0 := time.Now()
		label, err := k.take(ctx)
		if err != nil {
			return r, err
		}
		posts = append(posts, time.Since(t0))
		if taken[label] {
			return r, fmt.Errorf("ticket %q was given twice", label)
		}
		taken[label] = true
	}
	b := meter.sample()
	r.CPU = meter.between(a, b)
	r.Post = summarize(posts)
	r.Tickets = len(taken)
	r.Expected = r.Tickets * len(screens)

	// Everything should be there within milliseconds; wait at most 10 s.
	waitUntil(10*time.Second, func() bool {
		for _, s := range screens {
			s.mu.Lock()
			n := len(s.events)
			s.mu.Unlock()
			if n < r.Tickets {
				return false
			}
		}
		return true
	})
	if err := screensFailed(screens); err != nil {
		return r, err
	}
	stopListen()
	<-listenDone

	ids := map[string]int64{} // label → ticket id, as the events tell
	for _, s := range screens {
		s.mu.Lock()
		for _, ev := range s.events {
			ids[ev.label] = ev.id
		}
		s.mu.Unlock()
	}
	commits, err := commitTimes(ctx, e, ids)
	if err != nil {
		return r, err
	}
	r.CommitTS = len(commits) > 0

	var fromCommit, fromCreated, listenToScreen []time.Duration
	byInstCommit := make([][]time.Duration, len(instances))
	byInstCreated := make([][]time.Duration, len(instances))
	for _, s := range screens {
		s.mu.Lock()
		seen := make(map[string]bool, len(s.events))
		for _, ev := range s.events {
			if !taken[ev.label] {
				r.Unexpected++
				continue
			}
			if seen[ev.label] {
				r.Duplicates++
				continue
			}
			seen[ev.label] = true
			d := ev.at.Sub(ev.createdAt)
			fromCreated = append(fromCreated, d)
			byInstCreated[s.instance] = append(byInstCreated[s.instance], d)
			if c, ok := commits[ev.id]; ok {
				d := ev.at.Sub(c)
				fromCommit = append(fromCommit, d)
				byInstCommit[s.instance] = append(byInstCommit[s.instance], d)
			}
			if h, ok := heard[ev.label]; ok {
				listenToScreen = append(listenToScreen, ev.at.Sub(h.at))
			}
		}
		r.Missing += r.Tickets - len(seen)
		s.mu.Unlock()
	}
	var commitToListen, createdToCommit []time.Duration
	for label, h := range heard {
		if !taken[label] {
			continue
		}
		if c, ok := commits[h.id]; ok {
			commitToListen = append(commitToListen, h.at.Sub(c))
			createdToCommit = append(createdToCommit, c.Sub(h.createdAt))
		}
	}
	r.FromCommit, r.FromCreated = summarize(fromCommit), summarize(fromCreated)
	for i := range instances {
		r.FromCommitByInstance = append(r.FromCommitByInstance, summarize(byInstCommit[i]))
		r.FromCreatedByInstance = append(r.FromCreatedByInstance, summarize(byInstCreated[i]))
	}
	r.CommitToListen, r.ListenToScreen = summarize(commitToListen), summarize(listenToScreen)
	r.CreatedToCommit = summarize(createdToCommit)
	return r, nil
}

// listenForTickets records when each ticket.created notification reaches a
// LISTEN session of ours, keyed by label. The map is complete once done is
// closed.
func listenForTickets(ctx context.Context, e *env) (map[string]arrival, <-chan struct{}, error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Exec(ctx, "LISTEN "+pgx.Identifier{live.NotifyChannel}.Sanitize()); err != nil {
		c.Close(context.Background())
		return nil, nil, err
	}
	heard := map[string]arrival{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Close(context.Background())
		for range maxMessages {
			n, err := c.WaitForNotification(ctx)
			if err != nil {
				return // ctx ended; a lost session shows as a gap in the stage figures
			}
			at := time.Now()
			var m liveMsg
			if json.Unmarshal([]byte(n.Payload), &m) == nil && m.Type == "ticket.created" {
				heard[m.Data.Label] = arrival{at: at, id: m.Data.ID, label: m.Data.Label, createdAt: m.Data.CreatedAt}
			}
		}
	}()
	return heard, done, nil
}

// commitTimes asks PostgreSQL when each ticket's inserting transaction
// committed (track_commit_timestamp). The timestamp is taken just before
// the commit record is flushed, so it is at most the flush earlier than the
// moment the ticket became visible: latency measured from it errs, if at
// all, on the long side.
func commitTimes(ctx context.Context, e *env, ids map[string]int64) (map[int64]time.Time, error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	list := make([]int64, 0, len(ids))
	for _, id := range ids {
		list = append(list, id)
	}
	rows, err := c.Query(ctx, `SELECT id, pg_xact_commit_timestamp(xmin) FROM tickets WHERE id = ANY($1)`, list)
	if err != nil {
		return nil, err
	}
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var ts *time.Time
		if err := rows.Scan(&id, &ts); err != nil {
			return nil, err
		}
		if ts != nil {
			out[id] = *ts
		}
	}
	return out, rows.Err()
}

// clockSkew compares PostgreSQL's clock with ours over the fastest of a few
// round trips. On one machine both read the same system clock, so the
// offset should be within the round trip's half.
func clockSkew(ctx context.Context, e *env) (offset, rtt time.Duration, err error) {
	c, err := e.connect(ctx, dbName)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close(context.Background())
	rtt = time.Hour
	for range 9 {
		var db time.Time
		t0 := time.Now()
		if err := c.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&db); err != nil {
			return 0, 0, err
		}
		t1 := time.Now()
		if d := t1.Sub(t0); d < rtt {
			rtt = d
			offset = db.Sub(t0.Add(d / 2))
		}
	}
	return offset, rtt, nil
}

// waitUntil polls cond every 50 ms for at most limit.
func waitUntil(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for range int(limit/(50*time.Millisecond)) + 1 {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

var errMissing = errors.New("screens missed messages")
