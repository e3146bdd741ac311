package push_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// endpointPath is the part of an endpoint that identifies the browser.
func endpointPath(sub push.Subscription) string {
	return sub.Endpoint[strings.LastIndex(sub.Endpoint, "/")+1:]
}

func TestSendDeliversEncryptedPayload(t *testing.T) {
	for name, newServer := range map[string]func(testing.TB) *pushtest.Server{
		"http":  pushtest.NewServer,
		"https": pushtest.NewTLSServer,
	} {
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			sender := srv.Sender()
			sub, _ := srv.NewSubscription()
			payload := []byte(`{"ticket":"A042","desk":"3","text":"Vuorosi on nyt – tervetuloa!"}`)

			out := sender.Send(ctxT(t), sub, push.Message{Payload: payload, TTL: time.Minute})
			if out.Kind != push.Sent || out.StatusCode != http.StatusCreated || out.Err != nil {
				t.Fatalf("outcome %+v, want Sent 201", out)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake recorded %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if !bytes.Equal(m.Payload, payload) {
				t.Errorf("decrypted %q, want %q", m.Payload, payload)
			}
			if m.Endpoint != sub.Endpoint || m.Audience != srv.URL() || m.VAPIDKey != sender.PublicKey() || m.ContentEncoding != "aes128gcm" {
				t.Errorf("recorded %+v", m)
			}
			if m.Subject != "mailto:pushtest@example.org" {
				t.Errorf("sub claim %q", m.Subject)
			}
			if until := time.Until(m.Expiry); until <= time.Hour || until > 24*time.Hour {
				t.Errorf("exp %v from now, want between 1 h and 24 h", until)
			}
			srv.CheckNoFailures(t)
		})
	}
}

func TestSendClassifiesAnswers(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	cases := []struct {
		reply      pushtest.Reply
		kind       push.Kind
		retryAfter time.Duration
	}{
		{pushtest.Reply{Status: 201}, push.Sent, 0},
		{pushtest.Reply{Status: 200}, push.Sent, 0},
		{pushtest.Reply{Status: 202}, push.Sent, 0},
		{pushtest.Reply{Status: 404}, push.Gone, 0},
		{pushtest.Reply{Status: 410}, push.Gone, 0},
		{pushtest.Reply{Status: 429, RetryAfter: "7"}, push.RetryAfter, 7 * time.Second},
		{pushtest.Reply{Status: 429}, push.RetryAfter, push.DefaultRetryAfter},
		{pushtest.Reply{Status: 429, RetryAfter: "later please"}, push.RetryAfter, push.DefaultRetryAfter},
		{pushtest.Reply{Status: 429, RetryAfter: "86400"}, push.RetryAfter, push.MaxRetryAfter},
		{pushtest.Reply{Status: 500}, push.Retry, 0},
		{pushtest.Reply{Status: 502}, push.Retry, 0},
		{pushtest.Reply{Status: 503, RetryAfter: "30"}, push.Retry, 30 * time.Second},
		{pushtest.Reply{Status: 400}, push.Failed, 0},
		{pushtest.Reply{Status: 401}, push.Failed, 0},
		{pushtest.Reply{Status: 403}, push.Failed, 0},
		{pushtest.Reply{Status: 413}, push.Failed, 0},
		{pushtest.Reply{Status: 422}, push.Failed, 0},
		{pushtest.Reply{Status: 204}, push.Failed, 0},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%d %s", tc.reply.Status, tc.reply.RetryAfter), func(t *testing.T) {
			sub, client := srv.NewSubscription()
			client.SetReply(tc.reply)
			before := len(srv.Messages())
			out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x"), TTL: time.Minute})
			if out.Kind != tc.kind || out.StatusCode != tc.reply.Status || out.RetryAfter != tc.retryAfter {
				t.Errorf("outcome %v/%d/%v, want %v/%d/%v", out.Kind, out.StatusCode, out.RetryAfter, tc.kind, tc.reply.Status, tc.retryAfter)
			}
			if got := len(srv.Messages()) - before; got != 1 {
				t.Errorf("fake got %d valid requests, want 1", got)
			}
			var se *push.StatusError
			switch tc.kind {
			case push.Sent, push.Gone:
				if out.Err != nil {
					t.Errorf("Err = %v, want nil", out.Err)
				}
			default:
				if !errors.As(out.Err, &se) || se.StatusCode != tc.reply.Status || se.Host != strings.TrimPrefix(srv.URL(), "http://") {
					t.Errorf("Err = %#v, want StatusError", out.Err)
				} else if strings.Contains(out.Err.Error(), endpointPath(sub)) {
					t.Errorf("error leaks the endpoint: %v", out.Err)
				}
				if tooLarge := errors.Is(out.Err, push.ErrPayloadTooLarge); tooLarge != (tc.reply.Status == 413) {
					t.Errorf("Err = %v: payload too large is %v", out.Err, tooLarge)
				}
			}
		})
	}
	srv.CheckNoFailures(t)
}

