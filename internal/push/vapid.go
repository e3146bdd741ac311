package push

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"sync"
	"time"
)

// VAPID token timing (RFC 8292 section 2: exp at most 24 hours ahead).
const (
	// tokenLifetime is how far ahead a token's exp lies when it is signed.
	tokenLifetime = 12 * time.Hour
	// tokenReuse is how long one token is sent before a fresh one is signed,
	// so the token in use always has at least two hours to live.
	tokenReuse = 10 * time.Hour
	// maxAudiences bounds the cache: audiences come from allowed hosts, but
	// a suffix such as notify.windows.com has many of them.
	maxAudiences = 1024
)

// vapid signs the RFC 8292 Authorization header once per push service
// (audience) and reuses it for most of its lifetime: signing is as costly as
// encrypting a message, and a push service checks the same token each time.
type vapid struct {
	key     *ecdsa.PrivateKey
	k       string // public key, base64url: the header's k
	subject string // the sub claim
	now     func() time.Time

	mu     sync.Mutex
	tokens map[string]vapidHeader // by audience
}

type vapidHeader struct {
	value   string
	renewAt time.Time
}

// jwtHeader is the fixed first part of every token.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`))

// authorization returns the Authorization header value for audience, the
// push service's origin ("https://fcm.googleapis.com").
func (v *vapid) authorization(audience string) (string, error) {
	now := v.now()
	v.mu.Lock()
	h, ok := v.tokens[audience]
	v.mu.Unlock()
	if ok && now.Before(h.renewAt) {
		return h.value, nil
	}
	// Two sends may sign at once for one audience; either token is valid.
	token, err := v.sign(audience, now)
	if err != nil {
		return "", err
	}
	h = vapidHeader{value: "vapid t=" + token + ", k=" + v.k, renewAt: now.Add(tokenReuse)}
	v.mu.Lock()
	if len(v.tokens) >= maxAudiences {
		clear(v.tokens)
	}
	v.tokens[audience] = h
	v.mu.Unlock()
	return h.value, nil
}

// sign makes an ES256 JSON Web Token with the claims RFC 8292 asks for.
func (v *vapid) sign(audience string, now time.Time) (string, error) {
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}{audience, now.Add(tokenLifetime).Unix(), v.subject})
	if err != nil {
		return "", err
	}
	signing := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, v.key, digest[:])
	if err != nil {
		return "", err
	}
	// JWS wants the raw 32-byte r and s, not ASN.1 (RFC 7518 section 3.4).
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
