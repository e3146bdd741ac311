// Package devdb runs the embedded default database: a private PostgreSQL
// cluster started from the machine's own PostgreSQL server binaries, with its
// data in a folder of ours and its socket in a private directory, so that a
// laptop or a test needs nothing started by hand.
package devdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (looked on PATH and under /usr/lib/postgresql/*/bin): install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL")

// Superuser is the cluster's bootstrap role; only migrations and set-up use it.
const Superuser = "postgres"

// Options says where the cluster lives.
type Options struct {
	DataDir string       // cluster files; created on first start
	LogFile string       // server log; default DataDir + ".log"
	Logger  *slog.Logger // may be nil
	// SharedDir is where the cluster goes when we are root and the
	// database's own user cannot reach DataDir (a clone in /root, mode
	// 700): DataDir then links there. Default DefaultSharedDir.
	SharedDir string
}

// DefaultSharedDir holds clusters whose own folder the database's user
// cannot reach. It is root's and mode 0711: the user may pass through to
// its cluster but not list the others.
const DefaultSharedDir = "/var/lib/koto-portal"

// Server is a running private cluster.
type Server struct {
	lock      *os.File // flock on the data folder: one portal per cluster
	dataDir   string
	socketDir string
	binDir    string
	cred      *syscall.Credential // the user the server runs as; nil: ours
	logPath   string
	cmd       *exec.Cmd
	done      chan struct{}
	logger    *slog.Logger
	logFile   *os.File
}

// FindBinaries returns the directory holding postgres, initdb and pg_ctl:
// first from PATH, then the newest /usr/lib/postgresql/N/bin.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("postgres"); err == nil {
		dir := filepath.Dir(p)
		if isFile(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, dir := range matches {
		if isFile(filepath.Join(dir, "postgres")) && isFile(filepath.Join(dir, "initdb")) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// Start initialises the cluster when it is new, clears what a crashed run
// left behind, starts postgres and waits until it accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	// Parents stay traversable: when we are root the server runs as another
	// user, who must reach its folder.
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("create database folder: %w", err)
	}
	if cred != nil {
		shared := opts.SharedDir
		if shared == "" {
			shared = DefaultSharedDir
		}
		if dataDir, err = reachableDir(dataDir, shared, cred, logger); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create database folder: %w", err)
	}
	if err := chown(dataDir, cred); err != nil {
		return nil, err
	}
	// A second portal on the same folder would take the first one's server
	// for an orphan and stop it; the lock makes it refuse instead. The
	// kernel drops the lock when its holder dies, however it dies.
	lock, err := lockFolder(dataDir + ".lock")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	if !isFile(filepath.Join(dataDir, "PG_VERSION")) {
		logger.Info("initialising the embedded PostgreSQL cluster", "dir", dataDir)
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
			"-D", dataDir, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb failed (the folder must be reachable by the database's own user): %w: %s", err, lastLines(out, 5))
		}
	}
	if err := clearStalePid(dataDir, logger); err != nil {
		return nil, err
	}
	// The socket lives in a short private folder: Unix socket paths are limited
	// to about 100 bytes, and a data folder can be deep.
	socketDir, err := os.MkdirTemp("", "koto-pg-")
	if err != nil {
		return nil, err
	}
	if err := chown(socketDir, cred); err != nil {
		return nil, err
	}
	logPath := opts.LogFile
	if logPath == "" {
		logPath = dataDir + ".log"
	}
	s := &Server{lock: lock, dataDir: dataDir, socketDir: socketDir, logger: logger, binDir: binDir, cred: cred, logPath: logPath}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	logger.Info("embedded PostgreSQL is up", "dir", dataDir, "log", logPath)
	ok = true
	return s, nil
}

// launch starts the postmaster on the server's folders and waits until it
// takes connections.
func (s *Server) launch(ctx context.Context) error {
	lf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open database log: %w", err)
	}
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"),
		"-D", s.dataDir, "-k", s.socketDir, "-c", "listen_addresses=", "-p", "5432",
		"-c", "max_connections=200", "-c", "fsync=on")
	cmd.Stdout, cmd.Stderr = lf, lf
	// Pdeathsig stops the server if we are killed, so a SIGKILLed portal does
	// not leave a postmaster holding the data folder.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd, s.logFile, s.done = cmd, lf, make(chan struct{})
	done := s.done
	go func() { _ = cmd.Wait(); close(done) }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		_ = s.Stop(context.Background())
		return fmt.Errorf("%w (see %s)", err, s.logPath)
	}
	return nil
}

// Restart stops the server and starts it again on the same files and
// address, as an operator's restart does: for tests of what outlives one.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.halt(ctx); err != nil {
		return err
	}
	s.logFile.Close()
	return s.launch(ctx)
}

// URL is a connection string for database name as the superuser.
func (s *Server) URL(database string) string {
	q := url.Values{"host": {s.socketDir}, "port": {"5432"}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User(Superuser), Path: "/" + database, RawQuery: q.Encode()}).String()
}

// EnsureDatabase creates the database when it does not exist yet.
func (s *Server) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			c.Close(ctx)
			return nil
		}
		select {
		case <-s.done:
			return errors.New("postgres exited during start")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %s: %w", limit, err)
		}
	}
}

// Stop asks for a fast shutdown (SIGINT) and waits for the server to exit.
func (s *Server) Stop(ctx context.Context) error {
	defer s.lock.Close()
	defer os.RemoveAll(s.socketDir)
	defer s.logFile.Close()
	return s.halt(ctx)
}

// halt stops the postmaster (a fast shutdown) and waits for it.
func (s *Server) halt(ctx context.Context) error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		_ = s.cmd.Process.Kill()
		<-s.done
		return ctx.Err()
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("postgres did not stop within 30 s; killed")
	}
}

// Kill stops the server the hard way; tests use it to cut live connections.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

func lockFolder(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the database folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("the database folder %s is in use by another running portal: stop it first, or give this one its own PORTAL_DATA_DIR", filepath.Dir(path))
	}
	return f, nil
}

// clearStalePid deals with the lock file a crashed run leaves: a live
// postmaster for this folder (orphaned by a killed portal) is told to stop;
// a pid that now names an unrelated process would make postgres refuse to
// start, so the file goes.
func clearStalePid(dataDir string, logger *slog.Logger) error {
	pidFile := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return os.Remove(pidFile)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "postgres") {
		logger.Warn("removing a stale postmaster.pid", "pid", pid)
		return os.Remove(pidFile)
	}
	logger.Warn("stopping an orphaned postgres on our data folder", "pid", pid)
	_ = syscall.Kill(pid, syscall.SIGINT)
	for i := 0; i < 300; i++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("postgres (pid %d) still holds %s", pid, dataDir)
}

// runAs picks the unprivileged user the server runs as when we are root,
// since PostgreSQL refuses to run as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root, and there is no 'postgres' or 'nobody' user to run the embedded database as")
}

// reachableDir is where a root-run portal keeps the cluster of dataDir:
// dataDir itself when the database's user can get there, else a folder of
// its own under shared that dataDir links to, so the data stays where a
// reader looks for it, and survives restarts (the folder's name comes from
// dataDir's path). PostgreSQL cannot run as root, and a clone in a private
// home folder is unreachable to anyone else.
func reachableDir(dataDir, shared string, cred *syscall.Credential, logger *slog.Logger) (string, error) {
	if real, err := filepath.EvalSymlinks(dataDir); err == nil {
		if real != dataDir && canReach(filepath.Dir(real), cred) {
			return real, nil // linked on an earlier start
		}
		dataDir = real
	}
	if canReach(filepath.Dir(dataDir), cred) {
		return dataDir, nil
	}
	if isFile(filepath.Join(dataDir, "PG_VERSION")) {
		return "", fmt.Errorf("the database folder %s is in a folder its user (uid %d) cannot reach: move the folder, or set PORTAL_DATA_DIR under a reachable folder", dataDir, cred.Uid)
	}
	// An empty folder from a start that failed here before is replaced.
	if err := os.Remove(dataDir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("the database folder %s cannot be reached by its user (uid %d) and is not empty: %w", dataDir, cred.Uid, err)
	}
	if err := os.MkdirAll(shared, 0o711); err != nil {
		return "", fmt.Errorf("create %s: %w", shared, err)
	}
	if err := os.Chmod(shared, 0o711); err != nil {
		return "", err
	}
	if !canReach(shared, cred) {
		return "", fmt.Errorf("neither %s nor %s can be reached by the database's user (uid %d)", filepath.Dir(dataDir), shared, cred.Uid)
	}
	sum := sha256.Sum256([]byte(dataDir))
	real := filepath.Join(shared, filepath.Base(dataDir)+"-"+hex.EncodeToString(sum[:6]))
	if err := os.Symlink(real, dataDir); err != nil {
		return "", fmt.Errorf("link %s to %s: %w", dataDir, real, err)
	}
	logger.Info("the database's user cannot reach the data folder; the embedded database's files are kept elsewhere",
		"dir", real, "linked_from", dataDir)
	return real, nil
}

// canReach tells whether the user can walk down to dir: every folder on
// the way must let them search it.
func canReach(dir string, cred *syscall.Credential) bool {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return false
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := st.Mode().Perm()
		switch {
		case sys.Uid == cred.Uid:
			if mode&0o100 == 0 {
				return false
			}
		case sys.Gid == cred.Gid:
			if mode&0o010 == 0 {
				return false
			}
		case mode&0o001 == 0:
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("hand %s to the database user: %w", path, err)
	}
	return nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
