// Package config owns the portal's settings: read from the environment (and
// the flags that mirror it), checked once at start, passed down as a value.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxCampaignRate bounds PORTAL_CAMPAIGN_RATE: more than a push service
// would take from one sender without pushing back.
const maxCampaignRate = 1000

// Config is everything the portal can be told at start.
type Config struct {
	Addr             string // PORTAL_ADDR
	DatabaseURL      string // DATABASE_URL; empty: the embedded default
	AppDatabaseURL   string // DATABASE_APP_URL: a login for the app role; empty: DATABASE_URL with SET ROLE
	DataDir          string // PORTAL_DATA_DIR
	BaseURL          string // PORTAL_BASE_URL
	Demo             bool   // PORTAL_DEMO
	DemoPassword     string // PORTAL_DEMO_PASSWORD
	VAPIDPublicKey   string // PORTAL_VAPID_PUBLIC_KEY
	VAPIDPrivateKey  string // PORTAL_VAPID_PRIVATE_KEY
	VAPIDSubject     string // PORTAL_VAPID_SUBJECT
	PushAllowedHosts []string
	Migrate          bool          // --migrate / PORTAL_MIGRATE: bring the schema up to date at start
	MaxDBConns       int32         // PORTAL_DB_MAX_CONNS
	ShutdownTimeout  time.Duration // PORTAL_SHUTDOWN_TIMEOUT
	LogFormat        string        // PORTAL_LOG_FORMAT: json, text, or auto (text on a terminal)
	KioskIdle        time.Duration // PORTAL_KIOSK_IDLE: kiosk resets after this long untouched
	KioskFloodLimit  int           // PORTAL_KIOSK_FLOOD_LIMIT: tickets one kiosk may take per minute (0: no limit, for load tests)
	CampaignRate     int           // PORTAL_CAMPAIGN_RATE: campaign messages the deployment sends a second (0: outreach's default)
	// MetricsAddr (PORTAL_METRICS_ADDR) is the private listen address of
	// /metrics and Go's profiler; empty ("off") serves neither.
	MetricsAddr string
	// TrustedProxies (PORTAL_TRUSTED_PROXIES) are the addresses and CIDR
	// ranges of the reverse proxies in front of the portal: only a request
	// from one of them may say, in X-Forwarded-*, who the client is and
	// which scheme and host it used.
	TrustedProxies []string
}

// Defaults are the values used when nothing is set.
func Defaults() Config {
	return Config{
		Addr:            ":8080",
		DataDir:         "./data",
		MaxDBConns:      20,
		ShutdownTimeout: 15 * time.Second,
		LogFormat:       "auto",
		KioskIdle:       60 * time.Second,
		KioskFloodLimit: 6,
		MetricsAddr:     "127.0.0.1:9090",
	}
}

// Load reads the environment, then the flags in args (which win).
func Load(getenv func(string) string, args []string) (Config, error) {
	c := Defaults()
	var problems []string
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	str("PORTAL_ADDR", &c.Addr)
	str("DATABASE_URL", &c.DatabaseURL)
	str("DATABASE_APP_URL", &c.AppDatabaseURL)
	str("PORTAL_DATA_DIR", &c.DataDir)
	str("PORTAL_BASE_URL", &c.BaseURL)
	str("PORTAL_DEMO_PASSWORD", &c.DemoPassword)
	str("PORTAL_VAPID_PUBLIC_KEY", &c.VAPIDPublicKey)
	str("PORTAL_VAPID_PRIVATE_KEY", &c.VAPIDPrivateKey)
	str("PORTAL_VAPID_SUBJECT", &c.VAPIDSubject)
	str("PORTAL_LOG_FORMAT", &c.LogFormat)
	str("PORTAL_METRICS_ADDR", &c.MetricsAddr)
	if strings.EqualFold(c.MetricsAddr, "off") {
		c.MetricsAddr = ""
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q: want 1/0, true/false", name, v))
				return
			}
			*dst = b
		}
	}
	boolean("PORTAL_DEMO", &c.Demo)
	boolean("PORTAL_MIGRATE", &c.Migrate)
	duration := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s=%q: want a duration such as 30s", name, v))
				return
			}
			*dst = d
		}
	}
	duration("PORTAL_SHUTDOWN_TIMEOUT", &c.ShutdownTimeout)
	duration("PORTAL_KIOSK_IDLE", &c.KioskIdle)
	if v := getenv("PORTAL_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("PORTAL_DB_MAX_CONNS=%q: want a whole number", v))
		}
		c.MaxDBConns = int32(n)
	}
	if v := getenv("PORTAL_KIOSK_FLOOD_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("PORTAL_KIOSK_FLOOD_LIMIT=%q: want a whole number, 0 for no limit", v))
		}
		c.KioskFloodLimit = n
	}
	if v := getenv("PORTAL_CAMPAIGN_RATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCampaignRate {
			problems = append(problems, fmt.Sprintf("PORTAL_CAMPAIGN_RATE=%q: want a whole number from 1 to %d", v, maxCampaignRate))
		}
		c.CampaignRate = n
	}
	c.PushAllowedHosts = list(getenv("PORTAL_PUSH_ALLOWED_HOSTS"), c.PushAllowedHosts)
	c.TrustedProxies = list(getenv("PORTAL_TRUSTED_PROXIES"), c.TrustedProxies)

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (PORTAL_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data folder (PORTAL_DATA_DIR)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "public URL (PORTAL_BASE_URL)")
	fs.BoolVar(&c.Demo, "demo", c.Demo, "seed the demo municipality (PORTAL_DEMO)")
	fs.BoolVar(&c.Migrate, "migrate", c.Migrate, "migrate the schema at start (PORTAL_MIGRATE)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if len(problems) > 0 {
		return c, errors.New(strings.Join(problems, "\n"))
	}
	return c, nil
}

