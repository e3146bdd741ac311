package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// A campaign to 1,000 clients of whom some match the filter (active,
// a phone that takes notifications, no contact in 30 days): only those get
// it, each in their own language (Finnish where the template has none of
// theirs), once, checked in the decrypted payloads at the fake push
// service. (TestCancelledCampaignSendsNoMore checks a batch's bound.)
func TestCampaignReachesOnlyTheFilteredClientsInTheirLanguages(t *testing.T) {
	f := newFixture(t)
	fake := pushtest.NewServer(t)
	f.svc.campaignRate = 10
	lead := f.lead()
	tpl, err := f.svc.SaveTemplate(f.ctx, lead, 0, TemplateInput{Name: "Kevät", Texts: map[string]string{
		"fi": "Hei {first_name}, tervetuloa kevätjuhlaan!", "so": "Salaan {first_name}, ku soo dhawoow!",
		"ar": "مرحبا {first_name}، أهلا بك!", "ru": "Привет, {first_name}! Добро пожаловать!"}})
	if err != nil {
		t.Fatal(err)
	}
	languages := []string{"fi", "so", "ar", "ru", "en", "zh-Hans", "uk"}
	type want struct{ lang, body string }
	expected := map[string]want{} // first name → what they should get
	texts := map[string]string{"fi": tpl.Texts["fi"], "so": tpl.Texts["so"], "ar": tpl.Texts["ar"], "ru": tpl.Texts["ru"]}
	for i := range 1000 {
		lang := languages[i%len(languages)]
		name := fmt.Sprintf("C%04d", i)
		status := "active"
		if i%60 == 30 {
			status = "ended"
		}
		client := f.owner.ID(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language, status)
			VALUES ($1, $2, $3, 'X', $4, $5) RETURNING id`, f.tenant, f.sp, name, lang, status)
		if i%10 != 0 {
			continue // no phone
		}
		sub, _ := fake.NewSubscription()
		raw, _ := json.Marshal(sub)
		f.owner.Run(`INSERT INTO client_devices (municipality_id, client_id, credential_hash, push_subscription) VALUES ($1, $2, $3, $4)`,
			f.tenant, client, []byte(name), raw)
		if i%20 == 0 {
			f.owner.Run(`INSERT INTO client_contacts (municipality_id, client_id, entry_id, occurred_at, channel, summary)
				VALUES ($1, $2, $2, now() - interval '5 days', 'phone', 'Soitettu')`, f.tenant, client)
			continue
		}
		if status == "ended" {
			continue
		}
		text, code := texts[lang], lang
		if text == "" {
			text, code = texts["fi"], "fi"
		}
		expected[name] = want{code, Render(text, mustLanguage(t, code), Fill{FirstName: name})}
	}
	// A client of the other service point, with a phone: not in the campaign.
	other := f.owner.ID(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, language) VALUES ($1, $2, 'Muu', 'X', 'fi') RETURNING id`,
		f.tenant, f.sp2)
	sub, _ := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	f.owner.Run(`INSERT INTO client_devices (municipality_id, client_id, credential_hash, push_subscription) VALUES ($1, $2, 'muu', $3)`, f.tenant, other, raw)

	filter := CampaignFilter{ServicePointID: f.sp, Enrolled: true, QuietDays: 30}
	began := time.Now()
	preview, err := f.svc.PreviewCampaign(f.ctx, lead, filter, tpl.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preview over 1,000 clients: %v", time.Since(began))
	if preview.Recipients != len(expected) || len(preview.Texts) != len(languages) {
		t.Fatalf("preview %d recipients in %d languages, want %d in %d", preview.Recipients, len(preview.Texts), len(expected), len(languages))
	}
	for _, p := range preview.Texts {
		if p.Language == "en" && (p.TextLanguage != "fi" || p.Text != tpl.Texts["fi"]) || p.Language == "so" && p.Text != tpl.Texts["so"] {
			t.Errorf("preview for %s: %+v", p.Language, p)
		}
	}
	// An expert runs no campaign; another municipality's admin finds no service point.
	if _, err := f.svc.PreviewCampaign(f.ctx, f.actor(f.anna), filter, tpl.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("an expert previewed: %v", err)
	}
	stranger, _ := f.stranger()
	stranger.Grants = []auth.Grant{{Role: auth.RoleAdmin}}
	if _, _, err := f.svc.StartCampaign(f.ctx, stranger, filter, tpl.ID); err == nil {
		t.Error("another municipality started a campaign at this service point")
	}

	// The job queue's periodic sender sends them, 10 a second.
	jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
	began = time.Now()
	id, n, err := f.svc.StartCampaign(f.ctx, lead, filter, tpl.ID)
	if err != nil || n != len(expected) {
		t.Fatalf("start: %d recipients, %v", n, err)
	}
	t.Logf("start (recipients chosen and queued): %v", time.Since(began))
	got := map[string]want{}
	ctx, cancel := context.WithTimeout(f.ctx, 2*time.Minute)
	defer cancel()
	for len(got) < len(expected) {
		m, err := fake.WaitMessage(ctx)
		if err != nil {
			t.Fatalf("%d of %d messages arrived: %v", len(got), len(expected), err)
		}
		var msg reminderMessage
		if err := json.Unmarshal(m.Payload, &msg); err != nil {
			t.Fatal(err)
		}
		name := ""
		for n, w := range expected {
			if w.body == msg.Body {
				name = n
			}
		}
		if name == "" {
			t.Fatalf("a message nobody should get: %s", m.Payload)
		}
		if _, twice := got[name]; twice {
			t.Errorf("%s got the campaign twice", name)
		}
		got[name] = want{msg.Lang, msg.Body}
	}
	t.Logf("%d messages at the push service %v after the start, at 10 a second", len(got), time.Since(began))
	for name, w := range expected {
		if got[name] != w {
			t.Errorf("%s got %+v, want %+v", name, got[name], w)
		}
	}
	time.Sleep(2 * campaignEvery) // anything more would have come by now
	if extra := len(fake.Messages()); extra != len(expected) {
		t.Errorf("%d messages in all, want %d", extra, len(expected))
	}
	var status string
	if err := f.owner.QueryRow(f.ctx, `SELECT status FROM campaigns WHERE id = $1`, id).Scan(&status); err != nil || status != CampaignDone {
		t.Errorf("campaign %s, %v", status, err)
	}
	if err := f.svc.CancelCampaign(f.ctx, lead, id); !errors.Is(err, ErrCampaignOver) {
		t.Errorf("cancelling a finished campaign: %v", err)
	}
	fake.CheckNoFailures(t)
}

func TestCancelledCampaignSendsNoMore(t *testing.T) {
	f := newFixture(t)
	lead := f.lead()
	tpl, err := f.svc.SaveTemplate(f.ctx, lead, 0, TemplateInput{Name: "T", Texts: map[string]string{"fi": "Hei"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		f.owner.ID(`INSERT INTO clients (municipality_id, service_point_id, first_names, last_name) VALUES ($1, $2, $3, 'X') RETURNING id`,
			f.tenant, f.sp, fmt.Sprint("N", i))
	}
	f.svc.campaignRate = 10
	id, n, err := f.svc.StartCampaign(f.ctx, lead, CampaignFilter{ServicePointID: f.sp}, tpl.ID)
	if err != nil || n != 31 { // the fixture's own client too
		t.Fatalf("start: %d, %v", n, err)
	}
	if sent, err := f.svc.SendCampaignBatch(f.ctx); err != nil || sent != 10 {
		t.Fatalf("batch: %d, %v", sent, err)
	}
	if err := f.svc.CancelCampaign(f.ctx, f.actor(f.anna), id); !errors.Is(err, ErrForbidden) {
		t.Errorf("an expert cancelled: %v", err)
	}
	if err := f.svc.CancelCampaign(f.ctx, lead, id); err != nil {
		t.Fatal(err)
	}
	if sent, err := f.svc.SendCampaignBatch(f.ctx); err != nil || sent != 0 {
		t.Errorf("after cancelling: %d sent, %v", sent, err)
	}
	var messages, tasks int
	if err := f.owner.QueryRow(f.ctx, `SELECT count(*), (SELECT count(*) FROM tasks) FROM client_messages WHERE campaign_id = $1`, id).
		Scan(&messages, &tasks); err != nil || messages != 10 || tasks != 0 {
		t.Errorf("%d messages and %d tasks, %v", messages, tasks, err)
	}
}

func mustLanguage(t *testing.T, code string) i18n.Language {
	t.Helper()
	l, ok := clientLanguage(code)
	if !ok {
		t.Fatalf("no language %s", code)
	}
	return l
}
