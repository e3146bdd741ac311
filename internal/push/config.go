package push

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
)

// Config is what NewSender needs. The zero values of AllowedHosts and Client
// mean DefaultAllowedHosts and a client with DefaultTimeout.
type Config struct {
	// VAPIDPublicKey is the base64url uncompressed P-256 point that the
	// browser was given as applicationServerKey.
	VAPIDPublicKey string
	// VAPIDPrivateKey is the base64url 32-byte P-256 scalar.
	VAPIDPrivateKey string
	// Subject is the VAPID contact: "mailto:ops@example.org" or an https URL.
	Subject string
	// AllowedHosts are host suffixes that endpoints may point at, matched on
	// whole labels; "*." or "." prefixes are accepted and ignored.
	AllowedHosts []string
	// AllowInsecure permits http endpoints and ports other than 443; only
	// for tests against pushtest, which listens on a random local port.
	AllowInsecure bool
	// Client is shared by all sends; its Timeout should be set.
	Client *http.Client
}

// GenerateVAPIDKeys makes a new VAPID key pair in the base64url form Config
// wants (unpadded, like webpush-go's, but in public-then-private order).
func GenerateVAPIDKeys() (public, private string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	pub, err := key.PublicKey.Bytes()
	if err != nil {
		return "", "", err
	}
	priv, err := key.Bytes()
	if err != nil {
		return "", "", err
	}
	return base64.RawURLEncoding.EncodeToString(pub), base64.RawURLEncoding.EncodeToString(priv), nil
}

// checkVAPIDKeys decodes both keys and makes sure the private key belongs to
// the public one, since a mismatch would only show up as 401s in production.
func checkVAPIDKeys(public, private string) error {
	pub, err := decodeKey(public)
	if err != nil {
		return &ConfigError{Field: "VAPIDPublicKey", Reason: err.Error()}
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub); err != nil {
		return &ConfigError{Field: "VAPIDPublicKey", Reason: "not an uncompressed P-256 point"}
	}
	priv, err := decodeKey(private)
	if err != nil {
		return &ConfigError{Field: "VAPIDPrivateKey", Reason: err.Error()}
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), priv)
	if err != nil {
		return &ConfigError{Field: "VAPIDPrivateKey", Reason: "not a 32-byte P-256 private key"}
	}
	derived, err := key.PublicKey.Bytes()
	if err != nil || !bytes.Equal(derived, pub) {
		return &ConfigError{Field: "VAPIDPrivateKey", Reason: "does not match VAPIDPublicKey"}
	}
	return nil
}

// vapidSubscriber validates Subject and returns what webpush-go's Subscriber
// option wants: webpush-go v1.4.0 prefixes "mailto:" to anything not starting
// with "https:", so a mailto subject goes in as the bare address.
func vapidSubscriber(subject string) (string, error) {
	bad := func(reason string) (string, error) {
		return "", &ConfigError{Field: "Subject", Reason: reason}
	}
	switch {
	case strings.HasPrefix(subject, "mailto:"):
		addr := strings.TrimPrefix(subject, "mailto:")
		if addr == "" {
			return bad("mailto: without an address")
		}
		if strings.HasPrefix(strings.ToLower(addr), "mailto:") || strings.HasPrefix(strings.ToLower(addr), "https:") {
			return bad("address must not start with a scheme")
		}
		if strings.ContainsAny(addr, "?#<>\"\\ \t\r\n,;") {
			return bad("must be a plain address, no name, list or query")
		}
		parsed, err := mail.ParseAddress(addr)
		if err != nil || parsed.Address != addr || parsed.Name != "" {
			return bad("not an e-mail address")
		}
		return addr, nil
	case strings.HasPrefix(subject, "https:"):
		u, err := url.Parse(subject)
		if err != nil || u.Scheme != "https" || u.Opaque != "" || u.Hostname() == "" || u.User != nil {
			return bad("not an https URL with a host")
		}
		return subject, nil
	default:
		return bad(`must start with "mailto:" or "https:"`)
	}
}
