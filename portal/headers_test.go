package portal_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/portal"
)

// bareServer is the web layer without a database, for checks of what
// every answer carries.
func bareServer(t *testing.T, configure ...func(*config.Config)) *portal.Server {
	t.Helper()
	cat, err := i18n.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	for _, fn := range configure {
		fn(&cfg)
	}
	s, err := portal.New(portal.Deps{Config: cfg, Catalog: cat, Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, s *portal.Server, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := s.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// CheckSecurityHeaders reports what an answer lacks; exported to the other
// tests in this package through a variable so they can reuse it.
func checkSecurityHeaders(h http.Header, capability bool) []string {
	var problems []string
	csp := h.Get("Content-Security-Policy")
	for _, must := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, must) {
			problems = append(problems, "CSP lacks "+must)
		}
	}
	for _, never := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, never) {
			problems = append(problems, "CSP allows "+never)
		}
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		problems = append(problems, "no nosniff")
	}
	if h.Get("Permissions-Policy") == "" {
		problems = append(problems, "no Permissions-Policy")
	}
	want := "same-origin"
	if capability {
		want = "no-referrer"
	}
	if got := h.Get("Referrer-Policy"); got != want {
		problems = append(problems, "Referrer-Policy "+got+", want "+want)
	}
	return problems
}

func TestSecurityHeadersOnEveryKindOfAnswer(t *testing.T) {
	s := bareServer(t)
	cases := []struct {
		path       string
		status     int
		capability bool
	}{
		{"/", 200, false},
		{"/healthz", 200, false},
		{"/no/such/page", 404, false},
		{"/t/some-token-that-does-not-exist", 404, true},
		{"/static/deadbeef/css/app.css", 200, false},
	}
	for _, tc := range cases {
		resp, _ := do(t, s, httptest.NewRequest("GET", tc.path, nil))
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, resp.StatusCode, tc.status)
		}
		for _, p := range checkSecurityHeaders(resp.Header, tc.capability) {
			t.Errorf("%s: %s", tc.path, p)
		}
	}
}

// The header check itself must be able to fail.
func TestSecurityHeaderCheckCatchesWeakPolicy(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'")
	if len(checkSecurityHeaders(h, true)) < 3 {
		t.Fatal("a weak policy passed the check")
	}
}

func TestHSTSOnlyOverTLS(t *testing.T) {
	behindProxy := func(s *portal.Server) *http.Response {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, _ := do(t, s, req)
		return resp
	}
	s := bareServer(t)
	resp, _ := do(t, s, httptest.NewRequest("GET", "/", nil))
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	// X-Forwarded-Proto counts only from a trusted proxy (app.Test's
	// requests come from 0.0.0.0).
	if behindProxy(s).Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS on an X-Forwarded-Proto from an untrusted peer")
	}
	trusting := bareServer(t, func(c *config.Config) { c.TrustedProxies = []string{"0.0.0.0/8"} })
	if !strings.Contains(behindProxy(trusting).Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS behind TLS")
	}
}

func TestLanguageNegotiationAndDirection(t *testing.T) {
	s := bareServer(t)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Language", "ar")
	_, body := do(t, s, req)
	if !strings.Contains(body, `<html lang="ar" dir="rtl">`) {
		t.Errorf("Accept-Language: ar did not give an RTL Arabic page")
	}
	resp, body := do(t, s, httptest.NewRequest("GET", "/?lang=sv", nil))
	if !strings.Contains(body, `<html lang="sv" dir="ltr">`) || !strings.Contains(body, "Välj språk") {
		t.Errorf("?lang=sv did not give Swedish")
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "lang" {
			cookie = c.Value
		}
	}
	if cookie != "sv" {
		t.Fatalf("?lang=sv set cookie %q", cookie)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "lang", Value: "sv"})
	req.Header.Set("Accept-Language", "en")
	if _, body = do(t, s, req); !strings.Contains(body, `lang="sv"`) {
		t.Error("the remembered language did not stick")
	}
	// No explicit choice: no cookie written.
	resp, _ = do(t, s, httptest.NewRequest("GET", "/", nil))
	for _, c := range resp.Cookies() {
		if c.Name == "lang" {
			t.Error("a cookie was written without a choice")
		}
	}
}

func TestErrorsAreLocalizedAndJSONUnderAPI(t *testing.T) {
	s := bareServer(t)
	resp, body := do(t, s, httptest.NewRequest("GET", "/nothing?lang=fi", nil))
	if resp.StatusCode != 404 || !strings.Contains(body, "Sivua ei löytynyt") {
		t.Errorf("404 page: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, s, httptest.NewRequest("GET", "/api/v1/nothing?lang=en", nil))
	// Under the API an error is a problem document (RFC 9457).
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("API 404: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// fasthttp refuses an oversized body before any handler runs, so this one
// needs a real listener.
func TestOversizedBodyIsRefusedClearly(t *testing.T) {
	s := bareServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.App().Listener(ln) }()
	defer s.App().Shutdown()
	resp, err := http.Post("http://"+ln.Addr().String()+"/?lang=en", "application/x-www-form-urlencoded",
		strings.NewReader(strings.Repeat("x", portal.BodyLimit+1)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(body), "liian suuri") && !strings.Contains(string(body), "too large") {
		t.Errorf("oversized body: %d %q", resp.StatusCode, body)
	}
}

func TestStaticAssetsAreHashedAndCached(t *testing.T) {
	s := bareServer(t)
	_, body := do(t, s, httptest.NewRequest("GET", "/", nil))
	i := strings.Index(body, "/static/")
	if i < 0 {
		t.Fatal("no static link on the start page")
	}
	url := body[i : i+strings.Index(body[i:], `"`)]
	resp, _ := do(t, s, httptest.NewRequest("GET", url, nil))
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("%s: %d %q", url, resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, _ = do(t, s, httptest.NewRequest("GET", "/static/000000000000/css/app.css", nil))
	if resp.StatusCode != 200 || strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("stale hash: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := do(t, s, httptest.NewRequest("GET", "/static/x/../../go.mod", nil)); resp.StatusCode != 404 {
		t.Errorf("path escape: %d", resp.StatusCode)
	}
}
