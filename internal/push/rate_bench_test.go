package push_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/push/pushtest"
)

// rateParallelism is goroutines per CPU in every contestant, enough to keep
// both ends of the loopback busy while requests are in flight.
const rateParallelism = 4

// rateRound is how long each contestant runs in each of the rounds.
const rateRound = time.Second

// ratePayload is the size and shape of a client reminder: a short localized
// text and an id.
var ratePayload = []byte(`{"kind":"reminder","id":"01JD7Q9X2M4K8V6T3R5N1P0W2Y","title":"Muistutus: tapaaminen huomenna","body":"Huomenna klo 9.30, Kotoutumispalvelut, Kirkkokatu 5. Avaa nähdäksesi lisää."}`)

// BenchmarkPushRates is Must-show benchmark (a): messages per second through
// the real Sender to a loopback push service that only answers 201, next to
// webpush-go's own send to the same service and to the encryption and signing
// alone, all in one run and in interleaved rounds so that whatever else the
// machine is doing weighs on each alike. It reports each rate (the median of
// the rounds) and the ratios the README quotes:
//
//	go test -run '^$' -bench PushRates -benchtime 1x ./internal/push/
func BenchmarkPushRates(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	}))
	b.Cleanup(srv.Close)

	pub, priv, err := push.GenerateVAPIDKeys()
	if err != nil {
		b.Fatal(err)
	}
	uaKey, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	sub := push.Subscription{
		Endpoint: srv.URL + "/push/bench",
		P256dh:   base64.RawURLEncoding.EncodeToString(uaKey.PublicKey().Bytes()),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}
	// Client nil: the Sender builds the HTTP client it uses in production.
	sender, err := push.NewSender(push.Config{
		VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "mailto:bench@example.org",
		AllowedHosts: []string{"127.0.0.1"}, AllowInsecure: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	msg := push.Message{Payload: ratePayload, TTL: time.Hour, Urgency: push.UrgencyHigh, Topic: sender.Topic("bench")}
	ctx := context.Background()

	// webpush-go alone gets an HTTP client that keeps as many connections as
	// the Sender's, so the comparison is of the send, not of the pool.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	libClient := &http.Client{Transport: transport, Timeout: push.DefaultTimeout}
	libSub := &webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.P256dh, Auth: sub.Auth}}
	libOptions := &webpush.Options{
		HTTPClient: libClient, Subscriber: "bench@example.org", TTL: 3600, Urgency: webpush.UrgencyHigh,
		Topic: msg.Topic, VAPIDPublicKey: pub, VAPIDPrivateKey: priv,
	}

	vapidKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), mustDecode(b, priv))
	if err != nil {
		b.Fatal(err)
	}

	contestants := []struct {
		name string
		send func() error
	}{
		{"sender", func() error {
			if out := sender.Send(ctx, sub, msg); out.Kind != push.Sent {
				return out.Err
			}
			return nil
		}},
		{"webpush-go", func() error {
			resp, err := webpush.SendNotificationWithContext(ctx, ratePayload, libSub, libOptions)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				return &push.StatusError{StatusCode: resp.StatusCode}
			}
			return nil
		}},
		{"crypto", func() error {
			_, err := encryptAndSign(uaKey.PublicKey(), auth, vapidKey, srv.URL, ratePayload)
			return err
		}},
		{"encrypt-only", func() error {
			_, err := encrypt(uaKey.PublicKey(), auth, ratePayload)
			return err
		}},
	}

	// testing.Benchmark cannot run inside a benchmark (they share a lock), so
	// each contestant runs for a fixed time on the same number of goroutines.
	workers := rateParallelism * runtime.GOMAXPROCS(0)
	for _, c := range contestants {
		measureRate(b, workers, 200*time.Millisecond, c.send) // warm connections and caches
	}
	const rounds = 5
	rates := make(map[string][]rate)
	for range rounds {
		for _, c := range contestants {
			rates[c.name] = append(rates[c.name], measureRate(b, workers, rateRound, c.send))
		}
	}
	median := func(name string, f func(rate) float64) float64 {
		var xs []float64
		for _, r := range rates[name] {
			xs = append(xs, f(r))
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	wall := func(r rate) float64 { return r.wall }
	cpu := func(r rate) float64 { return r.cpu }
	for _, c := range contestants {
		b.ReportMetric(median(c.name, wall), c.name+"/s")
		b.ReportMetric(median(c.name, cpu), c.name+"/cpu-s")
		b.Logf("%-12s per second %v, per CPU-second %v", c.name, roundAll(rates[c.name], wall), roundAll(rates[c.name], cpu))
	}
	for _, pair := range [][2]string{{"sender", "webpush-go"}, {"sender", "crypto"}, {"webpush-go", "crypto"}} {
		b.ReportMetric(median(pair[0], wall)/median(pair[1], wall), pair[0]+"/"+pair[1])
		b.ReportMetric(median(pair[0], cpu)/median(pair[1], cpu), pair[0]+"/"+pair[1]+"-cpu")
	}
}

// rate is one contestant's round: calls per second of wall time, and per
// second of this process's CPU time, which other work on a shared machine
// disturbs less.
type rate struct{ wall, cpu float64 }

// measureRate runs send on workers goroutines for d; a failure ends the
// benchmark.
func measureRate(b *testing.B, workers int, d time.Duration, send func() error) rate {
	var done atomic.Int64
	var failed atomic.Pointer[error]
	cpu0 := processCPU(b)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			n := int64(0)
			for time.Now().Before(deadline) {
				if err := send(); err != nil {
					failed.CompareAndSwap(nil, &err)
					break
				}
				n++
			}
			done.Add(n)
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU(b)-cpu0
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	n := float64(done.Load())
	return rate{wall: n / elapsed.Seconds(), cpu: n / cpu.Seconds()}
}

// processCPU is the user and system time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func roundAll(rs []rate, f func(rate) float64) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = int(f(r) + 0.5)
	}
	return out
}

func mustDecode(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// encryptAndSign is the least work one message needs from scratch: the
// RFC 8291 body and a fresh RFC 8292 token, with the standard library's
// crypto and nothing else, as the yardstick the two sends are held to.
func encryptAndSign(ua *ecdh.PublicKey, auth []byte, vapid *ecdsa.PrivateKey, audience string, payload []byte) (int, error) {
	body, err := encrypt(ua, auth, payload)
	if err != nil {
		return 0, err
	}
	token, err := signVAPID(vapid, audience)
	return len(body) + len(token), err
}

func encrypt(ua *ecdh.PublicKey, auth, payload []byte) ([]byte, error) {
	eph, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := eph.ECDH(ua)
	if err != nil {
		return nil, err
	}
	ephPub := eph.PublicKey().Bytes()
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	gcm, nonce, err := pushtest.ContentCipher(secret, auth, ua.Bytes(), ephPub, salt)
	if err != nil {
		return nil, err
	}
	body := make([]byte, 0, 16+4+1+len(ephPub)+len(payload)+1+gcm.Overhead())
	body = append(body, salt...)
	body = binary.BigEndian.AppendUint32(body, 4096)
	body = append(body, byte(len(ephPub)))
	body = append(body, ephPub...)
	plain := append(slices.Clip(payload), 0x02)
	return gcm.Seal(body, nonce, plain, nil), nil
}

func signVAPID(key *ecdsa.PrivateKey, audience string) (string, error) {
	claims, err := json.Marshal(map[string]any{"aud": audience, "exp": time.Now().Add(12 * time.Hour).Unix(), "sub": "mailto:bench@example.org"})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return strings.Join([]string{signing, enc.EncodeToString(sig)}, "."), nil
}
