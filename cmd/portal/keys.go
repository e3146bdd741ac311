package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/push"
)

// vapidKeys returns the configured VAPID pair or, on the embedded default
// and in demo mode, one generated once into the data folder so phones'
// subscriptions survive a restart. Elsewhere an unset pair switches push off.
func vapidKeys(cfg config.Config) (public, private string, err error) {
	if cfg.VAPIDPublicKey != "" {
		return cfg.VAPIDPublicKey, cfg.VAPIDPrivateKey, nil
	}
	if !cfg.Embedded() && !cfg.Demo {
		return "", "", nil
	}
	path := filepath.Join(cfg.DataDir, "vapid.json")
	var stored struct{ Public, Private string }
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &stored); err == nil && stored.Public != "" {
			return stored.Public, stored.Private, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", err
	}
	if stored.Public, stored.Private, err = push.GenerateVAPIDKeys(); err != nil {
		return "", "", err
	}
	b, _ = json.Marshal(stored)
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", "", fmt.Errorf("store VAPID keys: %w", err)
	}
	return stored.Public, stored.Private, nil
}

// demoPassword is PORTAL_DEMO_PASSWORD or a new random one; printed says
// whether the caller must show it (a generated one is shown once, at start).
func demoPassword(cfg config.Config) (password string, generated bool) {
	if cfg.DemoPassword != "" {
		return cfg.DemoPassword, false
	}
	return auth.NewToken()[:16], true
}
