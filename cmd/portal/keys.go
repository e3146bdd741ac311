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
	var stored struct{ Public, Private string }
	b, err := keptInDataDir(cfg, "vapid.json", func(b []byte) bool {
		return json.Unmarshal(b, &stored) == nil && stored.Public != ""
	}, func() ([]byte, error) {
		if stored.Public, stored.Private, err = push.GenerateVAPIDKeys(); err != nil {
			return nil, err
		}
		return json.Marshal(stored)
	})
	if err != nil {
		return "", "", fmt.Errorf("VAPID keys: %w", err)
	}
	_ = json.Unmarshal(b, &stored)
	return stored.Public, stored.Private, nil
}

// demoPassword is PORTAL_DEMO_PASSWORD or one generated once into the data
// folder: every start sets the demo accounts' password, so a new one each
// time would silently invalidate the one printed by an instance already
// running on the same data. generated says the caller must show it.
func demoPassword(cfg config.Config) (password string, generated bool, err error) {
	if cfg.DemoPassword != "" {
		return cfg.DemoPassword, false, nil
	}
	b, err := keptInDataDir(cfg, "demo-password", func(b []byte) bool { return len(b) >= 12 },
		func() ([]byte, error) { return []byte(auth.NewToken()[:16]), nil })
	if err != nil {
		return "", false, fmt.Errorf("demo password: %w", err)
	}
	return string(b), true, nil
}

// keptInDataDir reads a secret the portal generated into the data folder at
// an earlier start, or generates it and keeps it there (readable by this
// user only), so restarts and instances on the same data agree on it.
func keptInDataDir(cfg config.Config, name string, valid func([]byte) bool, generate func() ([]byte, error)) ([]byte, error) {
	path := filepath.Join(cfg.DataDir, name)
	b, err := os.ReadFile(path)
	if err == nil && valid(b) {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if b, err = generate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}