// list splits a comma-separated setting; unset keeps def.
func list(v string, def []string) []string {
	if v == "" {
		return def
	}
	var out []string
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// FromEnv is Load over the process environment.
func FromEnv(args []string) (Config, error) { return Load(os.Getenv, args) }

// Validate reports every problem, one line each.
func (c *Config) Validate() error {
	var problems []string
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("PORTAL_ADDR=%q: want host:port, e.g. :8080 or 127.0.0.1:9000", c.Addr))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil || c.MetricsAddr == c.Addr {
			problems = append(problems, fmt.Sprintf("PORTAL_METRICS_ADDR=%q: want host:port apart from PORTAL_ADDR, e.g. 127.0.0.1:9090, or off", c.MetricsAddr))
		}
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				problems = append(problems, fmt.Sprintf("PORTAL_TRUSTED_PROXIES: %q is neither an address nor a CIDR range such as 10.0.0.0/8", p))
			}
		}
	}
	if c.DatabaseURL != "" {
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			problems = append(problems, "DATABASE_URL: want postgres://user:password@host:5432/dbname")
		}
	}
	if c.DataDir == "" {
		problems = append(problems, "PORTAL_DATA_DIR: must not be empty")
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("PORTAL_BASE_URL=%q: want an absolute http(s) URL such as https://koto.example.fi", c.BaseURL))
		}
	}
	if (c.VAPIDPublicKey == "") != (c.VAPIDPrivateKey == "") {
		problems = append(problems, "PORTAL_VAPID_PUBLIC_KEY and PORTAL_VAPID_PRIVATE_KEY: set both or neither (portal vapid-keys prints a pair)")
	}
	if s := c.VAPIDSubject; s != "" && !strings.HasPrefix(s, "mailto:") && !strings.HasPrefix(s, "https://") {
		problems = append(problems, fmt.Sprintf("PORTAL_VAPID_SUBJECT=%q: want mailto:someone@example.fi or an https:// URL", s))
	}
	if c.DemoPassword != "" && len(c.DemoPassword) < 10 {
		problems = append(problems, "PORTAL_DEMO_PASSWORD: at least 10 characters")
	}
	if c.MaxDBConns < 2 || c.MaxDBConns > 1000 {
		problems = append(problems, fmt.Sprintf("PORTAL_DB_MAX_CONNS=%d: want 2 to 1000", c.MaxDBConns))
	}
	switch c.LogFormat {
	case "auto", "json", "text":
	default:
		problems = append(problems, fmt.Sprintf("PORTAL_LOG_FORMAT=%q: want auto, json or text", c.LogFormat))
	}
	if c.KioskIdle < 3*time.Second {
		problems = append(problems, "PORTAL_KIOSK_IDLE: at least 3s (the default is 60s)")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// Embedded tells whether the portal runs its own PostgreSQL.
func (c *Config) Embedded() bool { return c.DatabaseURL == "" }

// PublicURL is the base for links in QR codes and push payloads.
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