func TestSendRetryAfterHTTPDate(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, client := srv.NewSubscription()
	client.SetReply(pushtest.Reply{Status: 429, RetryAfter: time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)})
	out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")})
	// The date has one-second resolution and some time passes in between.
	if out.Kind != push.RetryAfter || out.RetryAfter < 118*time.Second || out.RetryAfter > 2*time.Minute {
		t.Errorf("outcome %v retry after %v, want RetryAfter about 2m", out.Kind, out.RetryAfter)
	}
}

func TestSendNetworkErrorIsRetry(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()
	srv.Close()
	out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")})
	var te *push.TransportError
	if out.Kind != push.Retry || out.StatusCode != 0 || !errors.As(out.Err, &te) {
		t.Fatalf("outcome %+v, want Retry with TransportError", out)
	}
	if strings.Contains(out.Err.Error(), endpointPath(sub)) || strings.Contains(out.Err.Error(), "/push/") {
		t.Errorf("error leaks the endpoint: %v", out.Err)
	}
}

func TestSendCanceledContextIsRetry(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := sender.Send(ctx, sub, push.Message{Payload: []byte("x")})
	if out.Kind != push.Retry || !errors.Is(out.Err, context.Canceled) {
		t.Errorf("outcome %+v, want Retry wrapping context.Canceled", out)
	}
}

func TestFakeRejectsWrongVAPIDKey(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	otherPub, _, _ := push.GenerateVAPIDKeys()
	srv.ExpectVAPIDKey(otherPub)
	sub, _ := srv.NewSubscription()
	out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")})
	if out.Kind != push.Failed || out.StatusCode != http.StatusUnauthorized {
		t.Errorf("outcome %+v, want Failed 401", out)
	}
	f := srv.Failures()
	if len(f) != 1 || f[0].Status != http.StatusUnauthorized || !strings.Contains(f[0].Reason, "expected application server key") {
		t.Errorf("failures %+v, want one key mismatch", f)
	}
	if len(srv.Messages()) != 0 {
		t.Error("fake accepted a message signed with the wrong key")
	}
	// Back to the right key, the same sender gets through.
	srv.ExpectVAPIDKey(sender.PublicKey())
	if out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")}); out.Kind != push.Sent {
		t.Errorf("with the right key: %+v", out)
	}
}

func TestSubjectArrivesExactly(t *testing.T) {
	for _, subject := range []string{"mailto:ops@example.org", "https://portal.example.fi/yhteystiedot"} {
		srv := pushtest.NewServer(t)
		cfg := srv.Config()
		cfg.Subject = subject
		sender, err := push.NewSender(cfg)
		if err != nil {
			t.Fatal(err)
		}
		sub, _ := srv.NewSubscription()
		if out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")}); out.Kind != push.Sent {
			t.Fatalf("%s: %+v (failures %+v)", subject, out, srv.Failures())
		}
		if got := srv.Messages()[0].Subject; got != subject {
			t.Errorf("sub claim %q, want %q", got, subject)
		}
	}
}

func TestAllowListRefusesBeforeSending(t *testing.T) {
	srv := pushtest.NewServer(t)
	sub, _ := srv.NewSubscription()

	cfg := srv.Config()
	cfg.AllowedHosts = []string{"fcm.googleapis.com"}
	sender, err := push.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")})
	if out.Kind != push.Failed || !errors.Is(out.Err, push.ErrHostNotAllowed) {
		t.Errorf("unknown host: %+v, want Failed ErrHostNotAllowed", out)
	}

	cfg = srv.Config()
	cfg.AllowInsecure = false
	sender, err = push.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out = sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")})
	if out.Kind != push.Failed || !errors.Is(out.Err, push.ErrInsecureEndpoint) {
		t.Errorf("http endpoint: %+v, want Failed ErrInsecureEndpoint", out)
	}
	if _, err := sender.ParseSubscription([]byte(`{"endpoint":"` + sub.Endpoint + `","keys":{"p256dh":"` + sub.P256dh + `","auth":"` + sub.Auth + `"}}`)); !errors.Is(err, push.ErrInsecureEndpoint) {
		t.Errorf("Sender.ParseSubscription: %v, want ErrInsecureEndpoint", err)
	}

	if n, c := srv.Requests(), srv.Connections(); n != 0 || c != 0 {
		t.Errorf("fake saw %d requests on %d connections, want none", n, c)
	}
}

