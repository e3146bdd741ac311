// Package push owns sending Web Push messages: validating browser
// subscriptions, encrypting and signing with VAPID (via webpush-go), and
// turning the push service's answer into an Outcome the caller acts on.
// Ticket notifications and client outreach both send through it.
package push

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// DefaultTimeout bounds one send when Config.Client is nil.
const DefaultTimeout = 10 * time.Second

// The body of a push message is one RFC 8188 record behind a header: salt
// (16), record size (4), key id length (1) and the sender's public key (65),
// then the payload, a one-byte delimiter and the 16-byte AES-GCM tag.
const bodyOverhead = 16 + 4 + 1 + 65 + 1 + 16

// padBlock is what bodies are padded to a multiple of. The push service sees
// each body's length, so padding hides which text went out; webpush-go's
// default pads every body to 4096 bytes, which costs eight times the
// encryption and upload of a reminder to hide nothing more.
const padBlock = 512

// recordSize is webpush-go's RecordSize for a payload: the whole body's
// length, which webpush-go fills with padding.
func recordSize(payloadLen int) uint32 {
	return uint32((payloadLen + bodyOverhead + padBlock - 1) / padBlock * padBlock)
}

// maxDrain bounds how much of an answer body is read so the connection can be
// reused; push services answer with at most a short error text.
const maxDrain = 64 << 10

// Kind is what the caller should do after a send.
type Kind int

// Kinds of Outcome. The zero Kind is deliberately none of them so that an
// unset Outcome never reads as Sent.
const (
	// Sent: the push service accepted the message.
	Sent Kind = iota + 1
	// Gone: the subscription expired or was revoked (404/410); the caller
	// deletes it. Nothing in this package deletes subscriptions.
	Gone
	// RetryAfter: rate limited (429); retry after Outcome.RetryAfter.
	RetryAfter
	// Retry: transient (5xx or no answer); retry with backoff (River's
	// retry policy, for the jobs that send).
	Retry
	// Failed: permanent for this message (other 4xx, refused locally); do not
	// retry, keep the subscription.
	Failed
)

