// Package pushtest is a fake Web Push service for tests. It speaks the real
// protocol: it checks the VAPID Authorization header (RFC 8292), decrypts the
// aes128gcm body (RFC 8188, RFC 8291) with browser-side keys it made, records
// what arrived, and answers with scripted statuses (RFC 8030).
//
// Typical use:
//
//	srv := pushtest.NewServer(t)
//	sender := srv.Sender()
//	sub, _ := srv.NewSubscription()
//	out := sender.Send(ctx, sub, push.Message{Payload: []byte("hi"), TTL: time.Minute})
//	msg, _ := srv.WaitMessage(ctx) // msg.Payload is the decrypted "hi"
package pushtest

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/push"
)

// MaxBody is the largest request body accepted; RFC 8030 section 7.2 lets push
// services refuse more than 4096 bytes with 413.
const MaxBody = 4096

// Reply is a scripted answer. The zero Status means 201 Created.
type Reply struct {
	Status     int
	RetryAfter string      // Retry-After header value, e.g. "7" or an HTTP-date
	Header     http.Header // extra headers, e.g. Location for a redirect
	Body       string      // default: the status text for non-2xx answers
	// Delay holds the answer back this long after the message is taken
	// (and listed in Messages), or until the sender hangs up: a sender
	// killed meanwhile has sent its message but never learns it went.
	Delay time.Duration
}

// Message is one request that passed every check, with what the fake answered.
type Message struct {
	Endpoint        string
	Payload         []byte // decrypted, padding removed
	TTL             int
	Urgency         string // "" if the header was absent
	Topic           string // "" if the header was absent
	ContentEncoding string
	Subject         string    // the JWT's sub claim, exactly as sent
	Audience        string    // the JWT's aud claim
	Expiry          time.Time // the JWT's exp claim
	VAPIDKey        string    // the Authorization header's k
	Header          http.Header
	BodySize        int
	Status          int       // what the fake answered
	At              time.Time // when the request arrived
}

// Failure is one request the fake refused as malformed or unauthorised.
type Failure struct {
	Endpoint string
	Status   int
	Reason   string
}

// Server is the fake push service. Its methods are safe for concurrent use.
type Server struct {
	t  testing.TB
	ts *httptest.Server

	vapidPublic, vapidPrivate string

	mu          sync.Mutex
	clients     map[string]*Client
	expectedKey string
	reply       Reply
	messages    []Message
	failures    []Failure
	requests    int
	conns       int
	waitNext    int
	changed     chan struct{} // closed and replaced when a message is recorded
	closeOnce   sync.Once
}

// NewServer starts a plain-http fake; pair it with Config.AllowInsecure (which
// Server.Config sets). It is closed when the test ends.
func NewServer(t testing.TB) *Server { return newServer(t, false) }

// NewTLSServer starts an https fake; use Server.HTTPClient (which
// Server.Config sets), as it trusts the fake's certificate.
func NewTLSServer(t testing.TB) *Server { return newServer(t, true) }