func TestPayloadLimit(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()

	out := sender.Send(ctxT(t), sub, push.Message{Payload: bytes.Repeat([]byte("a"), push.MaxPayloadSize+1)})
	if out.Kind != push.Failed || !errors.Is(out.Err, push.ErrPayloadTooLarge) || srv.Requests() != 0 {
		t.Errorf("3073 bytes: %+v, %d requests; want Failed ErrPayloadTooLarge, none sent", out, srv.Requests())
	}

	largest := bytes.Repeat([]byte("ä"), push.MaxPayloadSize/2)
	if out := sender.Send(ctxT(t), sub, push.Message{Payload: largest}); out.Kind != push.Sent {
		t.Fatalf("3072 bytes: %+v", out)
	}
	if got := srv.Messages()[0].Payload; !bytes.Equal(got, largest) {
		t.Errorf("3072-byte payload arrived as %d bytes", len(got))
	}
}

func TestBodyPaddedToBlocks(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()
	// 103 bytes of every body are header, delimiter and tag.
	for _, tc := range []struct{ payload, body int }{
		{0, 512}, {1, 512}, {409, 512}, {410, 1024}, {1000, 1536}, {push.MaxPayloadSize, 3584},
	} {
		payload := bytes.Repeat([]byte("p"), tc.payload)
		if out := sender.Send(ctxT(t), sub, push.Message{Payload: payload}); out.Kind != push.Sent {
			t.Fatalf("%d bytes: %+v", tc.payload, out)
		}
		m, err := srv.WaitMessage(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if m.BodySize != tc.body || !bytes.Equal(m.Payload, payload) {
			t.Errorf("%d-byte payload: %d-byte body carrying %d bytes, want a %d-byte body", tc.payload, m.BodySize, len(m.Payload), tc.body)
		}
	}
	srv.CheckNoFailures(t)
}

func TestHeadersArriveAsSet(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()
	ctx := ctxT(t)

	sends := []struct {
		msg                  push.Message
		ttl                  int
		urgency, topic       string
		hasUrgency, hasTopic bool
	}{
		{push.Message{TTL: 90 * time.Second, Urgency: push.UrgencyHigh, Topic: "ticket-A042"}, 90, "high", "ticket-A042", true, true},
		{push.Message{TTL: 1500 * time.Millisecond, Urgency: push.UrgencyVeryLow}, 1, "very-low", "", true, false},
		{push.Message{}, 0, "", "", false, false},
	}
	for i, s := range sends {
		s.msg.Payload = []byte(fmt.Sprint(i))
		if out := sender.Send(ctx, sub, s.msg); out.Kind != push.Sent {
			t.Fatalf("send %d: %+v", i, out)
		}
		m, err := srv.WaitMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.TTL != s.ttl || m.Urgency != s.urgency || m.Topic != s.topic || string(m.Payload) != fmt.Sprint(i) {
			t.Errorf("send %d arrived as TTL %d Urgency %q Topic %q, want %d %q %q", i, m.TTL, m.Urgency, m.Topic, s.ttl, s.urgency, s.topic)
		}
		_, hasU := m.Header["Urgency"]
		_, hasT := m.Header["Topic"]
		if hasU != s.hasUrgency || hasT != s.hasTopic {
			t.Errorf("send %d: Urgency header present %v, Topic %v; want %v, %v", i, hasU, hasT, s.hasUrgency, s.hasTopic)
		}
		if m.Header.Get("TTL") != fmt.Sprint(s.ttl) {
			t.Errorf("send %d: TTL header %q", i, m.Header.Get("TTL"))
		}
	}

	before := srv.Requests()
	for _, bad := range []push.Message{{Topic: "not valid!"}, {Urgency: "asap"}, {TTL: -time.Second}} {
		if out := sender.Send(ctx, sub, bad); out.Kind != push.Failed || !errors.Is(out.Err, push.ErrInvalidMessage) {
			t.Errorf("%+v: %+v, want Failed ErrInvalidMessage", bad, out)
		}
	}
	if srv.Requests() != before {
		t.Error("invalid messages reached the push service")
	}
	srv.CheckNoFailures(t)
}

// countingTransport counts answer bodies opened and closed.
type countingTransport struct {
	base           http.RoundTripper
	opened, closed atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		c.opened.Add(1)
		resp.Body = &countingBody{ReadCloser: resp.Body, closed: &c.closed}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	closed *atomic.Int64
	once   sync.Once
}

func (b *countingBody) Close() error {
	b.once.Do(func() { b.closed.Add(1) })
	return b.ReadCloser.Close()
}

func TestResponseBodiesClosedAndConnectionReused(t *testing.T) {
	srv := pushtest.NewServer(t)
	counter := &countingTransport{base: srv.HTTPClient().Transport}
	cfg := srv.Config()
	cfg.Client = &http.Client{Transport: counter, Timeout: 5 * time.Second}
	sender, err := push.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sub, client := srv.NewSubscription()
	long := strings.Repeat("push service error detail\n", 1000) // bigger than one read buffer
	client.QueueReplies(
		pushtest.Reply{Status: 201},
		pushtest.Reply{Status: 404, Body: long},
		pushtest.Reply{Status: 410},
		pushtest.Reply{Status: 429, RetryAfter: "1", Body: long},
		pushtest.Reply{Status: 500, Body: long},
		pushtest.Reply{Status: 400, Body: long},
		pushtest.Reply{Status: 413},
		pushtest.Reply{Status: 201, Body: long},
	)
	want := []push.Kind{push.Sent, push.Gone, push.Gone, push.RetryAfter, push.Retry, push.Failed, push.Failed, push.Sent}
	for i, k := range want {
		if out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")}); out.Kind != k {
			t.Errorf("send %d: %v, want %v", i, out.Kind, k)
		}
	}
	if o, c := counter.opened.Load(), counter.closed.Load(); o != int64(len(want)) || c != o {
		t.Errorf("opened %d bodies, closed %d; want %d each", o, c, len(want))
	}
	// A body left unread or open would force a new connection for the next send.
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d sequential sends used %d connections, want 1", len(want), n)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(other.Close)

	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, client := srv.NewSubscription()
	client.SetReply(pushtest.Reply{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {other.URL + "/steal"}}})
	out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")})
	if out.Kind != push.Failed || out.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("outcome %+v, want Failed 307", out)
	}
	if elsewhere.Load() != 0 {
		t.Error("sender followed the redirect to a host outside the allow-list")
	}
}