func (k Kind) String() string {
	switch k {
	case Sent:
		return "sent"
	case Gone:
		return "gone"
	case RetryAfter:
		return "retry-after"
	case Retry:
		return "retry"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Outcome is the result of one Send. It holds no endpoint, key or payload.
type Outcome struct {
	Kind Kind
	// StatusCode is the push service's HTTP status, 0 if none arrived.
	StatusCode int
	// RetryAfter is set for Kind RetryAfter, and for Retry when a 5xx carried
	// a Retry-After header.
	RetryAfter time.Duration
	// Err says why, for every Kind but Sent and Gone; see StatusError,
	// TransportError, SubscriptionError, MessageError, PayloadTooLargeError.
	Err error
}

// Sender sends Web Push messages. Build one with NewSender and share it; it is
// safe for concurrent use and reuses one HTTP client's connections.
type Sender struct {
	policy     policy
	client     *http.Client
	publicKey  string // canonical base64url
	privateKey string // canonical base64url
	subscriber string // webpush-go's Subscriber: bare address or https URL
	topicKey   []byte // keys Topic, derived from the VAPID private key
	now        func() time.Time
}

// NewSender validates cfg and builds a Sender.
func NewSender(cfg Config) (*Sender, error) {
	if err := checkVAPIDKeys(cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey); err != nil {
		return nil, err
	}
	subscriber, err := vapidSubscriber(cfg.Subject)
	if err != nil {
		return nil, err
	}
	pub, _ := decodeKey(cfg.VAPIDPublicKey)
	priv, _ := decodeKey(cfg.VAPIDPrivateKey)

	var client http.Client
	if cfg.Client != nil {
		// A shallow copy shares the caller's Transport (and so its connection
		// pool) while letting us turn redirects off without touching theirs.
		client = *cfg.Client
	} else {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		// Nearly all sends go to a handful of push-service hosts.
		transport.MaxIdleConnsPerHost = 32
		// Push services answer with an empty body or a line of error
		// text: asking for gzip only adds a header to every request and a
		// check to every answer.
		transport.DisableCompression = true
		client = http.Client{Transport: transport, Timeout: DefaultTimeout}
	}
	// Following a redirect would post to a host the allow-list never saw.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	return &Sender{
		policy:     newPolicy(cfg),
		client:     &client,
		publicKey:  base64.RawURLEncoding.EncodeToString(pub),
		privateKey: base64.RawURLEncoding.EncodeToString(priv),
		subscriber: subscriber,
		topicKey:   mac(priv, "koto-portal push topic key"),
		now:        time.Now,
	}, nil
}

// Topic turns a name the caller chooses (say, the ticket's id) into a
// Message.Topic that the push service, which reads it in clear, cannot link
// back to the name or count through: an HMAC under a key only the portal
// instances share (derived from the VAPID key they all hold), cut to
// RFC 8030's 32 characters of URL-safe base64 (192 bits).
func (s *Sender) Topic(name string) string {
	return base64.RawURLEncoding.EncodeToString(mac(s.topicKey, name))[:MaxTopicLen]
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// PublicKey is the VAPID public key for the browser's applicationServerKey.
func (s *Sender) PublicKey() string { return s.publicKey }

// ParseSubscription parses browser JSON with this Sender's allow-list and
// AllowInsecure setting.
func (s *Sender) ParseSubscription(data []byte) (Subscription, error) {
	return s.policy.parse(data)
}

// Send encrypts msg to sub and posts it to the push service. It validates sub
// and msg first and sends nothing if either is refused (Kind Failed).
func (s *Sender) Send(ctx context.Context, sub Subscription, msg Message) Outcome {
	if err := msg.Validate(); err != nil {
		return Outcome{Kind: Failed, Err: err}
	}
	sub, host, err := s.policy.validate(sub)
	if err != nil {
		return Outcome{Kind: Failed, Err: err}
	}

	resp, err := webpush.SendNotificationWithContext(ctx, msg.Payload, &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth},
	}, &webpush.Options{
		HTTPClient:      s.client,
		RecordSize:      recordSize(len(msg.Payload)),
		Subscriber:      s.subscriber,
		Topic:           msg.Topic,
		TTL:             int(msg.TTL / time.Second),
		Urgency:         webpush.Urgency(msg.Urgency),
		VAPIDPublicKey:  s.publicKey,
		VAPIDPrivateKey: s.privateKey,
	})
	if err != nil {
		// *url.Error quotes the full endpoint; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Outcome{Kind: Retry, Err: &TransportError{Host: host, Err: err}}
	}
	defer resp.Body.Close()
	// Reading to EOF returns the connection to the pool; the cap stops a
	// hostile server from streaming forever.
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)

	return classify(resp, host, s.now())
}

// classify maps a push service's answer to an Outcome.
func classify(resp *http.Response, host string, now time.Time) Outcome {
	code := resp.StatusCode
	o := Outcome{StatusCode: code}
	switch {
	case code == http.StatusCreated || code == http.StatusOK || code == http.StatusAccepted:
		o.Kind = Sent
		return o
	case code == http.StatusNotFound || code == http.StatusGone:
		o.Kind = Gone
		return o
	case code == http.StatusTooManyRequests:
		o.Kind = RetryAfter
		o.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now)
	case code >= 500 && code <= 599:
		o.Kind = Retry
		if v := resp.Header.Get("Retry-After"); v != "" {
			o.RetryAfter = ParseRetryAfter(v, now)
		}
	default:
		// Other 4xx, 3xx (redirects are not followed) and odd 1xx/2xx: the
		// request itself is wrong, so sending it again would not help.
		o.Kind = Failed
	}
	o.Err = &StatusError{StatusCode: code, Host: host}
	return o
}
