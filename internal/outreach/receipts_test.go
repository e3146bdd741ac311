package outreach

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// delivery adds a reminder to the client's phone with a status, as the
// sender would have left it, created ago before now.
func (f *fixture) delivery(appt int64, kind, status string, ago time.Duration) int64 {
	f.t.Helper()
	var id int64
	if err := f.owner.QueryRow(f.ctx, `INSERT INTO client_deliveries (municipality_id, client_id, device_id, appointment_id, kind, status, created_at)
		VALUES ($1, $2, (SELECT max(id) FROM client_devices WHERE client_id = $2), $3, $4, $5, $6) RETURNING id`,
		f.tenant, f.client, appt, kind, status, f.now.Add(-ago)).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) deliveryStatus(id int64) string {
	f.t.Helper()
	var s string
	if err := f.owner.QueryRow(f.ctx, `SELECT status FROM client_deliveries WHERE id = $1`, id).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// A phone's receipts move its reminder forward only: shown, then tapped,
// then answered; the sender's later "sent" and a repeated receipt undo
// nothing, and another phone cannot touch it.
func TestReceiptsMoveADeliveryForwardOnly(t *testing.T) {
	f := newFixture(t)
	other := f.phone()
	cred := f.phone()
	appt := f.appointment(f.ben, 26*time.Hour, "12345678")
	id := f.delivery(appt, "reminder_24h", "queued", 0)

	steps := []struct {
		do   func() error
		want string
	}{
		{func() error { return f.svc.Receipt(f.ctx, cred, id, ReceiptDelivered) }, "delivered"},
		{func() error {
			return f.svc.setDelivery(f.ctx, f.tenant, id, "sent", "")
		}, "delivered"},
		{func() error { return f.svc.Receipt(f.ctx, other, id, ReceiptOpened) }, "delivered"},
		{func() error { return f.svc.Receipt(f.ctx, cred, id, ReceiptOpened) }, "opened"},
		{func() error { return f.svc.Receipt(f.ctx, cred, id, ReceiptDelivered) }, "opened"},
		{func() error {
			return f.svc.setDelivery(f.ctx, f.tenant, id, "failed", "push service refused")
		}, "opened"},
		{func() error { return f.svc.Answer(f.ctx, cred, Answer{Kind: Coming, AppointmentID: appt}) }, "answered"},
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := f.deliveryStatus(id); got != s.want {
			t.Errorf("after step %d the delivery is %s, want %s", i, got, s.want)
		}
	}
	for _, bad := range []struct {
		id     int64
		status string
	}{{id, "answered"}, {id, "failed"}, {0, ReceiptOpened}, {-1, ReceiptDelivered}} {
		if err := f.svc.Receipt(f.ctx, cred, bad.id, bad.status); !errors.Is(err, ErrInvalid) {
			t.Errorf("receipt %v: %v, want ErrInvalid", bad, err)
		}
	}
	if err := f.svc.Receipt(f.ctx, "nonsense", id, ReceiptOpened); !errors.Is(err, ErrNotFound) {
		t.Errorf("receipt with an unknown phone: %v", err)
	}
}

// Two hours before, a client whose day-before reminder no phone reported
// shown becomes the expert's task "could not reach", although the phone
// has a subscription; one whose phone showed it, or who was booked too
// late for that reminder, does not.
func TestUnshownReminderMakesTheClientUnreachable(t *testing.T) {
	f := newFixture(t)
	cred := f.phone()
	if err := f.svc.SetPush(f.ctx, cred, []byte(`{"endpoint":"https://push.example.org/x","keys":{"p256dh":"a","auth":"b"}}`)); err != nil {
		t.Fatal(err)
	}
	unshown := f.appointment(f.ben, 90*time.Minute, "")
	f.delivery(unshown, "reminder_24h", "sent", 22*time.Hour)
	shown := f.appointment(f.ben, 100*time.Minute, "")
	f.delivery(shown, "reminder_24h", "delivered", 22*time.Hour)
	late := f.appointment(f.ben, 110*time.Minute, "")
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := f.owner.Query(f.ctx, `SELECT source_key FROM tasks WHERE kind = 'unreachable' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if want := fmt.Sprintf("appointment:%d:unreachable", unshown); len(keys) != 1 || keys[0] != want {
		t.Errorf("unreachable tasks %v, want only %s (shown %d, booked late %d)", keys, want, shown, late)
	}
}

// A phone whose reminders the client turned off gets none, keeps its
// subscription, and gets them again once turned back on.
func TestRemindersTurnedOffAreNotSent(t *testing.T) {
	f := newFixture(t)
	cred := f.phone()
	if err := f.svc.SetPush(f.ctx, cred, []byte(`{"endpoint":"https://push.example.org/x","keys":{"p256dh":"a","auth":"b"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetNotifications(f.ctx, cred, false); err != nil {
		t.Fatal(err)
	}
	f.appointment(f.ben, 20*time.Hour, "")
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		var n int
		if err := f.owner.QueryRow(f.ctx, `SELECT count(*) FROM client_deliveries WHERE client_id = $1`, f.client).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	home, err := f.svc.Home(f.ctx, cred)
	if err != nil || !home.NotificationsOff || !home.Push || count() != 0 {
		t.Errorf("reminders off: home %+v (%v), %d deliveries", home, err, count())
	}
	if err := f.svc.SetNotifications(f.ctx, cred, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.QueueReminders(f.ctx); err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Errorf("reminders on again: %d deliveries, want the day-before one", count())
	}
}
