package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// Each answer of the push service becomes what River should do next, and
// the subscription is given up only when the push service says it is gone.
func TestPushOutcomes(t *testing.T) {
	fake := pushtest.NewServer(t)
	var logged bytes.Buffer
	s := New(nil, Options{Sender: fake.Sender(), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	cases := []struct {
		name    string
		reply   pushtest.Reply
		gone    bool
		snooze  time.Duration // a JobSnooze of this length
		retry   bool          // a plain error: River retries with backoff
		cancel  bool          // a JobCancel: never again
		outcome string
	}{
		{name: "201", reply: pushtest.Reply{Status: 201}, outcome: "sent"},
		{name: "404", reply: pushtest.Reply{Status: 404}, gone: true, outcome: "gone"},
		{name: "410", reply: pushtest.Reply{Status: 410}, gone: true, outcome: "gone"},
		{name: "429 Retry-After", reply: pushtest.Reply{Status: 429, RetryAfter: "7"}, snooze: 7 * time.Second, outcome: "retry"},
		{name: "503 Retry-After", reply: pushtest.Reply{Status: 503, RetryAfter: "30"}, snooze: 30 * time.Second, outcome: "retry"},
		{name: "500", reply: pushtest.Reply{Status: 500}, retry: true, outcome: "retry"},
		{name: "413", reply: pushtest.Reply{Status: 413}, cancel: true, outcome: "failed"},
		{name: "400", reply: pushtest.Reply{Status: 400}, cancel: true, outcome: "failed"},
		{name: "429 past the message's life", reply: pushtest.Reply{Status: 429, RetryAfter: "3600"}, cancel: true, outcome: "failed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub, client := fake.NewSubscription()
			client.SetReply(tc.reply)
			raw, _ := json.Marshal(sub)
			job := &rivertype.JobRow{ID: 1, Kind: "test_push", Attempt: 1, MaxAttempts: 5, CreatedAt: time.Now()}
			before := testutil.ToFloat64(s.metrics.pushes.WithLabelValues("test_push", tc.outcome))
			gone, err := s.Push(t.Context(), job, raw, push.Message{Payload: []byte("x"), TTL: 10 * time.Minute})
			if gone != tc.gone {
				t.Errorf("gone = %v, want %v", gone, tc.gone)
			}
			var snooze *river.JobSnoozeError
			var cancel *river.JobCancelError
			switch {
			case tc.snooze > 0:
				if !errors.As(err, &snooze) || snooze.Duration != tc.snooze {
					t.Errorf("err = %v, want a snooze of %v", err, tc.snooze)
				}
			case tc.retry:
				if err == nil || errors.As(err, &snooze) || errors.As(err, &cancel) {
					t.Errorf("err = %v, want a plain error River retries", err)
				}
			case tc.cancel:
				if !errors.As(err, &cancel) {
					t.Errorf("err = %v, want a cancel", err)
				}
			default:
				if err != nil {
					t.Errorf("err = %v, want nil", err)
				}
			}
			if got := testutil.ToFloat64(s.metrics.pushes.WithLabelValues("test_push", tc.outcome)) - before; got != 1 {
				t.Errorf("koto_push_messages_total{outcome=%q} grew by %v, want 1", tc.outcome, got)
			}
			if tc.name == "413" && !strings.Contains(logged.String(), `reason="payload too large"`) {
				t.Errorf("a 413 is not logged as payload too large:\n%s", logged.String())
			}
		})
	}
	// The log names the push service, never the browser's endpoint or keys.
	if !strings.Contains(logged.String(), "push failed for good") || !strings.Contains(logged.String(), fake.Host()) {
		t.Errorf("permanent failures are not logged with their host:\n%s", logged.String())
	}
	if strings.Contains(logged.String(), "/push/") || strings.Contains(logged.String(), "p256dh") {
		t.Errorf("the log shows an endpoint's path or keys:\n%s", logged.String())
	}
}

// A push that retries past its attempts, or comes after its message's
// time, is given up; what is left of the TTL is what the push service gets.
func TestPushGivesUpAndShortensTTL(t *testing.T) {
	fake := pushtest.NewServer(t)
	s := New(nil, Options{Sender: fake.Sender()})
	sub, client := fake.NewSubscription()
	raw, _ := json.Marshal(sub)
	msg := push.Message{Payload: []byte("x"), TTL: 10 * time.Minute}

	client.SetReply(pushtest.Reply{Status: 502})
	last := &rivertype.JobRow{Kind: "test_push", Attempt: 5, MaxAttempts: 5, CreatedAt: time.Now()}
	var cancel *river.JobCancelError
	if _, err := s.Push(t.Context(), last, raw, msg); !errors.As(err, &cancel) {
		t.Errorf("last attempt failing: %v, want a cancel", err)
	}

	client.SetReply(pushtest.Reply{Status: 201})
	before := len(fake.Messages())
	stale := &rivertype.JobRow{Kind: "test_push", Attempt: 1, MaxAttempts: 5, CreatedAt: time.Now().Add(-11 * time.Minute)}
	if _, err := s.Push(t.Context(), stale, raw, msg); !errors.As(err, &cancel) || !errors.Is(err, errStale) {
		t.Errorf("stale message: %v, want a cancel for staleness", err)
	}
	if len(fake.Messages()) != before {
		t.Error("a stale message was sent")
	}

	late := &rivertype.JobRow{Kind: "test_push", Attempt: 2, MaxAttempts: 5, CreatedAt: time.Now().Add(-4 * time.Minute)}
	if _, err := s.Push(t.Context(), late, raw, msg); err != nil {
		t.Fatal(err)
	}
	got := fake.Messages()[len(fake.Messages())-1].TTL
	if got > 6*60 || got < 5*60 {
		t.Errorf("TTL %d s after four minutes of a ten-minute message, want about 360", got)
	}
}

// A stored subscription that no longer passes the policy (say, its host
// left the allow-list) is of no more use: given up and to be deleted.
func TestPushRefusedSubscriptionIsGone(t *testing.T) {
	fake := pushtest.NewServer(t)
	s := New(nil, Options{Sender: fake.Sender()})
	raw := []byte(`{"endpoint":"https://push.example.com:8443/x","keys":{"p256dh":"x","auth":"y"}}`)
	gone, err := s.Push(t.Context(), &rivertype.JobRow{Kind: "test_push", CreatedAt: time.Now()}, raw, push.Message{})
	var cancel *river.JobCancelError
	if !gone || !errors.As(err, &cancel) || !errors.Is(err, push.ErrInvalidSubscription) {
		t.Errorf("gone %v, err %v: want gone and a cancel", gone, err)
	}
	if fake.Requests() != 0 {
		t.Error("something was sent")
	}

	off := New(nil, Options{})
	if gone, err := off.Push(t.Context(), &rivertype.JobRow{Kind: "test_push"}, raw, push.Message{}); gone || !errors.Is(err, ErrPushOff) {
		t.Errorf("push off: gone %v, err %v", gone, err)
	}
}
