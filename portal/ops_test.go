package portal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal"
	"github.com/koto-portal/portal/portal/portaltest"
)

// opsGet reads a path from the private operations handler.
func opsGet(t *testing.T, s *portal.Server, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// /metrics names the Go version and the process's figures: the public app
// does not serve it (nor the profiler); the private handler serves both.
func TestMetricsAndProfilerOnlyOnThePrivateAddress(t *testing.T) {
	s := bareServer(t)
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		resp, body := do(t, s, httptest.NewRequest(http.MethodGet, path, nil))
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "go_info") {
			t.Errorf("public %s: %d", path, resp.StatusCode)
		}
	}
	if code, body := opsGet(t, s, "/metrics"); code != http.StatusOK || !strings.Contains(body, "go_info") || !strings.Contains(body, "koto_http_requests_total") {
		t.Errorf("private /metrics: %d\n%.300s", code, body)
	}
	if code, body := opsGet(t, s, "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("private /debug/pprof/: %d", code)
	}
	if code, _ := opsGet(t, s, "/debug/pprof/heap"); code != http.StatusOK {
		t.Errorf("private heap profile: %d", code)
	}
}

// A request that fails in the session middleware is logged and counted
// under the route it asked for, not under the middleware's "/".
func TestSessionErrorsCountUnderTheRouteRequested(t *testing.T) {
	in := secStart(t)
	b := newSecBrowser(t, in)
	b.login(demo.LeadEmail)
	owner := secOwner(t, in)
	// The session lookup now fails inside the database, as in an outage.
	if _, err := owner.Exec(context.Background(), `REVOKE SELECT ON sessions FROM koto_app`); err != nil {
		t.Fatal(err)
	}
	if r := b.get("/staff/queue/demo"); r.Status != http.StatusInternalServerError {
		t.Fatalf("GET /staff/queue/demo with a failing session lookup: %d", r.Status)
	}
	_, body := opsGet(t, in.Server, "/metrics")
	want := `koto_http_requests_total{method="GET",route="/staff/queue/:sp",status="500"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("metrics lack %s:\n%s", want, grepLines(body, "koto_http_requests_total"))
	}
	if strings.Contains(body, `route="/",status="500"`) {
		t.Errorf("the failure counts under /:\n%s", grepLines(body, "koto_http_requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// In demo mode the demo kiosk needs no pairing, but a browser whose device
// credential names no device (revoked, re-paired, made up) is not taken for
// the demo kiosk: its tickets would be recorded under the wrong device.
func TestDemoKioskRefusesABrowserWithAFailedDeviceLookup(t *testing.T) {
	in := secStart(t, portaltest.WithConfig(func(c *config.Config) { c.Demo = true }))
	fresh := newSecBrowser(t, in)
	if r := fresh.get("/kiosk/demo"); r.Status != http.StatusOK {
		t.Fatalf("the demo kiosk without a credential: %d", r.Status)
	}
	stale := newSecBrowser(t, in)
	stale.cookies["koto_device"] = "a-credential-of-a-revoked-device-0123456789abcdef"
	r := stale.get("/kiosk/demo")
	if r.Status != http.StatusForbidden {
		t.Errorf("the demo kiosk with an unknown credential: %d, want 403 (not paired)", r.Status)
	}
	if r := stale.get("/display/demo"); r.Status != http.StatusForbidden {
		t.Errorf("the demo display with an unknown credential: %d, want 403 (not paired)", r.Status)
	}
}
