package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunAsRootFromAPrivateHomeFolder: `make run` as root from a clone in a
// home folder only root may enter (as /root is) serves the portal, and a
// ticket taken before a restart is still counted after it.
func TestRunAsRootFromAPrivateHomeFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root runs the embedded database as another user")
	}
	p := buildPortal(t)
	if err := os.Chmod(p.data, 0o700); err != nil {
		t.Fatal(err)
	}
	p.data = filepath.Join(p.data, "koto-portal", "data")
	t.Cleanup(func() {
		// The cluster went where its user can reach it; it goes with the test.
		if real, err := filepath.EvalSymlinks(filepath.Join(p.data, "postgres")); err == nil && !strings.HasPrefix(real, p.data) {
			os.RemoveAll(real)
		}
	})
	take := func() string {
		t.Helper()
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		resp, err := c.Get(p.base() + "/kiosk/demo?lang=en&topic=1")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		csrf := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
		key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindSubmatch(page)
		if csrf == nil || key == nil {
			t.Fatalf("no kiosk form (status %d)", resp.StatusCode)
		}
		resp, err = c.PostForm(p.base()+"/kiosk/demo/tickets", url.Values{"_csrf": {string(csrf[1])}, "key": {string(key[1])},
			"lang": {"en"}, "topic": {"1"}, "interpreter": {"0"}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`class="ticket-number"[^>]*>([^<]+)<`).FindSubmatch(body)
		if resp.StatusCode != 200 || m == nil {
			t.Fatalf("take a ticket: %d\n%.400s", resp.StatusCode, body)
		}
		return string(m[1])
	}

	cmd := p.serve(t, "PORTAL_DEMO=1")
	first := take()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	p.serve(t, "PORTAL_DEMO=1")
	if second := take(); second == first {
		t.Fatalf("after a restart the kiosk gave %q again: the data did not survive", second)
	}
}
