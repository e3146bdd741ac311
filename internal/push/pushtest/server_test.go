package pushtest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// capture stands in for the HTTP client so webpush-go builds a request that the
// test can alter before it reaches the fake.
type capture struct {
	req  *http.Request
	body []byte
}

func (c *capture) Do(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	c.req, c.body = r, body
	return &http.Response{StatusCode: http.StatusCreated, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// built is a request ready to be altered and posted.
type built struct {
	url    string
	header http.Header
	body   []byte
}

func build(t *testing.T, cfg push.Config, sub push.Subscription, subscriber string, payload []byte) built {
	t.Helper()
	var c capture
	_, err := webpush.SendNotification(payload, &webpush.Subscription{
		Endpoint: sub.Endpoint,
		Keys:     webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth},
	}, &webpush.Options{
		HTTPClient:      &c,
		Subscriber:      subscriber,
		TTL:             60,
		VAPIDPublicKey:  cfg.VAPIDPublicKey,
		VAPIDPrivateKey: cfg.VAPIDPrivateKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return built{url: c.req.URL.String(), header: c.req.Header.Clone(), body: c.body}
}

func post(t *testing.T, srv *pushtest.Server, method string, b built) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.url, bytes.NewReader(b.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = b.header
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(text)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signJWT signs arbitrary header and claims with ES256, so tests can present
// tokens that are well signed but wrong in content.
func signJWT(t *testing.T, key *ecdsa.PrivateKey, header, claims any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

func vapidKey(t *testing.T, private string) *ecdsa.PrivateKey {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(private)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestFakeAcceptsValidRequest(t *testing.T) {
	srv := pushtest.NewServer(t)
	cfg := srv.Config()
	sub, client := srv.NewSubscription()
	status, _ := post(t, srv, http.MethodPost, build(t, cfg, sub, "ops@example.org", []byte("hello")))
	if status != http.StatusCreated {
		t.Fatalf("status %d, failures %+v", status, srv.Failures())
	}
	msgs := client.Messages()
	if len(msgs) != 1 || string(msgs[0].Payload) != "hello" || msgs[0].Subject != "mailto:ops@example.org" || msgs[0].Status != 201 {
		t.Errorf("recorded %+v", msgs)
	}
	srv.CheckNoFailures(t)
}

func TestFakeRejectsBadRequests(t *testing.T) {
	srv := pushtest.NewServer(t)
	cfg := srv.Config()
	key := vapidKey(t, cfg.VAPIDPrivateKey)
	_, otherPriv, _ := push.GenerateVAPIDKeys()
	otherKey := vapidKey(t, otherPriv)
	sub, _ := srv.NewSubscription()
	otherSub, _ := srv.NewSubscription()

	es256 := map[string]string{"typ": "JWT", "alg": "ES256"}
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"aud": srv.URL(), "exp": now.Add(12 * time.Hour).Unix(), "sub": "mailto:ops@example.org"}
		edit(c)
		return c
	}
	withAuth := func(token string) func(*built) {
		return func(b *built) { b.header.Set("Authorization", "vapid t="+token+", k="+cfg.VAPIDPublicKey) }
	}

	cases := []struct {
		name       string
		subscriber string // passed to webpush-go
		edit       func(*built)
		method     string
		status     int
		reason     string
	}{
		{name: "doubled mailto from webpush-go", subscriber: "mailto:ops@example.org", status: 401, reason: "doubled mailto"},
		{name: "no Authorization", edit: func(b *built) { b.header.Del("Authorization") }, status: 401, reason: "scheme"},
		{name: "bearer scheme", edit: func(b *built) { b.header.Set("Authorization", "Bearer abc") }, status: 401, reason: "scheme"},
		{name: "no k", edit: func(b *built) { b.header.Set("Authorization", "vapid t=abc") }, status: 401, reason: "both t and k"},
		{name: "signed by another key", edit: withAuth(signJWT(t, otherKey, es256, claims(func(map[string]any) {}))), status: 401, reason: "does not verify"},
		{name: "aud other origin", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { c["aud"] = "https://fcm.googleapis.com" }))), status: 401, reason: "aud"},
		{name: "aud is the endpoint", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { c["aud"] = sub.Endpoint }))), status: 401, reason: "aud"},
		{name: "aud missing", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { delete(c, "aud") }))), status: 401, reason: "aud is missing"},
		{name: "expired", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }))), status: 401, reason: "not in the future"},
		{name: "exp over 24h", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { c["exp"] = now.Add(25 * time.Hour).Unix() }))), status: 401, reason: "24 hours"},
		{name: "exp huge", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { c["exp"] = 1e300 }))), status: 401, reason: "24 hours"},
		{name: "exp missing", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { delete(c, "exp") }))), status: 401, reason: "exp is missing"},
		{name: "sub missing", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { delete(c, "sub") }))), status: 401, reason: "sub is missing"},
		{name: "sub bare address", edit: withAuth(signJWT(t, key, es256, claims(func(c map[string]any) { c["sub"] = "ops@example.org" }))), status: 401, reason: "not a mailto"},
		{name: "alg HS256", edit: withAuth(signJWT(t, key, map[string]string{"typ": "JWT", "alg": "HS256"}, claims(func(map[string]any) {}))), status: 401, reason: "alg"},
		{name: "signature cut", edit: func(b *built) {
			b.header.Set("Authorization", "vapid t="+signJWT(t, key, es256, claims(func(map[string]any) {}))[:100]+", k="+cfg.VAPIDPublicKey)
		}, status: 401, reason: "JWT"},
		{name: "old aesgcm encoding", edit: func(b *built) { b.header.Set("Content-Encoding", "aesgcm") }, status: 400, reason: "Content-Encoding"},
		{name: "TTL missing", edit: func(b *built) { b.header.Del("TTL") }, status: 400, reason: "TTL header missing"},
		{name: "TTL negative", edit: func(b *built) { b.header.Set("TTL", "-1") }, status: 400, reason: "TTL"},
		{name: "bad Urgency", edit: func(b *built) { b.header.Set("Urgency", "urgent") }, status: 400, reason: "Urgency"},
		{name: "bad Topic", edit: func(b *built) { b.header.Set("Topic", "a b") }, status: 400, reason: "Topic"},
		{name: "ciphertext altered", edit: func(b *built) { b.body[len(b.body)-20] ^= 1 }, status: 400, reason: "authentication failed"},
		{name: "salt altered", edit: func(b *built) { b.body[0] ^= 1 }, status: 400, reason: "authentication failed"},
		{name: "sent to another subscription", edit: func(b *built) { b.url = otherSub.Endpoint }, status: 400, reason: "decrypt"},
		{name: "truncated header", edit: func(b *built) { b.body = b.body[:10] }, status: 400, reason: "header"},
		{name: "body too large", edit: func(b *built) { b.body = append(b.body, 0) }, status: 413, reason: "larger than 4096"},
		{name: "unknown subscription", edit: func(b *built) { b.url = srv.URL() + "/push/nobody" }, status: 404, reason: "no subscription"},
		{name: "GET", method: http.MethodGet, status: 405, reason: "want POST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			subscriber := tc.subscriber
			if subscriber == "" {
				subscriber = "ops@example.org"
			}
			b := build(t, cfg, sub, subscriber, []byte("hello"))
			if tc.edit != nil {
				tc.edit(&b)
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			before := len(srv.Failures())
			status, text := post(t, srv, method, b)
			if status != tc.status {
				t.Errorf("status %d (%s), want %d", status, strings.TrimSpace(text), tc.status)
			}
			f := srv.Failures()
			if len(f) != before+1 {
				t.Fatalf("%d failures recorded, want 1", len(f)-before)
			}
			if last := f[len(f)-1]; last.Status != tc.status || !strings.Contains(last.Reason, tc.reason) {
				t.Errorf("failure %+v, want status %d reason containing %q", last, tc.status, tc.reason)
			}
		})
	}
	if m := srv.Messages(); len(m) != 0 {
		t.Errorf("fake accepted %d bad requests", len(m))
	}
}