func newServer(t testing.TB, useTLS bool) *Server {
	t.Helper()
	pub, priv, err := push.GenerateVAPIDKeys()
	if err != nil {
		t.Fatalf("pushtest: generate VAPID keys: %v", err)
	}
	s := &Server{
		t:            t,
		vapidPublic:  pub,
		vapidPrivate: priv,
		clients:      make(map[string]*Client),
		changed:      make(chan struct{}),
	}
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.ts.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	if useTLS {
		s.ts.StartTLS()
	} else {
		s.ts.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; sends after it fail with a network error. Safe to
// call more than once.
func (s *Server) Close() { s.closeOnce.Do(s.ts.Close) }

// URL is the server's origin, scheme://127.0.0.1:port.
func (s *Server) URL() string { return s.ts.URL }

// Host is the server's host name without port, for Config.AllowedHosts.
func (s *Server) Host() string {
	u, _ := url.Parse(s.ts.URL)
	return u.Hostname()
}

// HTTPClient returns a client that reaches the server (and trusts its TLS
// certificate, for NewTLSServer).
func (s *Server) HTTPClient() *http.Client { return s.ts.Client() }

// Config returns a push.Config that works against this server: its own VAPID
// key pair (which the server then requires), a mailto subject, the server's
// host as the only allowed host, and HTTPClient.
func (s *Server) Config() push.Config {
	s.ExpectVAPIDKey(s.vapidPublic)
	return push.Config{
		VAPIDPublicKey:  s.vapidPublic,
		VAPIDPrivateKey: s.vapidPrivate,
		Subject:         "mailto:pushtest@example.org",
		AllowedHosts:    []string{s.Host()},
		// Both fakes listen on a random port, which real endpoints may not.
		AllowInsecure: true,
		Client:        s.HTTPClient(),
	}
}

// Sender builds a push.Sender from Config, failing the test on error.
func (s *Server) Sender() *push.Sender {
	s.t.Helper()
	sender, err := push.NewSender(s.Config())
	if err != nil {
		s.t.Fatalf("pushtest: NewSender: %v", err)
	}
	return sender
}

// ExpectVAPIDKey makes the server refuse requests whose k is not publicKey;
// "" accepts any key whose signature verifies.
func (s *Server) ExpectVAPIDKey(publicKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expectedKey = publicKey
}

// SetReply sets the answer for subscriptions without their own script.
func (s *Server) SetReply(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = r
}

// NewSubscription makes a browser-side key pair and auth secret and returns
// the subscription a browser would hand over, plus the browser side.
func (s *Server) NewSubscription() (push.Subscription, *Client) {
	s.t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatalf("pushtest: generate subscription key: %v", err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		s.t.Fatalf("pushtest: generate auth secret: %v", err)
	}
	idBytes := make([]byte, 24)
	if _, err := rand.Read(idBytes); err != nil {
		s.t.Fatalf("pushtest: generate id: %v", err)
	}
	id := base64.RawURLEncoding.EncodeToString(idBytes)
	c := &Client{
		srv:  s,
		id:   id,
		priv: priv,
		auth: auth,
		sub: push.Subscription{
			Endpoint: s.ts.URL + "/push/" + id,
			P256dh:   base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
			Auth:     base64.RawURLEncoding.EncodeToString(auth),
		},
	}
	s.mu.Lock()
	s.clients[id] = c
	s.mu.Unlock()
	return c.sub, c
}

// Messages returns every accepted request so far, in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Failures returns every refused request so far.
func (s *Server) Failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Failure(nil), s.failures...)
}

// CheckNoFailures reports each refused request as a test error.
func (s *Server) CheckNoFailures(t testing.TB) {
	t.Helper()
	for _, f := range s.Failures() {
		t.Errorf("pushtest: refused request (%d): %s", f.Status, f.Reason)
	}
}

