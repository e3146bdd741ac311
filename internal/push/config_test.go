package push_test

import (
	"encoding/base64"
	"errors"
	"testing"

	"github.com/koto-portal/portal/internal/push"
)

func TestGenerateVAPIDKeys(t *testing.T) {
	pub, priv, err := push.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	pubBytes, err := base64.RawURLEncoding.DecodeString(pub)
	if err != nil || len(pubBytes) != 65 || pubBytes[0] != 4 {
		t.Errorf("public key %q: want 65-byte uncompressed point in unpadded base64url (%v)", pub, err)
	}
	privBytes, err := base64.RawURLEncoding.DecodeString(priv)
	if err != nil || len(privBytes) != 32 {
		t.Errorf("private key: want 32 bytes in unpadded base64url (%v, %d bytes)", err, len(privBytes))
	}
	sender, err := push.NewSender(push.Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "mailto:ops@example.org"})
	if err != nil {
		t.Fatalf("NewSender refused generated keys: %v", err)
	}
	if sender.PublicKey() != pub {
		t.Errorf("PublicKey() = %q, want %q", sender.PublicKey(), pub)
	}
	pub2, priv2, _ := push.GenerateVAPIDKeys()
	if pub2 == pub || priv2 == priv {
		t.Error("two calls returned the same key")
	}
}

func TestNewSenderAcceptsPaddedKeys(t *testing.T) {
	pub, priv, _ := push.GenerateVAPIDKeys()
	pb, _ := base64.RawURLEncoding.DecodeString(pub)
	vb, _ := base64.RawURLEncoding.DecodeString(priv)
	s, err := push.NewSender(push.Config{
		VAPIDPublicKey:  base64.URLEncoding.EncodeToString(pb),
		VAPIDPrivateKey: base64.URLEncoding.EncodeToString(vb),
		Subject:         "https://portal.example.fi/yhteystiedot",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.PublicKey() != pub {
		t.Errorf("PublicKey() = %q, want canonical %q", s.PublicKey(), pub)
	}
}

func TestNewSenderRejectsBadConfig(t *testing.T) {
	pub, priv, _ := push.GenerateVAPIDKeys()
	otherPub, _, _ := push.GenerateVAPIDKeys()
	good := push.Config{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "mailto:ops@example.org"}
	cases := []struct {
		name  string
		edit  func(*push.Config)
		field string
	}{
		{"no public key", func(c *push.Config) { c.VAPIDPublicKey = "" }, "VAPIDPublicKey"},
		{"public key garbage", func(c *push.Config) { c.VAPIDPublicKey = "not*base64" }, "VAPIDPublicKey"},
		{"public key is the private key", func(c *push.Config) { c.VAPIDPublicKey = priv }, "VAPIDPublicKey"},
		{"no private key", func(c *push.Config) { c.VAPIDPrivateKey = "" }, "VAPIDPrivateKey"},
		{"private key too short", func(c *push.Config) { c.VAPIDPrivateKey = priv[:20] }, "VAPIDPrivateKey"},
		{"keys from different pairs", func(c *push.Config) { c.VAPIDPublicKey = otherPub }, "VAPIDPrivateKey"},
		{"no subject", func(c *push.Config) { c.Subject = "" }, "Subject"},
		{"bare address", func(c *push.Config) { c.Subject = "ops@example.org" }, "Subject"},
		{"doubled mailto", func(c *push.Config) { c.Subject = "mailto:mailto:ops@example.org" }, "Subject"},
		{"mailto without address", func(c *push.Config) { c.Subject = "mailto:" }, "Subject"},
		{"mailto not an address", func(c *push.Config) { c.Subject = "mailto:ops" }, "Subject"},
		{"mailto with name", func(c *push.Config) { c.Subject = "mailto:Ops <ops@example.org>" }, "Subject"},
		{"mailto list", func(c *push.Config) { c.Subject = "mailto:a@example.org,b@example.org" }, "Subject"},
		{"mailto query", func(c *push.Config) { c.Subject = "mailto:ops@example.org?subject=x" }, "Subject"},
		{"mailto https", func(c *push.Config) { c.Subject = "mailto:https://example.org" }, "Subject"},
		{"http URL", func(c *push.Config) { c.Subject = "http://example.org" }, "Subject"},
		{"https without host", func(c *push.Config) { c.Subject = "https:" }, "Subject"},
		{"https opaque", func(c *push.Config) { c.Subject = "https:example.org" }, "Subject"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			s, err := push.NewSender(cfg)
			if err == nil {
				t.Fatalf("accepted: %+v", s)
			}
			var ce *push.ConfigError
			if !errors.Is(err, push.ErrInvalidConfig) || !errors.As(err, &ce) || ce.Field != tc.field {
				t.Errorf("got %v, want ConfigError on %s", err, tc.field)
			}
		})
	}
	if _, err := push.NewSender(good); err != nil {
		t.Errorf("control config refused: %v", err)
	}
}
