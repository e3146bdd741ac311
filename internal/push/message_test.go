package push_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/push"
)

func TestMessageValidate(t *testing.T) {
	ok := []push.Message{
		{},
		{Payload: make([]byte, push.MaxPayloadSize), TTL: push.MaxTTL, Urgency: push.UrgencyVeryLow, Topic: strings.Repeat("a", 32)},
		{Urgency: push.UrgencyLow, Topic: "AZaz09-_"},
		{Urgency: push.UrgencyNormal},
		{Urgency: push.UrgencyHigh, TTL: time.Minute},
	}
	for _, m := range ok {
		if err := m.Validate(); err != nil {
			t.Errorf("%+v: %v", m, err)
		}
	}
	bad := []struct {
		msg   push.Message
		field string
	}{
		{push.Message{TTL: -time.Second}, "ttl"},
		{push.Message{TTL: push.MaxTTL + time.Second}, "ttl"},
		{push.Message{Urgency: "urgent"}, "urgency"},
		{push.Message{Urgency: "HIGH"}, "urgency"},
		{push.Message{Topic: strings.Repeat("a", 33)}, "topic"},
		{push.Message{Topic: "ticket 42"}, "topic"},
		{push.Message{Topic: "dGlja2V0=="}, "topic"},
		{push.Message{Topic: "a+b/c"}, "topic"},
		{push.Message{Topic: "jonotus-ä"}, "topic"},
	}
	for _, tc := range bad {
		err := tc.msg.Validate()
		var me *push.MessageError
		if !errors.As(err, &me) || me.Field != tc.field || !errors.Is(err, push.ErrInvalidMessage) {
			t.Errorf("%+v: got %v, want MessageError on %s", tc.msg, err, tc.field)
		}
	}
	err := push.Message{Payload: make([]byte, push.MaxPayloadSize+1)}.Validate()
	var pe *push.PayloadTooLargeError
	if !errors.Is(err, push.ErrPayloadTooLarge) || !errors.Is(err, push.ErrInvalidMessage) || !errors.As(err, &pe) || pe.Size != 3073 || pe.Max != 3072 {
		t.Errorf("3073-byte payload: got %v", err)
	}
}

// A push service reads Topic in clear: it must not carry the ticket's
// counting id, nor let two names, or two deployments, be linked.
func TestSenderTopicIsOpaque(t *testing.T) {
	newSender := func() *push.Sender {
		pub, priv, _ := push.GenerateVAPIDKeys()
		s, err := push.NewSender(push.Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "mailto:ops@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := newSender(), newSender()
	seen := map[string]bool{}
	for _, name := range []string{"ticket-1", "ticket-2", "ticket-10", ""} {
		topic := a.Topic(name)
		if len(topic) != push.MaxTopicLen {
			t.Errorf("Topic(%q) = %q: %d characters, want %d", name, topic, len(topic), push.MaxTopicLen)
		}
		if err := (push.Message{Topic: topic}).Validate(); err != nil {
			t.Errorf("Topic(%q) = %q is refused: %v", name, topic, err)
		}
		if name != "" && strings.Contains(topic, name) {
			t.Errorf("Topic(%q) = %q shows the name", name, topic)
		}
		if seen[topic] {
			t.Errorf("Topic(%q) = %q repeats another name's topic", name, topic)
		}
		seen[topic] = true
		if a.Topic(name) != topic {
			t.Errorf("Topic(%q) is not stable", name)
		}
		if b.Topic(name) == topic {
			t.Errorf("Topic(%q) is the same under another key", name)
		}
	}
}
