package push

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestVAPIDTokenReusedPerAudienceThenRenewed(t *testing.T) {
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSender(Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "mailto:ops@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	s.vapid.now = func() time.Time { return now }
	const fcm, mozilla = "https://fcm.googleapis.com", "https://updates.push.services.mozilla.com"

	first := mustAuthorization(t, s.vapid, fcm)
	if again := mustAuthorization(t, s.vapid, fcm); again != first {
		t.Error("a second send to the same push service signed a new token")
	}
	other := mustAuthorization(t, s.vapid, mozilla)
	if other == first {
		t.Error("two push services got the same token")
	}
	if aud, exp := claims(t, other); aud != mozilla || !exp.Equal(now.Add(tokenLifetime)) {
		t.Errorf("aud %q exp %v", aud, exp)
	}
	if !strings.HasSuffix(first, ", k="+pub) {
		t.Errorf("header %q does not end with k", first)
	}

	now = now.Add(tokenReuse - time.Second)
	if got := mustAuthorization(t, s.vapid, fcm); got != first {
		t.Error("token renewed before its reuse time was over")
	}
	now = now.Add(time.Second)
	renewed := mustAuthorization(t, s.vapid, fcm)
	if renewed == first {
		t.Fatal("token still in use after its reuse time")
	}
	if _, exp := claims(t, renewed); !exp.Equal(now.Add(tokenLifetime)) {
		t.Errorf("renewed exp %v, want %v", exp, now.Add(tokenLifetime))
	}
}

func mustAuthorization(t *testing.T, v *vapid, audience string) string {
	t.Helper()
	h, err := v.authorization(audience)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// claims reads aud and exp from a header's token; the fake push service
// verifies the signature in the send tests.
func claims(t *testing.T, header string) (string, time.Time) {
	t.Helper()
	token, _, _ := strings.Cut(strings.TrimPrefix(header, "vapid t="), ",")
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Aud, time.Unix(c.Exp, 0).UTC()
}
