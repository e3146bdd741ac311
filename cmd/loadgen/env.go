package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/devdb"
	"github.com/koto-portal/portal/internal/store"
)

// dbName is the database the load test works in; pgbench's tables go into
// it too, so both are measured on the same database, cluster and disk.
const dbName = "koto_loadgen"

// env is everything a run starts: a private PostgreSQL and portal processes.
// close undoes all of it, whatever state a failed run left it in.
type env struct {
	work  string // scratch folder: portal binary, logs, and the cluster unless -data
	owned bool   // work was made here and is removed at the end (unless keep)
	keep  bool
	// statements loads pg_stat_statements; it costs a little on every
	// statement, so it is off unless asked for.
	statements bool
	dataDir    string
	pgBin      string
	pg         *devdb.Server
	ownerURL   string
	sockDir    string
	password   string
	binary     string
	portals    []*portalProc
	nextName   int
}

type envOptions struct {
	work, data, binary string
	keep               bool
	statements         bool // load pg_stat_statements, for -statements
}

func setup(ctx context.Context, o envOptions) (e *env, err error) {
	e = &env{work: o.work, binary: o.binary, keep: o.keep, statements: o.statements}
	defer func() {
		if err != nil {
			e.close()
			e = nil
		}
	}()
	if e.work == "" {
		if e.work, err = os.MkdirTemp("", "koto-loadgen-"); err != nil {
			return e, err
		}
		e.owned = true
		// When we are root, devdb runs PostgreSQL as another user, who must
		// be able to reach the cluster inside our folder; MkdirTemp makes it
		// 0700. (A -work folder is the caller's to set up.)
		if err = os.Chmod(e.work, 0o755); err != nil {
			return e, err
		}
	} else if err = os.MkdirAll(e.work, 0o755); err != nil {
		return e, err
	}
	e.dataDir = o.data
	if e.dataDir == "" {
		e.dataDir = filepath.Join(e.work, "pg")
	}
	if e.pgBin, err = devdb.FindBinaries(); err != nil {
		return e, err
	}
	if err = e.startDatabase(ctx); err != nil {
		return e, err
	}
	if e.binary == "" {
		if e.binary, err = buildPortal(ctx, e.work); err != nil {
			return e, err
		}
	}
	return e, nil
}

// startDatabase starts the cluster with commit timestamps on, so that the
// latency test can date each ticket by its real commit (settings that need
// a restart: devdb takes no server options, so they go in through ALTER
// SYSTEM), then creates, migrates and seeds the database.
func (e *env) startDatabase(ctx context.Context) error {
	logf("starting PostgreSQL in %s", e.dataDir)
	var err error
	if e.pg, err = devdb.Start(ctx, devdb.Options{DataDir: e.dataDir}); err != nil {
		return err
	}
	want := map[string]string{"track_commit_timestamp": "on", "shared_preload_libraries": ""}
	if e.statements {
		want["shared_preload_libraries"] = "pg_stat_statements"
	}
	restart := false
	for name, value := range want {
		cur, err := e.setting(ctx, name)
		if err != nil {
			return err
		}
		if cur != value {
			// The values are this function's own constants.
			sql := "ALTER SYSTEM SET " + name + " = '" + value + "'"
			if value == "" {
				sql = "ALTER SYSTEM RESET " + name
			}
			if err := e.exec(ctx, "postgres", sql); err != nil {
				return err
			}
			restart = true
		}
	}
	if restart {
		logf("restarting PostgreSQL for track_commit_timestamp / shared_preload_libraries")
		if err := e.stopDatabase(); err != nil {
			return err
		}
		if e.pg, err = devdb.Start(ctx, devdb.Options{DataDir: e.dataDir}); err != nil {
			return err
		}
	}
	if err := e.pg.EnsureDatabase(ctx, dbName); err != nil {
		return err
	}
	e.ownerURL = e.pg.URL(dbName)
	u, err := url.Parse(e.ownerURL)
	if err != nil {
		return err
	}
	e.sockDir = u.Query().Get("host")
	if e.statements {
		if err := e.exec(ctx, dbName, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
			return err
		}
	}
	if _, err := store.Migrate(ctx, e.ownerURL); err != nil {
		return err
	}
	e.password = "loadgen-" + randomHex(8)
	return demo.Seed(ctx, e.ownerURL, e.password)
}

func (e *env) stopDatabase() error {
	if e.pg == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	err := e.pg.Stop(ctx)
	e.pg = nil
	return err
}