// Requests counts every request that reached the server, accepted or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Connections counts TCP connections accepted; a sender that closes and
// drains answer bodies keeps this at one for sequential sends.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// WaitMessage returns the next accepted message not yet returned by an
// earlier WaitMessage call, waiting for it until ctx ends.
func (s *Server) WaitMessage(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if s.waitNext < len(s.messages) {
			m := s.messages[s.waitNext]
			s.waitNext++
			s.mu.Unlock()
			return m, nil
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Client is the browser side of one subscription.
type Client struct {
	srv  *Server
	id   string
	sub  push.Subscription
	priv *ecdh.PrivateKey
	auth []byte

	// Guarded by srv.mu.
	reply *Reply
	queue []Reply
}

// Subscription is what the browser handed to the application server.
func (c *Client) Subscription() push.Subscription { return c.sub }

// SetReply makes every later request to this subscription get r.
func (c *Client) SetReply(r Reply) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	c.reply = &r
}

// QueueReplies answers the next requests to this subscription with rs, in
// order, before falling back to SetReply or the server's reply.
func (c *Client) QueueReplies(rs ...Reply) {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	c.queue = append(c.queue, rs...)
}

// Decrypt opens an aes128gcm request body addressed to this subscription.
func (c *Client) Decrypt(body []byte) ([]byte, error) {
	return decryptAES128GCM(body, c.priv, c.auth)
}

// Messages returns the accepted messages for this subscription.
func (c *Client) Messages() []Message {
	var out []Message
	for _, m := range c.srv.Messages() {
		if m.Endpoint == c.sub.Endpoint {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	endpoint := s.ts.URL + r.URL.Path
	fail := func(status int, format string, args ...any) {
		reason := fmt.Sprintf(format, args...)
		s.mu.Lock()
		s.failures = append(s.failures, Failure{Endpoint: endpoint, Status: status, Reason: reason})
		s.mu.Unlock()
		http.Error(w, reason, status)
	}

	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "method %s, want POST", r.Method)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/push/")
	s.mu.Lock()
	c := s.clients[id]
	expectedKey := s.expectedKey
	s.mu.Unlock()
	if !ok || c == nil {
		fail(http.StatusNotFound, "no subscription at %s", r.URL.Path)
		return
	}

	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		fail(http.StatusBadRequest, "read body: %v", err)
		return
	}
	if len(body) > MaxBody {
		fail(http.StatusRequestEntityTooLarge, "body larger than %d bytes", MaxBody)
		return
	}

	token, key, err := parseVAPIDAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		fail(http.StatusUnauthorized, "%v", err)
		return
	}
	claims, err := verifyVAPIDToken(token, key, s.ts.URL, time.Now())
	if err != nil {
		fail(http.StatusUnauthorized, "VAPID: %v", err)
		return
	}
	if expectedKey != "" && !equalKeys(key, expectedKey) {
		fail(http.StatusUnauthorized, "VAPID: k is not the expected application server key")
		return
	}

	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		fail(http.StatusBadRequest, "Content-Encoding %q, want aes128gcm", ce)
		return
	}
	ttlHeader := r.Header.Get("TTL")
	if ttlHeader == "" {
		fail(http.StatusBadRequest, "TTL header missing")
		return
	}
	ttl, err := strconv.Atoi(ttlHeader)
	if err != nil || ttl < 0 {
		fail(http.StatusBadRequest, "TTL %q is not a non-negative integer", ttlHeader)
		return
	}
	urgency := r.Header.Get("Urgency")
	switch urgency {
	case "", push.UrgencyVeryLow, push.UrgencyLow, push.UrgencyNormal, push.UrgencyHigh:
	default:
		fail(http.StatusBadRequest, "Urgency %q is not a defined value", urgency)
		return
	}
	topic := r.Header.Get("Topic")
	if !validTopic(topic) {
		fail(http.StatusBadRequest, "Topic %q is not up to 32 URL-safe base64 characters", topic)
		return
	}

	plain, err := c.Decrypt(body)
	if err != nil {
		fail(http.StatusBadRequest, "decrypt: %v", err)
		return
	}

	s.mu.Lock()
	var reply Reply
	switch {
	case len(c.queue) > 0:
		reply, c.queue = c.queue[0], c.queue[1:]
	case c.reply != nil:
		reply = *c.reply
	default:
		reply = s.reply
	}
	status := reply.Status
	if status == 0 {
		status = http.StatusCreated
	}
	s.messages = append(s.messages, Message{
		Endpoint:        endpoint,
		Payload:         plain,
		TTL:             ttl,
		Urgency:         urgency,
		Topic:           topic,
		ContentEncoding: r.Header.Get("Content-Encoding"),
		Subject:         claims.Subject,
		Audience:        claims.Audience,
		Expiry:          claims.Expiry,
		VAPIDKey:        key,
		Header:          r.Header.Clone(),
		BodySize:        len(body),
		Status:          status,
		At:              time.Now(),
	})
	n := len(s.messages)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	if reply.Delay > 0 {
		select {
		case <-time.After(reply.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for name, values := range reply.Header {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	if reply.RetryAfter != "" {
		w.Header().Set("Retry-After", reply.RetryAfter)
	}
	if status == http.StatusCreated && w.Header().Get("Location") == "" {
		// RFC 8030 section 5: 201 names the created push message resource.
		w.Header().Set("Location", fmt.Sprintf("%s/message/%d", s.ts.URL, n))
	}
	text := reply.Body
	if text == "" && status >= 300 {
		text = http.StatusText(status) + "\n"
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

func validTopic(t string) bool {
	if len(t) > push.MaxTopicLen {
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