func TestConcurrentSends(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	const subs, perSub = 8, 6
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := range subs {
		sub, _ := srv.NewSubscription()
		for j := range perSub {
			wg.Go(func() {
				payload := fmt.Sprintf("%d/%d", i, j)
				if out := sender.Send(ctx, sub, push.Message{Payload: []byte(payload), TTL: time.Minute}); out.Kind != push.Sent {
					t.Errorf("%s: %+v", payload, out)
				}
			})
		}
	}
	wg.Wait()
	got := map[string]bool{}
	for _, m := range srv.Messages() {
		got[string(m.Payload)] = true
	}
	if len(got) != subs*perSub {
		t.Errorf("fake decrypted %d distinct payloads, want %d", len(got), subs*perSub)
	}
	srv.CheckNoFailures(t)
}

func BenchmarkSend(b *testing.B) {
	srv := pushtest.NewServer(b)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()
	ctx := context.Background()
	msg := push.Message{Payload: []byte(`{"ticket":"A042","desk":"3"}`), TTL: time.Minute, Urgency: push.UrgencyHigh}
	b.ReportAllocs()
	for b.Loop() {
		if out := sender.Send(ctx, sub, msg); out.Kind != push.Sent {
			b.Fatalf("%+v", out)
		}
	}
}

func TestDefaultClientSends(t *testing.T) {
	srv := pushtest.NewServer(t)
	cfg := srv.Config()
	cfg.Client = nil // NewSender builds its own client with DefaultTimeout
	sender, err := push.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := srv.NewSubscription()
	for i := range 3 {
		if out := sender.Send(ctxT(t), sub, push.Message{Payload: []byte("x")}); out.Kind != push.Sent {
			t.Fatalf("send %d: %+v", i, out)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("default client used %d connections for 3 sends, want 1", n)
	}
}
