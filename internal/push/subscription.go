package push

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// MaxSubscriptionJSON caps ParseSubscription's input; real ones are under 1 KiB.
const MaxSubscriptionJSON = 4 << 10

// Sizes RFC 8291 fixes for the browser's keys.
const (
	p256dhLen = 65 // uncompressed P-256 point
	authLen   = 16
)

// Subscription is a browser's PushSubscription: where to POST, and the keys the
// payload is encrypted to. All three fields identify a person's browser, so
// String and LogValue print only the endpoint's host.
type Subscription struct {
	Endpoint string
	P256dh   string // base64url, as the browser gives it
	Auth     string // base64url, as the browser gives it
}

// subscriptionJSON is the shape of PushSubscription.toJSON() in the browser.
type subscriptionJSON struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// MarshalJSON writes the browser's PushSubscription.toJSON() shape, which
// ParseSubscription reads back.
func (s Subscription) MarshalJSON() ([]byte, error) {
	var j subscriptionJSON
	j.Endpoint = s.Endpoint
	j.Keys.P256dh = s.P256dh
	j.Keys.Auth = s.Auth
	return json.Marshal(j)
}

// String keeps only the host so a stray %v cannot leak the endpoint or keys.
func (s Subscription) String() string {
	return "push.Subscription{" + RedactEndpoint(s.Endpoint) + "}"
}

// GoString covers %#v, which would otherwise bypass String.
func (s Subscription) GoString() string { return s.String() }

// LogValue keeps slog from writing the endpoint or keys.
func (s Subscription) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", RedactEndpoint(s.Endpoint)))
}

// ParseSubscription parses and validates a browser's PushSubscription JSON with
// the default policy: https only, DefaultAllowedHosts. Keys come back in
// unpadded base64url whatever form they arrived in.
func ParseSubscription(data []byte) (Subscription, error) {
	return Config{}.ParseSubscription(data)
}

// ParseSubscription is like the package-level ParseSubscription but uses c's
// AllowedHosts and AllowInsecure.
func (c Config) ParseSubscription(data []byte) (Subscription, error) {
	return newPolicy(c).parse(data)
}

// DefaultAllowedHosts returns the host suffixes of the push services that
// browsers use; a fresh slice each call so no caller can change another's.
func DefaultAllowedHosts() []string {
	return []string{
		"fcm.googleapis.com",                // Chrome, Edge, Opera, Samsung
		"updates.push.services.mozilla.com", // Firefox
		"push.apple.com",                    // Safari, incl. web.push.apple.com
		"web.push.apple.com",                // Safari; listed for clarity, push.apple.com covers it
		"notify.windows.com",                // legacy Edge / WNS
	}
}

// policy is the validated, normalised form of Config's subscription rules.
type policy struct {
	allowInsecure bool
	hosts         []string // lower case, no leading "*." or "."
}

func newPolicy(c Config) policy {
	src := c.AllowedHosts
	if len(src) == 0 {
		src = DefaultAllowedHosts()
	}
	p := policy{allowInsecure: c.AllowInsecure}
	for _, h := range src {
		h = strings.ToLower(strings.TrimSpace(h))
		h = strings.TrimPrefix(h, "*")
		h = strings.TrimPrefix(h, ".")
		if h != "" {
			p.hosts = append(p.hosts, h)
		}
	}
	return p
}

// hostAllowed matches on whole labels so "evilfcm.googleapis.com" does not pass
// as "fcm.googleapis.com".
func (p policy) hostAllowed(host string) bool {
	host = strings.ToLower(host)
	for _, h := range p.hosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}

func (p policy) parse(data []byte) (Subscription, error) {
	if len(data) > MaxSubscriptionJSON {
		return Subscription{}, &SubscriptionError{Field: "json", Reason: fmt.Sprintf("larger than %d bytes", MaxSubscriptionJSON)}
	}
	var j subscriptionJSON
	if err := json.Unmarshal(data, &j); err != nil {
		// The decoder's message can quote input, so only say that it failed.
		return Subscription{}, &SubscriptionError{Field: "json", Reason: "not a PushSubscription JSON object"}
	}
	sub, _, err := p.validate(Subscription{Endpoint: j.Endpoint, P256dh: j.Keys.P256dh, Auth: j.Keys.Auth})
	return sub, err
}