// postmasterPID is the parent of every PostgreSQL backend, for CPU accounting.
func (e *env) postmasterPID() int {
	b, err := os.ReadFile(filepath.Join(e.dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

func (e *env) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	u := e.ownerURL
	if database != dbName {
		u = e.pg.URL(database)
	}
	return pgx.Connect(ctx, u)
}

func (e *env) exec(ctx context.Context, database, sql string) error {
	c, err := e.connect(ctx, database)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql)
	return err
}

func (e *env) setting(ctx context.Context, name string) (string, error) {
	c, err := e.connect(ctx, "postgres")
	if err != nil {
		return "", err
	}
	defer c.Close(context.Background())
	var v string
	err = c.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	return v, err
}

// close stops every portal, then PostgreSQL, then removes the scratch
// folder; it is safe on a half-built env and runs on every exit path.
func (e *env) close() {
	for _, p := range e.portals {
		p.stop()
	}
	e.portals = nil
	if err := e.stopDatabase(); err != nil {
		logf("PostgreSQL did not stop cleanly: %v", err)
	}
	if e.owned {
		if e.keep {
			logf("kept %s (portal logs, cluster)", e.work)
		} else {
			_ = os.RemoveAll(e.work)
		}
	}
}

// buildPortal builds the portal once from the module this tool belongs to,
// so every instance runs the same, current code.
func buildPortal(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		return "", errors.New("not inside the portal's module: run from the repository (or pass -portal)")
	}
	out := filepath.Join(dir, "portal")
	logf("building %s/cmd/portal", root)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/portal")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/portal: %w", err)
	}
	return out, nil
}

// portalProc is one running `portal serve`.
type portalProc struct {
	name    string
	base    string // http://127.0.0.1:port, also its own origin
	ops     string // http://127.0.0.1:port of its /metrics
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
}

func (p *portalProc) pid() int { return p.cmd.Process.Pid }

// startPortal runs one instance against the shared database and waits until
// it answers /readyz. Instances start one at a time, since each seeds the
// demo (idempotently) at start.
func (e *env) startPortal(ctx context.Context) (*portalProc, error) {
	e.nextName++
	name := fmt.Sprintf("portal-%d", e.nextName)
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	opsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	opsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(opsPort))
	p := &portalProc{name: name, base: "http://" + addr, ops: "http://" + opsAddr, logPath: filepath.Join(e.work, name+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	p.cmd = exec.Command(e.binary, "serve")
	p.cmd.Env = append(inheritedEnv(),
		"DATABASE_URL="+e.ownerURL,
		"PORTAL_ADDR="+addr,
		"PORTAL_METRICS_ADDR="+opsAddr,
		"PORTAL_DATA_DIR="+filepath.Join(e.work, name+"-data"),
		"PORTAL_DEMO=1",
		"PORTAL_DEMO_PASSWORD="+e.password,
		"PORTAL_KIOSK_FLOOD_LIMIT=0",
		"PORTAL_LOG_FORMAT=json",
		"PORTAL_SHUTDOWN_TIMEOUT=5s",
	)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// If this tool dies without cleaning up (SIGKILL), the kernel takes the
	// portals down with it rather than leaving them on the cluster.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	e.portals = append(e.portals, p)
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	if err := p.waitReady(ctx, 60*time.Second); err != nil {
		return nil, fmt.Errorf("%s: %w; its log: %s", name, err, lastLinesOf(p.logPath, 5))
	}
	logf("%s is ready at %s (pid %d, log %s)", name, p.base, p.pid(), p.logPath)
	return p, nil
}

func (p *portalProc) waitReady(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for i := 0; ; i++ {
		resp, err := client.Get(p.base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || i > 1000 {
			return fmt.Errorf("not ready within %s", limit)
		}
		select {
		case <-p.done:
			return errors.New("exited during start")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks for a graceful shutdown (which closes websockets with a close
// frame) and kills the instance if that takes too long.
func (p *portalProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		logf("%s did not stop within 10 s; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stopPortal stops one instance and forgets it.
func (e *env) stopPortal(p *portalProc) {
	p.stop()
	for i, q := range e.portals {
		if q == p {
			e.portals = append(e.portals[:i], e.portals[i+1:]...)
			break
		}
	}
}

// inheritedEnv is our environment minus anything that would point a portal
// elsewhere or change how it behaves from what the test sets. GOGC,
// GOMAXPROCS and GODEBUG do pass, for experiments.
func inheritedEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PORTAL_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// freePort asks the kernel for an unused loopback port. Another process
// could take it before the portal binds it; the portal would then fail to
// start and say so in its log.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLinesOf(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return lastLines(b, n)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(string(bytes.TrimSpace(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
