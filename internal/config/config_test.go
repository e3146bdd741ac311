package config

import (
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaultsAndEnv(t *testing.T) {
	c, err := Load(env(map[string]string{"PORTAL_ADDR": "127.0.0.1:9000", "PORTAL_DEMO": "1"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || !c.Demo || c.DataDir != "./data" || !c.Embedded() {
		t.Fatalf("got %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.PublicURL(); got != "http://127.0.0.1:9000" {
		t.Fatalf("PublicURL = %s", got)
	}
}

func TestFlagsWinOverEnv(t *testing.T) {
	c, err := Load(env(map[string]string{"PORTAL_ADDR": ":1"}), []string{"--addr", ":2", "--migrate"})
	if err != nil || c.Addr != ":2" || !c.Migrate {
		t.Fatalf("got %+v, %v", c, err)
	}
}

// Every problem gets its own line, so one start shows them all.
func TestValidateListsEveryProblem(t *testing.T) {
	c, err := Load(env(map[string]string{
		"PORTAL_ADDR": "nonsense", "DATABASE_URL": "mysql://x", "PORTAL_BASE_URL": "ftp:/x",
		"PORTAL_VAPID_PUBLIC_KEY": "abc", "PORTAL_VAPID_SUBJECT": "ops@example.org",
	}), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"PORTAL_ADDR", "DATABASE_URL", "PORTAL_BASE_URL", "PORTAL_VAPID_PUBLIC_KEY", "PORTAL_VAPID_SUBJECT"} {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no line for %s in %q", want, err)
		}
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	_, err := Load(env(map[string]string{"PORTAL_DEMO": "maybe", "PORTAL_KIOSK_IDLE": "soon"}), nil)
	if err == nil || !strings.Contains(err.Error(), "PORTAL_DEMO") || !strings.Contains(err.Error(), "PORTAL_KIOSK_IDLE") {
		t.Fatalf("err = %v", err)
	}
}

// Metrics and the profiler live on a private address, on by default on the
// loopback only; "off" switches them off.
func TestMetricsAddress(t *testing.T) {
	c, err := Load(env(nil), nil)
	if err != nil || c.MetricsAddr != "127.0.0.1:9090" {
		t.Fatalf("default: %q, %v", c.MetricsAddr, err)
	}
	for v, want := range map[string]string{"off": "", "OFF": "", "10.0.0.5:9100": "10.0.0.5:9100"} {
		c, err := Load(env(map[string]string{"PORTAL_METRICS_ADDR": v}), nil)
		if err != nil || c.MetricsAddr != want || c.Validate() != nil {
			t.Errorf("PORTAL_METRICS_ADDR=%s: %q, %v, %v", v, c.MetricsAddr, err, c.Validate())
		}
	}
	for _, bad := range []string{"9090", ":8080"} {
		c, _ := Load(env(map[string]string{"PORTAL_METRICS_ADDR": bad}), nil)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "PORTAL_METRICS_ADDR") {
			t.Errorf("PORTAL_METRICS_ADDR=%s: %v", bad, err)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(env(map[string]string{"PORTAL_TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,fd00::/8"}), nil)
	if err != nil || strings.Join(c.TrustedProxies, "|") != "10.0.0.0/8|192.0.2.7|fd00::/8" || c.Validate() != nil {
		t.Fatalf("got %q, %v, %v", c.TrustedProxies, err, c.Validate())
	}
	c, _ = Load(env(map[string]string{"PORTAL_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"}), nil)
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"proxy.example"`) {
		t.Errorf("a host name was accepted as a proxy: %v", err)
	}
	if c, _ := Load(env(nil), nil); len(c.TrustedProxies) != 0 {
		t.Errorf("proxies trusted by default: %q", c.TrustedProxies)
	}
}

func TestCampaignRate(t *testing.T) {
	if c, err := Load(env(map[string]string{"PORTAL_CAMPAIGN_RATE": "200"}), nil); err != nil || c.CampaignRate != 200 {
		t.Fatalf("got %d, %v", c.CampaignRate, err)
	}
	if c, err := Load(env(nil), nil); err != nil || c.CampaignRate != 0 {
		t.Fatalf("unset: %d, %v; want 0, outreach's default", c.CampaignRate, err)
	}
	for _, bad := range []string{"0", "-5", "many", "1001"} {
		if _, err := Load(env(map[string]string{"PORTAL_CAMPAIGN_RATE": bad}), nil); err == nil || !strings.Contains(err.Error(), "PORTAL_CAMPAIGN_RATE") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