func TestFakeAcceptsAnyKeyUnlessExpected(t *testing.T) {
	srv := pushtest.NewServer(t)
	pub, priv, _ := push.GenerateVAPIDKeys()
	cfg := push.Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv}
	sub, _ := srv.NewSubscription()
	if status, text := post(t, srv, http.MethodPost, build(t, cfg, sub, "ops@example.org", []byte("x"))); status != 201 {
		t.Errorf("no expected key: %d %s", status, text)
	}
	srv.Config() // makes the server expect its own key
	if status, _ := post(t, srv, http.MethodPost, build(t, cfg, sub, "ops@example.org", []byte("x"))); status != 401 {
		t.Errorf("foreign key after Config: %d, want 401", status)
	}
}

func TestFakeScriptedReplies(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	ctx := context.Background()
	a, clientA := srv.NewSubscription()
	b, _ := srv.NewSubscription()
	clientA.QueueReplies(pushtest.Reply{Status: 404}, pushtest.Reply{Status: 429, RetryAfter: "7"})
	clientA.SetReply(pushtest.Reply{Status: 500})
	srv.SetReply(pushtest.Reply{Status: 410})

	var got []int
	for range 4 {
		got = append(got, sender.Send(ctx, a, push.Message{}).StatusCode)
	}
	got = append(got, sender.Send(ctx, b, push.Message{}).StatusCode)
	want := []int{404, 429, 500, 500, 410}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	for i, m := range srv.Messages() {
		if m.Status != want[i] {
			t.Errorf("message %d recorded status %d, want %d", i, m.Status, want[i])
		}
	}
	if n := len(clientA.Messages()); n != 4 {
		t.Errorf("client A has %d messages, want 4", n)
	}
}

func TestWaitMessage(t *testing.T) {
	srv := pushtest.NewServer(t)
	sender := srv.Sender()
	sub, _ := srv.NewSubscription()

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := srv.WaitMessage(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("empty server: %v, want DeadlineExceeded", err)
	}

	ctx, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	go func() {
		time.Sleep(20 * time.Millisecond)
		sender.Send(ctx, sub, push.Message{Payload: []byte("first")})
		sender.Send(ctx, sub, push.Message{Payload: []byte("second")})
	}()
	for _, want := range []string{"first", "second"} {
		m, err := srv.WaitMessage(ctx)
		if err != nil || string(m.Payload) != want {
			t.Errorf("WaitMessage = %q, %v; want %q", m.Payload, err, want)
		}
	}
}
