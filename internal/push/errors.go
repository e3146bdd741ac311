package push

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors, matched with errors.Is; the typed errors below wrap them.
var (
	// ErrInvalidSubscription marks a subscription that must not be stored or used.
	ErrInvalidSubscription = errors.New("push: invalid subscription")
	// ErrHostNotAllowed marks an endpoint whose host is not on the allow-list.
	ErrHostNotAllowed = errors.New("push: endpoint host not allowed")
	// ErrInsecureEndpoint marks a plain-http endpoint while Config.AllowInsecure is off.
	ErrInsecureEndpoint = errors.New("push: endpoint is not https")
	// ErrEndpointPort marks an endpoint on a port other than 443 while
	// Config.AllowInsecure is off.
	ErrEndpointPort = errors.New("push: endpoint port is not 443")
	// ErrInvalidMessage marks a message refused before anything was sent.
	ErrInvalidMessage = errors.New("push: invalid message")
	// ErrPayloadTooLarge marks a payload over MaxPayloadSize.
	ErrPayloadTooLarge = errors.New("push: payload too large")
	// ErrInvalidConfig marks a Config that NewSender refuses.
	ErrInvalidConfig = errors.New("push: invalid config")
)

// SubscriptionError says which field of a subscription is wrong, never its value,
// because endpoints and keys identify a person's browser.
type SubscriptionError struct {
	Field  string // "json", "endpoint", "p256dh" or "auth"
	Reason string
	Err    error // a more specific sentinel such as ErrHostNotAllowed, or nil
}

func (e *SubscriptionError) Error() string {
	return fmt.Sprintf("push: invalid subscription: %s: %s", e.Field, e.Reason)
}

// Unwrap lets errors.Is match both ErrInvalidSubscription and the specific cause.
func (e *SubscriptionError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidSubscription}
	}
	return []error{ErrInvalidSubscription, e.Err}
}

// MessageError says which field of a Message is wrong.
type MessageError struct {
	Field  string // "ttl", "urgency" or "topic"
	Reason string
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("push: invalid message: %s: %s", e.Field, e.Reason)
}

func (e *MessageError) Unwrap() error { return ErrInvalidMessage }

// PayloadTooLargeError is returned for payloads over MaxPayloadSize; the size lets
// callers log how far over they were without logging the content.
type PayloadTooLargeError struct {
	Size, Max int
}

func (e *PayloadTooLargeError) Error() string {
	return fmt.Sprintf("push: payload too large: %d bytes, max %d", e.Size, e.Max)
}

// Unwrap lets errors.Is match both ErrPayloadTooLarge and ErrInvalidMessage.
func (e *PayloadTooLargeError) Unwrap() []error {
	return []error{ErrPayloadTooLarge, ErrInvalidMessage}
}

// ConfigError says which Config field NewSender refused.
type ConfigError struct {
	Field  string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("push: invalid config: %s: %s", e.Field, e.Reason)
}

func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// StatusError is the Outcome.Err for an HTTP answer that was not a success.
type StatusError struct {
	StatusCode int
	Host       string // the endpoint's host only, see RedactEndpoint
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("push: %s answered %d", e.Host, e.StatusCode)
}

// Unwrap lets errors.Is tell a 413 apart: the push service found the
// payload too large, so the same message can never succeed.
func (e *StatusError) Unwrap() error {
	if e.StatusCode == http.StatusRequestEntityTooLarge {
		return ErrPayloadTooLarge
	}
	return nil
}

// TransportError is the Outcome.Err when no HTTP answer arrived; it carries the
// host and the underlying cause but, unlike *url.Error, not the endpoint URL.
type TransportError struct {
	Host string
	Err  error
}

func (e *TransportError) Error() string {
	return fmt.Sprintf("push: post to %s: %v", e.Host, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }
