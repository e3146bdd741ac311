package tasks

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

func (f *fixture) optIn(fake *pushtest.Server, staff int64) *pushtest.Client {
	f.t.Helper()
	sub, client := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	if _, err := f.svc.Subscribe(f.ctx, f.actor(staff), raw, "Firefox, Linux"); err != nil {
		f.t.Fatal(err)
	}
	return client
}

type shown struct {
	Title, Body, Lang, URL, Tag string
}

func waitPush(t *testing.T, fake *pushtest.Server) shown {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := fake.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("no push: %v", err)
	}
	var s shown
	if err := json.Unmarshal(m.Payload, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// A task given to me reaches my opted-in browser in my language, opens the
// task, and names no client; one of mine becoming overdue does too, once.
func TestTaskNoticesReachTheAssigneesBrowser(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	f.exec(`UPDATE staff SET locale = 'sv' WHERE id = $1`, f.anna)
	f.optIn(fake, f.anna)

	task := f.mustCreate(New{Kind: KindCallMe, ClientID: f.client})
	got := waitPush(t, fake)
	if got.Lang != "sv" || got.Title != "En ny uppgift till dig" || got.Body != "Klienten bad om att bli uppringd" ||
		got.URL != "/staff/tasks/"+itoa(task.ID) {
		t.Fatalf("push %+v", got)
	}
	if strings.Contains(got.Title+got.Body, "Amina") || strings.Contains(got.Title+got.Body, "Hassan") {
		t.Fatal("the push names the client")
	}

	// Due an hour ago: the overdue check tells Anna once, however often
	// it runs.
	f.exec(`UPDATE tasks SET due_at = now() - interval '1 hour' WHERE id = $1`, task.ID)
	for i, want := range []int{1, 0} {
		n, err := f.svc.NotifyOverdue(f.ctx)
		if err != nil || n != want {
			t.Fatalf("overdue check %d: %d, %v; want %d", i, n, err, want)
		}
	}
	if got := waitPush(t, fake); got.Title != "Din uppgift är försenad" {
		t.Fatalf("overdue push %+v", got)
	}
	// Given to Ben, who has no browser opted in: nothing is sent; given
	// back to Anna by Lea, she is told again. The task is no longer due, so
	// the periodic overdue check, which runs on its own clock here too, has
	// nothing to say about it to its new assignee.
	f.exec(`UPDATE tasks SET due_at = now() + interval '1 day' WHERE id = $1`, task.ID)
	if _, err := f.svc.Assign(f.ctx, f.actor(f.lea), task.ID, f.ben); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Assign(f.ctx, f.actor(f.lea), task.ID, f.anna); err != nil {
		t.Fatal(err)
	}
	if got := waitPush(t, fake); got.Title != "En ny uppgift till dig" {
		t.Fatalf("reassigned push %+v", got)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(fake.Messages()); n != 3 {
		t.Fatalf("%d pushes, want 3", n)
	}
	fake.CheckNoFailures(t)
}

// A staff member's browsers are listed and removable, each by its owner
// alone; a push service that has forgotten one removes it too.
func TestStaffDevices(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	client := f.optIn(fake, f.anna)
	anna, ben := f.actor(f.anna), f.actor(f.ben)

	list, err := f.svc.Devices(f.ctx, anna)
	if err != nil || len(list) != 1 || list[0].Label != "Firefox, Linux" {
		t.Fatalf("devices %+v, %v", list, err)
	}
	// The same browser subscribing again is the same device.
	raw, _ := json.Marshal(client.Subscription())
	if _, err := f.svc.Subscribe(f.ctx, anna, raw, "Firefox, Linux"); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.svc.Devices(f.ctx, anna); len(list) != 1 {
		t.Fatalf("%d devices after subscribing twice", len(list))
	}
	wantErr(t, "Ben removes Anna's browser", f.svc.RemoveDevice(f.ctx, ben, list[0].ID), ErrNotFound)
	_, err = f.svc.Subscribe(f.ctx, anna, []byte(`{"endpoint":""}`), "")
	wantErr(t, "a subscription without an endpoint", err, ErrInvalidSubscription)

	client.SetReply(pushtest.Reply{Status: 410})
	f.mustCreate(New{Kind: KindCallMe, ClientID: f.client})
	deadline := time.Now().Add(20 * time.Second)
	for f.count(`SELECT count(*) FROM staff_push`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a subscription the push service forgot was kept")
		}
		time.Sleep(100 * time.Millisecond)
	}

	f.optIn(fake, f.anna)
	list, _ = f.svc.Devices(f.ctx, anna)
	if err := f.svc.RemoveDevice(f.ctx, anna, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.svc.Devices(f.ctx, anna); len(list) != 0 {
		t.Fatalf("%d devices after removing", len(list))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
