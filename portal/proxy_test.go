package portal_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

// trustLoopbackProxy makes a test portal take its loopback peer (the test)
// for the TLS proxy in front of it.
var trustLoopbackProxy = portaltest.WithConfig(func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1", "::1"} })

// X-Forwarded-Host and -Proto decide the Origin check and the cookies:
// believed from a trusted proxy, ignored from anyone else.
func TestForwardedHeadersCountOnlyFromTrustedProxies(t *testing.T) {
	login := func(b *secBrowser, origin string) *secResponse {
		token := b.loginForm()
		return b.do(http.MethodPost, "/login", url.Values{"_csrf": {token}, "email": {demo.LeadEmail},
			"password": {secPassword}, "next": {"/staff"}}, map[string]string{"Origin": origin})
	}
	forwarded := func(b *secBrowser) {
		b.header.Set("X-Forwarded-Host", "koto.example.fi")
		b.header.Set("X-Forwarded-Proto", "https")
	}

	untrusting := secStart(t)
	b := newSecBrowser(t, untrusting)
	forwarded(b)
	if r := login(b, "https://koto.example.fi"); r.Status != http.StatusForbidden {
		t.Errorf("an untrusted peer named its own origin: login %d", r.Status)
	}
	b = newSecBrowser(t, untrusting)
	forwarded(b)
	r := login(b, untrusting.URL)
	if r.Status != http.StatusSeeOther || r.cookie("koto_session") == nil || r.cookie("koto_session").Secure {
		t.Errorf("an untrusted X-Forwarded-Proto changed the cookie: %d %v", r.Status, r.Cookies)
	}

	trusting := secStart(t, trustLoopbackProxy)
	b = newSecBrowser(t, trusting)
	forwarded(b)
	if r := login(b, untrusting.URL); r.Status != http.StatusForbidden {
		t.Errorf("behind the proxy, the bare address passed as the origin: %d", r.Status)
	}
	b = newSecBrowser(t, trusting)
	forwarded(b)
	r = login(b, "https://koto.example.fi")
	if r.Status != http.StatusSeeOther || r.cookie("__Host-koto_session") == nil || !r.cookie("__Host-koto_session").Secure {
		t.Errorf("behind the trusted proxy: login %d, cookies %v", r.Status, r.Cookies)
	}
}

// The client address is the peer's, unless the peer is a trusted proxy:
// then the nearest untrusted hop of X-Forwarded-For, never what the client
// wrote at the left of the list.
func TestClientAddressBehindProxies(t *testing.T) {
	s := bareServer(t, func(c *config.Config) { c.TrustedProxies = []string{"10.0.0.0/8", "192.0.2.7"} })
	cases := []struct {
		peer string
		xff  []string
		want string
	}{
		{"198.51.100.9", nil, "198.51.100.9"},
		{"198.51.100.9", []string{"203.0.113.5"}, "198.51.100.9"}, // not a proxy: its header is ignored
		{"10.1.2.3", []string{"203.0.113.5"}, "203.0.113.5"},
		{"10.1.2.3", []string{"1.1.1.1, 203.0.113.5"}, "203.0.113.5"}, // 1.1.1.1 is the client's own claim
		{"10.1.2.3", []string{"1.1.1.1, 203.0.113.5, 192.0.2.7"}, "203.0.113.5"},
		{"10.1.2.3", []string{"1.1.1.1", "203.0.113.5, 10.9.9.9"}, "203.0.113.5"},
		{"10.1.2.3", []string{"garbage, 10.9.9.9"}, "10.9.9.9"},
		{"10.1.2.3", nil, "10.1.2.3"},
		{"10.1.2.3", []string{"2001:db8::1"}, "2001:db8::1"},
	}
	for _, tc := range cases {
		if got := s.ClientAddrForTest(tc.peer, tc.xff); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}
