package push

import (
	"fmt"
	"time"
)

// Limits a Message must respect.
const (
	// MaxPayloadSize is the largest payload Send accepts. RFC 8291 leaves 3993
	// bytes after encryption overhead in a 4096-byte record; 3 KiB keeps a
	// margin for push services that count differently.
	MaxPayloadSize = 3 << 10
	// MaxTopicLen is RFC 8030's limit on the Topic header.
	MaxTopicLen = 32
	// MaxTTL is the longest TTL push services honour (FCM's four weeks).
	MaxTTL = 28 * 24 * time.Hour
)

// Urgency values of RFC 8030 section 5.3.
const (
	UrgencyVeryLow = "very-low"
	UrgencyLow     = "low"
	UrgencyNormal  = "normal"
	UrgencyHigh    = "high"
)

// Message is one push to one subscription.
type Message struct {
	// Payload is encrypted to the subscription; at most MaxPayloadSize bytes.
	Payload []byte
	// TTL is how long the push service may hold the message for an offline
	// browser, in whole seconds; zero means deliver now or drop.
	TTL time.Duration
	// Urgency is one of the Urgency constants, or empty for the service's
	// default (normal).
	Urgency string
	// Topic, if set, replaces an undelivered earlier message with the same
	// topic; up to 32 characters of the URL-safe base64 alphabet.
	Topic string
	// Shorter, if set, is sent in Payload's place when the push service
	// finds Payload too large (413), or it is over MaxPayloadSize: the
	// news in fewer words, which the page the notification opens completes.
	Shorter []byte
}

// Validate reports why Send would refuse m, without sending anything.
func (m Message) Validate() error {
	if len(m.Payload) > MaxPayloadSize {
		return &PayloadTooLargeError{Size: len(m.Payload), Max: MaxPayloadSize}
	}
	if m.TTL < 0 {
		return &MessageError{Field: "ttl", Reason: "negative"}
	}
	if m.TTL > MaxTTL {
		return &MessageError{Field: "ttl", Reason: fmt.Sprintf("longer than %s", MaxTTL)}
	}
	switch m.Urgency {
	case "", UrgencyVeryLow, UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return &MessageError{Field: "urgency", Reason: "must be very-low, low, normal or high"}
	}
	if !validTopic(m.Topic) {
		return &MessageError{Field: "topic", Reason: fmt.Sprintf("must be at most %d characters of A-Z a-z 0-9 - _", MaxTopicLen)}
	}
	return nil
}

// validTopic allows the empty topic, meaning none.
func validTopic(t string) bool {
	if len(t) > MaxTopicLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
