package push_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/push"
)

// browserKeys makes a real P-256 public key and auth secret, as a browser would.
func browserKeys(t testing.TB) (p256dh, auth []byte) {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth = make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	return priv.PublicKey().Bytes(), auth
}

func raw(b []byte) string    { return base64.RawURLEncoding.EncodeToString(b) }
func padded(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

func subJSON(endpoint, p256dh, auth string) []byte {
	b, _ := json.Marshal(map[string]any{
		"endpoint":       endpoint,
		"expirationTime": nil,
		"keys":           map[string]string{"p256dh": p256dh, "auth": auth},
	})
	return b
}

const secretPath = "SECRET-TOKEN-PATH"

func TestParseSubscriptionAccepts(t *testing.T) {
	dh, auth := browserKeys(t)
	endpoints := []string{
		"https://fcm.googleapis.com/fcm/send/" + secretPath,
		"https://updates.push.services.mozilla.com/wpush/v2/" + secretPath,
		"https://web.push.apple.com/" + secretPath,
		"https://api.push.apple.com/" + secretPath,
		"https://wns2-par02p.notify.windows.com/w/?token=" + secretPath,
		"https://FCM.GoogleAPIs.com/fcm/send/" + secretPath,
		"https://fcm.googleapis.com:443/fcm/send/" + secretPath,
	}
	for _, ep := range endpoints {
		for _, enc := range []func([]byte) string{raw, padded} {
			got, err := push.ParseSubscription(subJSON(ep, enc(dh), enc(auth)))
			if err != nil {
				t.Errorf("%s: %v", ep, err)
				continue
			}
			want := push.Subscription{Endpoint: ep, P256dh: raw(dh), Auth: raw(auth)}
			if got != want {
				t.Errorf("%s: got %#v keys %q %q, want keys %q %q", ep, got, got.P256dh, got.Auth, want.P256dh, want.Auth)
			}
		}
	}
}

func TestParseSubscriptionRejects(t *testing.T) {
	dh, auth := browserKeys(t)
	fcm := "https://fcm.googleapis.com/fcm/send/" + secretPath
	notOnCurve := append([]byte{4}, make([]byte, 64)...)
	compressed := append([]byte{2}, dh[1:33]...)
	std := base64.StdEncoding.EncodeToString(dh)
	for !strings.ContainsAny(std, "+/") { // need a key whose std form differs from base64url
		dh, _ = browserKeys(t)
		std = base64.StdEncoding.EncodeToString(dh)
	}
	cases := []struct {
		name     string
		data     []byte
		field    string
		sentinel error
	}{
		{"http endpoint", subJSON("http://fcm.googleapis.com/fcm/send/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrInsecureEndpoint},
		{"ftp endpoint", subJSON("ftp://fcm.googleapis.com/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrInsecureEndpoint},
		{"relative endpoint", subJSON("/fcm/send/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrInsecureEndpoint},
		{"unknown host", subJSON("https://push.example.com/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrHostNotAllowed},
		{"suffix without dot", subJSON("https://evilfcm.googleapis.com/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrHostNotAllowed},
		{"allowed host as prefix", subJSON("https://fcm.googleapis.com.evil.example/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrHostNotAllowed},
		{"port 8443", subJSON("https://fcm.googleapis.com:8443/fcm/send/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrEndpointPort},
		{"port 80 over https", subJSON("https://web.push.apple.com:80/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrEndpointPort},
		{"port 443 written long", subJSON("https://web.push.apple.com:0443/"+secretPath, raw(dh), raw(auth)), "endpoint", push.ErrEndpointPort},
		{"user info", subJSON("https://evil.example@fcm.googleapis.com/"+secretPath, raw(dh), raw(auth)), "endpoint", nil},
		{"fragment", subJSON(fcm+"#x", raw(dh), raw(auth)), "endpoint", nil},
		{"whitespace", subJSON(fcm+" x", raw(dh), raw(auth)), "endpoint", nil},
		{"no endpoint", subJSON("", raw(dh), raw(auth)), "endpoint", nil},
		{"p256dh missing", subJSON(fcm, "", raw(auth)), "p256dh", nil},
		{"p256dh 64 bytes", subJSON(fcm, raw(dh[:64]), raw(auth)), "p256dh", nil},
		{"p256dh compressed", subJSON(fcm, raw(compressed), raw(auth)), "p256dh", nil},
		{"p256dh not on curve", subJSON(fcm, raw(notOnCurve), raw(auth)), "p256dh", nil},
		{"p256dh standard base64", subJSON(fcm, std, raw(auth)), "p256dh", nil},
		{"p256dh with newline", subJSON(fcm, raw(dh)[:40]+"\n"+raw(dh)[40:], raw(auth)), "p256dh", nil},
		{"auth missing", subJSON(fcm, raw(dh), ""), "auth", nil},
		{"auth 15 bytes", subJSON(fcm, raw(dh), raw(auth[:15])), "auth", nil},
		{"auth 17 bytes", subJSON(fcm, raw(dh), raw(append(auth, 1))), "auth", nil},
		{"auth bad padding", subJSON(fcm, raw(dh), raw(auth)+"="), "auth", nil},
		{"not JSON", []byte("endpoint=" + fcm), "json", nil},
		{"JSON array", []byte(`["` + fcm + `"]`), "json", nil},
		{"too large", append(subJSON(fcm, raw(dh), raw(auth)), bytes.Repeat([]byte(" "), push.MaxSubscriptionJSON)...), "json", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := push.ParseSubscription(tc.data)
			if err == nil {
				t.Fatalf("accepted: %v", sub)
			}
			if !errors.Is(err, push.ErrInvalidSubscription) {
				t.Errorf("error %v is not ErrInvalidSubscription", err)
			}
			var se *push.SubscriptionError
			if !errors.As(err, &se) || se.Field != tc.field {
				t.Errorf("error %v: want field %q", err, tc.field)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v is not %v", err, tc.sentinel)
			}
			if strings.Contains(err.Error(), secretPath) || strings.Contains(err.Error(), raw(auth)) {
				t.Errorf("error leaks subscription data: %v", err)
			}
		})
	}
}

func TestConfigParseSubscriptionPolicy(t *testing.T) {
	dh, auth := browserKeys(t)
	local := push.Config{AllowInsecure: true, AllowedHosts: []string{"127.0.0.1"}}
	if _, err := local.ParseSubscription(subJSON("http://127.0.0.1:8080/push/x", raw(dh), raw(auth))); err != nil {
		t.Errorf("AllowInsecure config refused http endpoint: %v", err)
	}
	// A custom allow-list replaces the default one.
	if _, err := local.ParseSubscription(subJSON("https://fcm.googleapis.com/x", raw(dh), raw(auth))); !errors.Is(err, push.ErrHostNotAllowed) {
		t.Errorf("custom allow-list let fcm through: %v", err)
	}
	wild := push.Config{AllowedHosts: []string{" *.Push.Example.ORG "}}
	for ep, ok := range map[string]bool{
		"https://a.push.example.org/x":    true,
		"https://a.b.push.example.org/x":  true,
		"https://push.example.org/x":      true,
		"https://evilpush.example.org/x":  false,
		"https://push.example.org.evil/x": false,
	} {
		_, err := wild.ParseSubscription(subJSON(ep, raw(dh), raw(auth)))
		if (err == nil) != ok {
			t.Errorf("%s: accepted=%v, want %v (err %v)", ep, err == nil, ok, err)
		}
	}
	// Only the test setting lifts the port rule, for a fake on a random port.
	if _, err := local.ParseSubscription(subJSON("https://127.0.0.1:8443/push/x", raw(dh), raw(auth))); err != nil {
		t.Errorf("AllowInsecure config refused port 8443: %v", err)
	}
	strict := push.Config{AllowedHosts: []string{"127.0.0.1"}}
	if _, err := strict.ParseSubscription(subJSON("https://127.0.0.1:8443/push/x", raw(dh), raw(auth))); !errors.Is(err, push.ErrEndpointPort) {
		t.Errorf("port 8443: %v, want ErrEndpointPort", err)
	}
}

func TestSubscriptionJSONRoundTrip(t *testing.T) {
	dh, auth := browserKeys(t)
	in := subJSON("https://fcm.googleapis.com/fcm/send/"+secretPath, padded(dh), padded(auth))
	sub, err := push.ParseSubscription(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(sub)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"endpoint":"https://fcm.googleapis.com/fcm/send/%s","keys":{"p256dh":"%s","auth":"%s"}}`, secretPath, raw(dh), raw(auth))
	if string(out) != want {
		t.Errorf("marshal:\n got %s\nwant %s", out, want)
	}
	again, err := push.ParseSubscription(out)
	if err != nil || again != sub {
		t.Errorf("round trip: %#v, %v", again, err)
	}
}

func TestSubscriptionDoesNotPrintSecrets(t *testing.T) {
	dh, auth := browserKeys(t)
	sub := push.Subscription{Endpoint: "https://fcm.googleapis.com/fcm/send/" + secretPath, P256dh: raw(dh), Auth: raw(auth)}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("send", "sub", sub)
	for _, s := range []string{fmt.Sprintf("%v", sub), fmt.Sprintf("%+v", sub), fmt.Sprintf("%#v", sub), fmt.Sprint(sub), logged.String()} {
		if strings.Contains(s, secretPath) || strings.Contains(s, sub.Auth) || strings.Contains(s, sub.P256dh) {
			t.Errorf("printed secrets: %s", s)
		}
		if !strings.Contains(s, "fcm.googleapis.com") {
			t.Errorf("host missing from %s", s)
		}
	}
}

func TestRedactEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"https://fcm.googleapis.com/fcm/send/" + secretPath:      "fcm.googleapis.com",
		"https://user:pw@web.push.apple.com/" + secretPath:       "web.push.apple.com",
		"http://127.0.0.1:8080/push/" + secretPath + "?x=y#frag": "127.0.0.1:8080",
		"not a url " + secretPath:                                "invalid-endpoint",
		"":                                                       "invalid-endpoint",
		"https://host\x00/" + secretPath:                         "invalid-endpoint",
	} {
		if got := push.RedactEndpoint(in); got != want {
			t.Errorf("RedactEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseSubscription checks that no input panics and that every accepted
// subscription survives MarshalJSON and a second parse unchanged.
func FuzzParseSubscription(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, err := push.ParseSubscription(data)
		if err != nil {
			if !errors.Is(err, push.ErrInvalidSubscription) {
				t.Fatalf("error %v is not ErrInvalidSubscription", err)
			}
			return
		}
		if !strings.HasPrefix(sub.Endpoint, "https://") && !strings.HasPrefix(strings.ToLower(sub.Endpoint), "https:") {
			t.Fatalf("accepted non-https endpoint %q", sub.Endpoint)
		}
		if u, err := url.Parse(sub.Endpoint); err != nil || (u.Port() != "" && u.Port() != "443") {
			t.Fatalf("accepted endpoint %q off port 443", sub.Endpoint)
		}
		dh, err1 := base64.RawURLEncoding.DecodeString(sub.P256dh)
		auth, err2 := base64.RawURLEncoding.DecodeString(sub.Auth)
		if err1 != nil || err2 != nil || len(dh) != 65 || len(auth) != 16 {
			t.Fatalf("accepted keys that are not canonical: %q %q", sub.P256dh, sub.Auth)
		}
		out, err := json.Marshal(sub)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		again, err := push.ParseSubscription(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if again != sub {
			t.Fatalf("round trip changed %q to %q", sub.Endpoint, again.Endpoint)
		}
	})
}

// TestFuzzSeedsReachAcceptance makes sure the corpus holds inputs that pass
// validation, so the fuzzer's round-trip check runs from the first input.
func TestFuzzSeedsReachAcceptance(t *testing.T) {
	files, err := filepath.Glob("testdata/fuzz/FuzzParseSubscription/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no seeds: %v", err)
	}
	accepted := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lit, ok := strings.CutPrefix(strings.TrimSpace(string(raw)), "go test fuzz v1\n[]byte(")
		lit, ok2 := strings.CutSuffix(lit, ")")
		data, err := strconv.Unquote(lit)
		if !ok || !ok2 || err != nil {
			t.Fatalf("%s: not in go test fuzz v1 format", f)
		}
		_, perr := push.ParseSubscription([]byte(data))
		if valid := strings.HasPrefix(filepath.Base(f), "valid_"); valid != (perr == nil) {
			t.Errorf("%s: parse error %v", f, perr)
		}
		if perr == nil {
			accepted++
		}
	}
	if accepted < 3 {
		t.Errorf("only %d seeds are accepted", accepted)
	}
}
