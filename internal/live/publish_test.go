package live

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

// The application role (not the owner) must be able to number and announce.
func TestAppRoleCanPublish(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	var user string
	var seq int64
	err := db.Tx(ctx, func(tx sqldb.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT current_user`).Scan(&user); err != nil {
			return err
		}
		var err error
		seq, err = Publish(ctx, tx, "sp:1:queue", "ticket.created", map[string]int{"n": 1})
		return err
	})
	if err != nil {
		t.Fatalf("publish as %s: %v", user, err)
	}
	if user != store.AppRole || seq != 1 {
		t.Fatalf("published as %s with seq %d, want %s and 1", user, seq, store.AppRole)
	}
}

func TestCommittedEventArrives(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	c := dial(t, in.server, "sp:7:queue")

	seq := publish(t, db, "sp:7:queue", "ticket.called", map[string]any{"number": "A012", "desk": 3})
	w := c.expectEvent("sp:7:queue", seq, "ticket.called")
	if seq != 1 {
		t.Fatalf("first seq on a channel is %d, want 1", seq)
	}
	var data struct {
		Number string `json:"number"`
		Desk   int    `json:"desk"`
	}
	if err := json.Unmarshal(w.Data, &data); err != nil || data.Number != "A012" || data.Desk != 3 || w.Truncated {
		t.Fatalf("data %s (truncated %v), decoded %+v, %v", w.Data, w.Truncated, data, err)
	}
}

func TestSeqIncrementsByOnePerChannel(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	c := dial(t, in.server, "a")
	for want := int64(1); want <= 5; want++ {
		if got := publish(t, db, "a", "tick", want); got != want {
			t.Fatalf("publish returned seq %d, want %d", got, want)
		}
		c.expectEvent("a", want, "tick")
	}
	if got := publish(t, db, "b", "tick", nil); got != 1 {
		t.Fatalf("another channel starts at %d, want 1", got)
	}
	ctx := context.Background()
	for ch, want := range map[string]int64{"a": 5, "b": 1, "never": 0} {
		var got int64
		err := db.Tx(ctx, func(tx sqldb.Tx) (err error) {
			got, err = CurrentSeq(ctx, tx, ch)
			return err
		})
		if err != nil || got != want {
			t.Fatalf("CurrentSeq(%s) = %d, %v; want %d", ch, got, err, want)
		}
	}
}

func TestRolledBackPublishAnnouncesNothing(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	c := dial(t, in.server, "q")
	ctx := context.Background()
	rollback := errors.New("changed my mind")
	err := db.Tx(ctx, func(tx sqldb.Tx) error {
		if _, err := Publish(ctx, tx, "q", "ghost", nil); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("tx: %v", err)
	}
	// Were the ghost announced, it would arrive first; its number is not used up.
	publish(t, db, "q", "real", nil)
	c.expectEvent("q", 1, "real")
}

func TestChannelsAreIsolated(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	onA := dial(t, in.server, "a")
	onB := dial(t, in.server, "b")
	onBoth := dial(t, in.server, "a", "a", "b") // duplicates count once

	publish(t, db, "a", "first", nil)
	publish(t, db, "b", "second", nil)
	onA.expectEvent("a", 1, "first")
	onB.expectEvent("b", 1, "second") // not a's event first
	onBoth.expectEvent("a", 1, "first")
	onBoth.expectEvent("b", 1, "second")
	publish(t, db, "a", "third", nil)
	onA.expectEvent("a", 2, "third")
	onBoth.expectEvent("a", 2, "third")
}

// Every instance has its own listener and hub; a change made through any
// instance reaches the screens of all of them.
func TestTwoInstancesBothDeliver(t *testing.T) {
	db, url := testdb.New(t)
	one := startInstance(t, url, Options{}, nil)
	two := startInstance(t, url, Options{}, nil)
	c1 := dial(t, one.server, "sp:1:display")
	c2 := dial(t, two.server, "sp:1:display")

	publish(t, db, "sp:1:display", "called", "B004")
	for _, c := range []*client{c1, c2} {
		if w := c.expectEvent("sp:1:display", 1, "called"); string(w.Data) != `"B004"` {
			t.Fatalf("data %s", w.Data)
		}
	}
}

// NOTIFY refuses payloads of 8000 bytes or more: such an event goes out
// without its data, flagged, and the client fetches a snapshot.
func TestOversizeEventIsSentWithoutData(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	c := dial(t, in.server, "big")
	publish(t, db, "big", "huge", strings.Repeat("x", 9000))
	w := c.expectEvent("big", 1, "huge")
	if !w.Truncated || w.Data != nil {
		t.Fatalf("truncated=%v data=%.40s…, want truncated without data", w.Truncated, w.Data)
	}
	// Just under the limit still carries its data.
	publish(t, db, "big", "fits", strings.Repeat("y", 7900))
	if w := c.expectEvent("big", 2, "fits"); w.Truncated || len(w.Data) != 7902 {
		t.Fatalf("truncated=%v len=%d", w.Truncated, len(w.Data))
	}
}

func TestPublishRejectsBadNames(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	for _, tc := range []struct{ channel, typ string }{
		{"", "t"}, {"c", ""}, {strings.Repeat("c", maxChannelLen+1), "t"}, {"c", strings.Repeat("t", maxTypeLen+1)},
	} {
		err := db.Tx(ctx, func(tx sqldb.Tx) error {
			_, err := Publish(ctx, tx, tc.channel, tc.typ, nil)
			return err
		})
		if err == nil {
			t.Errorf("Publish(%.10q, %.10q) succeeded", tc.channel, tc.typ)
		}
	}
}

func TestEncodeNotificationStaysUnderLimit(t *testing.T) {
	long := strings.Repeat("c", maxChannelLen)
	for _, size := range []int{0, 7000, 7990, 8000, 100000} {
		ev := Event{Channel: long, Seq: math.MaxInt64, Type: strings.Repeat("t", maxTypeLen),
			Data: json.RawMessage(`"` + strings.Repeat("z", size) + `"`)}
		head, tail, err := encodeNotification(ev)
		p := head + strconv.FormatInt(ev.Seq, 10) + tail
		if err != nil || len(p) > MaxPayload {
			t.Fatalf("size %d: payload %d bytes, %v", size, len(p), err)
		}
		// What the database puts together is the event, whole or without
		// its data.
		var got Event
		if err := json.Unmarshal([]byte(p), &got); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		whole := !got.Truncated && string(got.Data) == string(ev.Data)
		if got.Channel != ev.Channel || got.Seq != ev.Seq || got.Type != ev.Type || !whole && (!got.Truncated || got.Data != nil) {
			t.Fatalf("size %d: decoded %.80s…", size, p)
		}
	}
}

// An event a statement builds itself arrives like a published one, numbered
// after the channel's other events, with the data the statement made.
func TestAnnouncementFromAStatement(t *testing.T) {
	db, url := testdb.New(t)
	in := startInstance(t, url, Options{}, nil)
	c := dial(t, in.server, "sp:3:queue")
	publish(t, db, "sp:3:queue", "before", nil)
	c.expectEvent("sp:3:queue", 1, "before")

	ann, err := Announce("sp:3:queue", "ticket.created")
	if err != nil {
		t.Fatal(err)
	}
	ctes, args := ann.CTEs(`json_build_object('label', r.label)`, `r`, 2)
	ctx := context.Background()
	var label string
	err = db.Tx(ctx, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `WITH r AS (SELECT $1::text AS label), `+ctes+`
			SELECT r.label FROM r CROSS JOIN live_note`, append([]any{`A "7"`}, args...)...).Scan(&label)
	})
	if err != nil {
		t.Fatal(err)
	}
	w := c.expectEvent("sp:3:queue", 2, "ticket.created")
	var data struct{ Label string }
	if err := json.Unmarshal(w.Data, &data); err != nil || data.Label != `A "7"` {
		t.Fatalf("data %s: %v", w.Data, err)
	}
	if _, err := Announce("", "x"); err == nil {
		t.Error("an announcement on no channel was allowed")
	}
}
