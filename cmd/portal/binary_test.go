package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/devdb"
)

// builtPortal is the portal binary, built for a test that runs it as a
// process, with a data folder (the embedded database) and free loopback
// addresses of its own (the site, and metrics with the profiler).
type builtPortal struct {
	bin, data, addr, opsAddr string
}

func buildPortal(t *testing.T) *builtPortal {
	t.Helper()
	if _, err := devdb.FindBinaries(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	p := &builtPortal{bin: filepath.Join(t.TempDir(), "portal")}
	if out, err := exec.Command("go", "build", "-o", p.bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var err error
	if p.data, err = os.MkdirTemp("", "koto-binary-"); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(p.data, 0o755) // the database's own user must reach it
	t.Cleanup(func() { os.RemoveAll(p.data) })
	for _, addr := range []*string{&p.addr, &p.opsAddr} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		*addr = ln.Addr().String()
		ln.Close()
	}
	return p
}

func (p *builtPortal) base() string { return "http://" + p.addr }

// command runs the binary on the embedded database, whatever the test's
// own environment says about databases; env adds settings.
func (p *builtPortal) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL=", "PORTAL_ADDR="+p.addr, "PORTAL_METRICS_ADDR="+p.opsAddr, "PORTAL_DATA_DIR="+p.data, "PORTAL_LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// serve starts `portal serve --migrate` and waits until it is ready; the
// process is killed when the test ends.
func (p *builtPortal) serve(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := p.command(env, "serve", "--migrate")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.base() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the portal did not become ready:\n%s", log.String())
	return nil
}
