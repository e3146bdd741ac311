package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

func TestCommands(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"version"}, &out, &errs); code != 0 || strings.TrimSpace(out.String()) != version {
		t.Errorf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"vapid-keys"}, &out, &errs); code != 0 ||
		!regexp.MustCompile(`(?m)^PORTAL_VAPID_PUBLIC_KEY=[A-Za-z0-9_-]{87}\nPORTAL_VAPID_PRIVATE_KEY=[A-Za-z0-9_-]{43}$`).MatchString(out.String()) {
		t.Errorf("vapid-keys: %d %q", code, out.String())
	}
	errs.Reset()
	if code := run([]string{"frobnicate"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs.String())
	}
}

// A bad configuration stops the portal before it touches anything, with
// one line per problem.
func TestBadConfigurationIsReportedLineByLine(t *testing.T) {
	t.Setenv("PORTAL_ADDR", "nonsense")
	t.Setenv("PORTAL_BASE_URL", "ftp://x")
	var out, errs bytes.Buffer
	if code := run([]string{"serve"}, &out, &errs); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	lines := strings.Count(errs.String(), "\n  - ")
	if lines != 2 || !strings.Contains(errs.String(), "PORTAL_ADDR") || !strings.Contains(errs.String(), "PORTAL_BASE_URL") {
		t.Fatalf("got %d problem lines:\n%s", lines, errs.String())
	}
}

// Killed with SIGKILL, the portal comes back on the same data: the
// embedded PostgreSQL does not outlive it, and the next start finds the
// ticket taken before.
func TestComesBackAfterSIGKILL(t *testing.T) {
	p := buildPortal(t)
	base := p.base()
	start := func() *exec.Cmd {
		return p.serve(t, "PORTAL_DEMO=1", "PORTAL_DEMO_PASSWORD=sigkill-test-password")
	}

	first := start()
	checkOpsAddress(t, base, "http://"+p.opsAddr)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(base + "/kiosk/demo?lang=en&topic=1")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindSubmatch(page)
	if m == nil || key == nil {
		t.Fatal("no kiosk form")
	}
	resp, err = c.PostForm(base+"/kiosk/demo/tickets", url.Values{"_csrf": {string(m[1])}, "key": {string(key[1])},
		"lang": {"en"}, "topic": {"1"}, "interpreter": {"0"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("take a ticket: %v %v", err, resp)
	}
	resp.Body.Close()

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = first.Process.Wait()

	start()
	resp, err = http.Get(base + "/api/v1/queue/demo")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		Waiting []struct {
			Prefix string `json:"prefix"`
			Number int    `json:"number"`
		} `json:"waiting"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		t.Fatal(err)
	}
	if len(state.Waiting) != 1 || state.Waiting[0].Prefix != "A" || state.Waiting[0].Number != 1 {
		t.Fatalf("after the restart the queue holds %+v, want ticket A 1", state.Waiting)
	}
}

// checkOpsAddress: /metrics and the profiler answer on the private address
// only; the public one knows neither.
func checkOpsAddress(t *testing.T, public, private string) {
	t.Helper()
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/metrics", "/debug/pprof/"} {
		if code, body := get(public + path); code != http.StatusNotFound || strings.Contains(body, "go_info") {
			t.Errorf("public %s: %d", path, code)
		}
	}
	if code, body := get(private + "/metrics"); code != http.StatusOK || !strings.Contains(body, "go_info") || !strings.Contains(body, "koto_http_requests_total") {
		t.Errorf("private /metrics: %d\n%.300s", code, body)
	}
	if code, body := get(private + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("private /debug/pprof/: %d\n%.300s", code, body)
	}
}
