package portal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/push/pushtest"
	"github.com/koto-portal/portal/portal/portaltest"
)

// The expert writes to the client from the client's page: a wrong
// placeholder comes back beside the text, a message goes to the phone at
// once in its words, one for later waits and can be cancelled; the phone's
// page lists what it got and the expert's summary how far it went.
func TestClientMessagesOverHTTP(t *testing.T) {
	fake := pushtest.NewServer(t)
	in := secStart(t, portaltest.WithPush(fake.Sender()), portaltest.WithOutreachJobs())
	owner := secOwner(t, in)
	ctx := context.Background()
	client, _, _ := outreachClient(t, in)
	staff, phone, home := enrolledPhone(t, in, client)
	sub, _ := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	if _, err := owner.Exec(ctx, `UPDATE client_devices SET push_subscription = $2 WHERE client_id = $1`, client, raw); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/staff/clients/%d/messages", client)
	if r := staff.get(fmt.Sprintf("/staff/clients/%d", client)); !strings.Contains(r.Body, `href="`+path+`"`) {
		t.Errorf("the client's page has no link to the messages (%d)", r.Status)
	}
	page := staff.get(path + "?lang=fi")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Puhelimia, joihin viesti menee: 1") {
		t.Fatalf("messages page: %d\n%s", page.Status, page.Body)
	}

	send := func(v url.Values) *secResponse {
		v.Set("_csrf", staff.csrf)
		return staff.do(http.MethodPost, path+"?lang=fi", v, map[string]string{"Origin": in.URL})
	}
	bad := send(url.Values{"text": {"Hei {etunimi}"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, `id="message-text-error"`) ||
		!strings.Contains(bad.Body, "Hei {etunimi}") {
		t.Fatalf("a wrong placeholder: %d\n%s", bad.Status, bad.Body)
	}
	for _, v := range []url.Values{{"text": {"Hei"}, "date": {"31.2.2030"}, "time": {"10:00"}}, {"text": {"Hei"}, "date": {"1.1.2030"}},
		{"text": {"Hei"}, "template": {"abc"}}, {"text": {"Hei"}, "date": {"1.1.2020"}, "time": {"10:00"}}} {
		if r := send(v); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d, want 422", v, r.Status)
		}
	}
	if r := send(url.Values{"text": {"Hei {first_name}, tuo passi mukaan."}}); r.Status != http.StatusSeeOther {
		t.Fatalf("send now: %d\n%s", r.Status, r.Body)
	}
	wait, cancelWait := context.WithTimeout(ctx, 30*time.Second)
	defer cancelWait()
	m, err := fake.WaitMessage(wait)
	if err != nil {
		t.Fatal(err)
	}
	var payload struct{ Title, Body, Lang string }
	if err := json.Unmarshal(m.Payload, &payload); err != nil || payload.Body != "Hei Hodan, tuo passi mukaan." || payload.Lang != "so" ||
		payload.Title == "" {
		t.Errorf("payload %s, %v", m.Payload, err)
	}
	later := time.Now().In(time.UTC).Add(48 * time.Hour)
	if r := send(url.Values{"text": {"Huomenna"}, "date": {later.Format("2.1.2006")}, "time": {"10:00"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("send later: %d\n%s", r.Status, r.Body)
	}
	var scheduled int64
	if err := owner.QueryRow(ctx, `SELECT id FROM client_messages WHERE client_id = $1 AND status = 'scheduled'`, client).Scan(&scheduled); err != nil {
		t.Fatal(err)
	}
	list := staff.get(path + "?lang=fi")
	cancel := fmt.Sprintf("%s/%d/cancel", path, scheduled)
	if !strings.Contains(list.Body, `action="`+cancel+`"`) || !strings.Contains(list.Body, "ajastettu") {
		t.Errorf("the scheduled message cannot be cancelled from the page:\n%s", list.Body)
	}
	if r := staff.do(http.MethodPost, cancel, url.Values{"_csrf": {staff.csrf}}, map[string]string{"Origin": in.URL}); r.Status != http.StatusSeeOther {
		t.Errorf("cancel: %d", r.Status)
	}
	if r := staff.do(http.MethodPost, cancel, url.Values{"_csrf": {staff.csrf}}, map[string]string{"Origin": in.URL}); r.Status != http.StatusConflict {
		t.Errorf("a second cancel: %d, want 409", r.Status)
	}

	if r := phone.get(home); !strings.Contains(r.Body, "Hei Hodan, tuo passi mukaan.") || strings.Contains(r.Body, "Huomenna") {
		t.Errorf("the phone's page does not list the message sent (only):\n%s", r.Body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := staff.get(fmt.Sprintf("/staff/clients/%d/summary?lang=fi", client))
		if strings.Contains(s.Body, "1 puhelinta, pisimmälle: lähetetty") && strings.Contains(s.Body, "peruttu") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the summary does not show the messages:\n%s", s.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fake.CheckNoFailures(t)
}