// validate checks s and returns it with keys in canonical unpadded base64url,
// and the endpoint's host for logs and errors (see RedactEndpoint), read from
// the one parse of the endpoint that the check needs anyway.
func (p policy) validate(s Subscription) (Subscription, string, error) {
	host, err := p.checkEndpoint(s.Endpoint)
	if err != nil {
		return Subscription{}, "", err
	}
	dh, err := decodeKey(s.P256dh)
	if err != nil {
		return Subscription{}, "", &SubscriptionError{Field: "p256dh", Reason: err.Error()}
	}
	if len(dh) != p256dhLen {
		return Subscription{}, "", &SubscriptionError{Field: "p256dh", Reason: fmt.Sprintf("decodes to %d bytes, want %d", len(dh), p256dhLen)}
	}
	if _, err := ecdh.P256().NewPublicKey(dh); err != nil {
		return Subscription{}, "", &SubscriptionError{Field: "p256dh", Reason: "not an uncompressed P-256 point"}
	}
	auth, err := decodeKey(s.Auth)
	if err != nil {
		return Subscription{}, "", &SubscriptionError{Field: "auth", Reason: err.Error()}
	}
	if len(auth) != authLen {
		return Subscription{}, "", &SubscriptionError{Field: "auth", Reason: fmt.Sprintf("decodes to %d bytes, want %d", len(auth), authLen)}
	}
	return Subscription{
		Endpoint: s.Endpoint,
		P256dh:   base64.RawURLEncoding.EncodeToString(dh),
		Auth:     base64.RawURLEncoding.EncodeToString(auth),
	}, host, nil
}

// checkEndpoint returns the endpoint's host (with port, if any) when it
// passes.
func (p policy) checkEndpoint(endpoint string) (string, error) {
	bad := func(reason string, sentinel error) (string, error) {
		return "", &SubscriptionError{Field: "endpoint", Reason: reason, Err: sentinel}
	}
	if endpoint == "" {
		return bad("missing", nil)
	}
	for _, r := range endpoint {
		if r <= ' ' || r == 0x7f {
			return bad("contains whitespace or control characters", nil)
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return bad("not a URL", nil)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.allowInsecure:
	case u.Scheme == "http":
		return bad("must be https", ErrInsecureEndpoint)
	default:
		return bad("scheme must be https", ErrInsecureEndpoint)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return bad("has no host", nil)
	}
	if port := u.Port(); port != "" && port != "443" && !p.allowInsecure {
		// Browsers' push services all listen on 443; another port means
		// the portal would be made to post somewhere it was never meant to.
		return bad("must use port 443", ErrEndpointPort)
	}
	if u.User != nil {
		// Credentials in the URL could smuggle a different host past a reader.
		return bad("must not contain user info", nil)
	}
	if u.Fragment != "" || strings.Contains(endpoint, "#") {
		return bad("must not contain a fragment", nil)
	}
	if !p.hostAllowed(u.Hostname()) {
		return bad("host not in allow-list", ErrHostNotAllowed)
	}
	return u.Host, nil
}

// decodeKey accepts base64url with or without padding, as browsers and older
// stored rows differ; other characters (including newlines the decoder would
// skip) are refused so each accepted string means exactly one key.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("missing")
	}
	body := strings.TrimRight(s, "=")
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("not base64url")
		}
	}
	if len(body) != len(s) {
		b, err := base64.URLEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("bad base64url padding")
		}
		return b, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64url")
	}
	return b, nil
}

// RedactEndpoint returns only the endpoint's host (with port, if any): enough to
// tell push services apart in logs, nothing that identifies a browser.
func RedactEndpoint(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "invalid-endpoint"
	}
	return u.Host
}
