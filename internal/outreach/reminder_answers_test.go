package outreach

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/jobs/jobstest"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// Each answer a push service can give a reminder, as the fake push service
// gives it: forgotten subscriptions are dropped, "later" is waited for as
// long as Retry-After says, a server error is tried again, and a payload
// the service finds too large goes again without its text, and fails the
// delivery with its reason when even that is too large.
func TestReminderHandlesEveryPushAnswer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies []pushtest.Reply
		want    string // the delivery in the end
		sent    int    // requests the push service saw
		kept    bool   // the phone's subscription is kept
		wait    time.Duration
	}{
		{name: "404", replies: []pushtest.Reply{{Status: 404}}, want: "reminder_2h/failed/subscription gone", sent: 1},
		{name: "410", replies: []pushtest.Reply{{Status: 410}}, want: "reminder_2h/failed/subscription gone", sent: 1},
		{name: "413", replies: []pushtest.Reply{{Status: 413}, {Status: 201}}, want: "reminder_2h/sent/", sent: 2, kept: true},
		{name: "413 twice", replies: []pushtest.Reply{{Status: 413}, {Status: 413}}, want: "reminder_2h/failed/push service refused",
			sent: 2, kept: true},
		{name: "429", replies: []pushtest.Reply{{Status: 429, RetryAfter: "2"}, {Status: 201}}, want: "reminder_2h/sent/",
			sent: 2, kept: true, wait: 2 * time.Second},
		{name: "500", replies: []pushtest.Reply{{Status: 500}, {Status: 201}}, want: "reminder_2h/sent/", sent: 2, kept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			fake := pushtest.NewServer(t)
			jobstest.Start(f.t, f.db, jobs.Options{Sender: fake.Sender()}, f.svc)
			cred, phone := f.subscribe(fake)
			phone.QueueReplies(tc.replies...)
			f.appointment(f.ben, 90*time.Minute, "")
			if _, err := f.svc.QueueReminders(f.ctx); err != nil {
				t.Fatal(err)
			}
			f.waitDeliveries(tc.want)
			got := fake.Messages()
			if len(got) != tc.sent {
				t.Fatalf("the push service saw %d requests, want %d", len(got), tc.sent)
			}
			for i, r := range tc.replies {
				if got[i].Status != r.Status {
					t.Errorf("request %d answered %d, want %d", i, got[i].Status, r.Status)
				}
			}
			if tc.wait > 0 {
				if gap := got[1].At.Sub(got[0].At); gap < tc.wait {
					t.Errorf("tried again %v after a Retry-After of %v", gap, tc.wait)
				}
			}
			if len(got) == 2 {
				var first, second reminderMessage
				_ = json.Unmarshal(got[0].Payload, &first)
				_ = json.Unmarshal(got[1].Payload, &second)
				if tc.replies[0].Status == 413 {
					// Too large: the same notification without its text.
					first.Body = ""
				}
				if got[1].Topic != got[0].Topic || second != first || second.Title == "" {
					t.Errorf("the second try is another message: %s, then %s", got[0].Payload, got[1].Payload)
				}
			}
			home, err := f.svc.Home(f.ctx, cred)
			if err != nil {
				t.Fatal(err)
			}
			if home.Push != tc.kept {
				t.Errorf("subscription kept: %v, want %v", home.Push, tc.kept)
			}
			fake.CheckNoFailures(t)
		})
	}
}
