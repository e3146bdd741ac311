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
