package outreach

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// subscribe enrols a phone with a subscription at the fake push service
// and returns its credential and the fake's phone.
func (f *fixture) subscribe(fake *pushtest.Server) (string, *pushtest.Client) {
	f.t.Helper()
	cred := f.phone()
	sub, phone := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	if err := f.svc.SetPush(f.ctx, cred, raw); err != nil {
		f.t.Fatal(err)
	}
	return cred, phone
}

// notification waits for the next push the fake push service takes and
// reads it as the service worker does.
func (f *fixture) notification(fake *pushtest.Server) (pushtest.Message, reminderMessage) {
	f.t.Helper()
	m, err := fake.WaitMessage(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	var msg reminderMessage
	if err := json.Unmarshal(m.Payload, &msg); err != nil {
		f.t.Fatal(err)
	}
	return m, msg
}

// lead is a lead of the fixture's first service point.
func (f *fixture) lead() auth.Principal {
	id := f.owner.Staff(f.tenant, "Lea")
	f.owner.Grant(f.tenant, id, f.sp, auth.RoleLead)
	return auth.Principal{StaffID: id, Tenant: f.tenant, Grants: []auth.Grant{{Role: auth.RoleLead, ServicePointID: f.sp}}}
}

func TestMessageFromATemplateReachesThePhonesThatTakeIt(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	cred, _ := f.subscribe(fake)
	silent, _ := f.subscribe(fake)
	if err := f.svc.SetNotifications(f.ctx, silent, false); err != nil {
		t.Fatal(err)
	}
	f.appointment(f.ben, 30*time.Hour, "")
	tpl, err := f.svc.SaveTemplate(f.ctx, f.lead(), 0, TemplateInput{Name: "Aika", Texts: map[string]string{
		"fi": "Hei {first_name}, aikasi {date} klo {time}.", "so": "Salaan {first_name}, ballantaadu waa {date} {time}, {place}."}})
	if err != nil {
		t.Fatal(err)
	}
	anna := f.actor(f.anna)
	id, err := f.svc.SendMessage(f.ctx, anna, f.client, NewMessage{TemplateID: tpl.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.waitDeliveries("message/sent/")
	m, msg := f.notification(fake)
	zone, err := time.LoadLocation("Europe/Helsinki") // the service point's
	if err != nil {
		t.Fatal(err)
	}
	at := f.now.Add(30 * time.Hour).In(zone)
	so, _ := clientLanguage("so")
	want := "Salaan Amina, ballantaadu waa " + so.FormatDate(at) + " " + so.FormatTime(at) + ", "
	if msg.Lang != "so" || !strings.HasPrefix(msg.Body, want) || msg.Title == "" || msg.Delivery == 0 || m.Topic == "" {
		t.Errorf("message %+v topic %q, want a body starting %q", msg, m.Topic, want)
	}
	if strings.Contains(string(m.Payload), "Hassan") || len(m.Payload) > 3<<10 {
		t.Errorf("the payload carries more than its text: %s", m.Payload)
	}
	// The template's next version is not the one this message went with.
	if _, err := f.svc.SaveTemplate(f.ctx, f.lead(), tpl.ID, TemplateInput{Name: "Aika", Texts: map[string]string{"fi": "Uusi"}}); err != nil {
		t.Fatal(err)
	}
	var version int64
	var status string
	if err := f.owner.QueryRow(f.ctx, `SELECT template_version_id, status FROM client_messages WHERE id = $1`, id).Scan(&version, &status); err != nil ||
		version != tpl.VersionID || status != MessageSent {
		t.Errorf("message recorded version %d (%s), want %d sent, %v", version, status, tpl.VersionID, err)
	}
	home, err := f.svc.Home(f.ctx, cred)
	if err != nil || len(home.Messages) != 1 || home.Messages[0].Body != msg.Body || home.Messages[0].Lang != "so" {
		t.Errorf("the client's page lists %+v, %v", home.Messages, err)
	}
	page, err := f.svc.MessagesOf(f.ctx, anna, f.client)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].TemplateName != "Aika" || page.Messages[0].TemplateVersion != 1 ||
		page.Messages[0].Phones != 1 || page.Messages[0].Reached != "sent" || page.Phones != 1 {
		t.Errorf("the expert's page %+v, %v", page, err)
	}
	// The phone reports it shown: the expert's summary says so.
	if err := f.svc.Receipt(f.ctx, cred, msg.Delivery, ReceiptDelivered); err != nil {
		t.Fatal(err)
	}
	f.waitDeliveries("message/delivered/")
	fake.CheckNoFailures(t)
}

func TestScheduledMessageWaitsAndCanBeCancelled(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	f.subscribe(fake)
	anna := f.actor(f.anna)
	later, err := f.svc.SendMessage(f.ctx, anna, f.client, NewMessage{Text: "Muista {first_name} lomake", At: f.now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	kept, err := f.svc.SendMessage(f.ctx, anna, f.client, NewMessage{Text: "Toinen {first_name}", At: f.now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CancelMessage(f.ctx, anna, f.client, later); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.CancelMessage(f.ctx, anna, f.client, later); !errors.Is(err, ErrMessageSent) {
		t.Errorf("a second cancel: %v", err)
	}
	// Their times come (the jobs' own wait is the queue's; the work is this).
	for _, id := range []int64{later, kept} {
		if err := f.svc.dispatch(f.ctx, f.tenant, id); err != nil {
			t.Fatal(err)
		}
	}
	f.waitDeliveries("message/sent/")
	m, err := fake.WaitMessage(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Payload), "Toinen Amina") {
		t.Errorf("the message sent is %s", m.Payload)
	}
	if err := f.svc.CancelMessage(f.ctx, anna, f.client, kept); !errors.Is(err, ErrMessageSent) {
		t.Errorf("cancelling a sent message: %v", err)
	}
	// Another municipality cancels nothing of this client's.
	stranger, _ := f.stranger()
	if err := f.svc.CancelMessage(f.ctx, stranger, f.client, kept); !errors.Is(err, ErrNotFound) {
		t.Errorf("a stranger's cancel: %v", err)
	}
	fake.CheckNoFailures(t)
}

func TestMessageToAClientWithoutAWorkingPhoneTellsTheExpert(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	off := f.phone() // a phone that never took notifications
	_ = off
	ben := f.actor(f.ben)
	id, err := f.svc.SendMessage(f.ctx, ben, f.client, NewMessage{Text: "Soita minulle"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var status string
		var tasks int
		if err := f.owner.QueryRow(f.ctx, `SELECT m.status, (SELECT count(*) FROM tasks WHERE kind = 'unreachable' AND assignee_id = $2
			AND source_key = 'message:' || m.id || ':unreachable') FROM client_messages m WHERE m.id = $1`, id, f.ben).Scan(&status, &tasks); err != nil {
			t.Fatal(err)
		}
		if status == MessageUnreachable && tasks == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s, %d tasks for its sender", status, tasks)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(f.deliveries()) != 0 {
		t.Errorf("deliveries %v", f.deliveries())
	}
}

func TestMessageFormProblems(t *testing.T) {
	f := newFixture(t)
	anna := f.actor(f.anna)
	tpl, err := f.svc.SaveTemplate(f.ctx, f.lead(), 0, TemplateInput{Name: "Aika", Texts: map[string]string{"fi": "Aikasi {date}"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m            NewMessage
		field, issue string
	}{
		{NewMessage{}, "text", "messages.text_or_template"},
		{NewMessage{Text: "x", TemplateID: tpl.ID}, "text", "messages.text_or_template"},
		{NewMessage{Text: "Hei {nimi}"}, "text", ProblemUnknownPlaceholder},
		{NewMessage{Text: strings.Repeat("a", MaxMessage+1)}, "text", "form.too_long"},
		{NewMessage{Text: "Hei", At: f.now.Add(-time.Hour)}, "at", "messages.at_past"},
		{NewMessage{Text: "Hei", At: f.now.Add(MaxSchedule + time.Hour)}, "at", "form.out_of_range"},
		// The client has no appointment for {date} to name.
		{NewMessage{TemplateID: tpl.ID}, "template", ProblemNeedsAppointment},
		{NewMessage{Text: "Aikasi {time}"}, "text", ProblemNeedsAppointment},
		{NewMessage{TemplateID: tpl.ID + 1000}, "template", "form.invalid_choice"},
	} {
		_, err := f.svc.SendMessage(f.ctx, anna, f.client, c.m)
		var bad Invalid
		if !errors.As(err, &bad) || bad[c.field] != c.issue {
			t.Errorf("%+v: %v, want %s on %s", c.m, err, c.issue, c.field)
		}
	}
	stranger, _ := f.stranger()
	if _, err := f.svc.SendMessage(f.ctx, stranger, f.client, NewMessage{Text: "Hei"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a stranger sent a message: %v", err)
	}
	if n := len(f.deliveries()); n != 0 {
		t.Errorf("%d deliveries", n)
	}
}
