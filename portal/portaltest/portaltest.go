// Package portaltest starts a real portal for tests: the whole Fiber app with
// its middleware, templates and static files, on a fresh migrated PostgreSQL
// database, listening on a loopback port that a browser or an HTTP client can
// reach. It is the same wiring as `portal serve`, minus the process: what a
// test sees is what a resident would.
//
// A test package that uses it needs the testdb TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }
package portaltest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/outreach"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/internal/testdb"
	"github.com/koto-portal/portal/portal"
)

// Instance is one running portal.
type Instance struct {
	URL      string    // http://127.0.0.1:PORT, no trailing slash
	DB       *store.DB // the app-role pool the portal itself uses
	OwnerURL string    // the fresh database's owner connection string, for set-up and inspection
	Server   *portal.Server
	Config   config.Config // as the portal got it, after every WithConfig
	Hub      *live.Hub
	Listener *live.Listener
	API      *api.Service
	Tasks    *tasks.Service
}

// Option changes how Start builds the portal.
type Option func(*settings)

type settings struct {
	configure []func(*config.Config)
	seed      []func(t testing.TB, db *store.DB, ownerURL string)
	database  string // an existing database to share (another instance's OwnerURL)
	push      *push.Sender
	queue     func(*queue.Service)
	hooks     api.HookOptions
	outreach  bool // outreach's jobs run: messages are sent, reminders checked
}

// WithOutreachJobs runs outreach's durable jobs on the portal's job queue,
// so that messages to clients' phones are sent (and the periodic reminder
// check runs); without it they are only recorded.
func WithOutreachJobs() Option {
	return func(s *settings) { s.outreach = true }
}

// WithWebhooks sets how webhooks are delivered: a client that trusts a
// test receiver's certificate and may reach loopback, a shorter schedule.
func WithWebhooks(o api.HookOptions) Option {
	return func(s *settings) { s.hooks = o }
}

// WithDatabase serves from an existing database instead of a fresh one, so
// several instances can share it as they would behind a load balancer.
func WithDatabase(ownerURL string) Option {
	return func(s *settings) { s.database = ownerURL }
}

// WithPush gives the portal a Web Push sender (for example one pointed at
// the fake push service of internal/push/pushtest).
func WithPush(sender *push.Sender) Option {
	return func(s *settings) { s.push = sender }
}

// WithQueue adjusts the queue service, e.g. its flood limit.
func WithQueue(fn func(*queue.Service)) Option {
	return func(s *settings) { s.queue = fn }
}

// WithDemo seeds the demo municipality with the given staff password and
// turns demo mode on (the demo kiosk and display need no pairing).
func WithDemo(password string) Option {
	return func(s *settings) {
		s.seed = append(s.seed, func(t testing.TB, _ *store.DB, ownerURL string) {
			if err := demo.Seed(context.Background(), ownerURL, password); err != nil {
				t.Fatalf("portaltest: demo seed: %v", err)
			}
		})
		s.configure = append(s.configure, func(c *config.Config) { c.Demo = true })
	}
}

// WithConfig lets a test change the configuration (for example Demo: true)
// after Start has filled in the address, data folder and database.
func WithConfig(fn func(*config.Config)) Option {
	return func(s *settings) { s.configure = append(s.configure, fn) }
}

// WithSeed runs fn on the fresh database before the portal is built, so
// what the portal loads at start (and the first request) sees the data.
// db runs as the app role, under row-level security; ownerURL is for
// set-up the app role may not do.
func WithSeed(fn func(t testing.TB, db *store.DB, ownerURL string)) Option {
	return func(s *settings) { s.seed = append(s.seed, fn) }
}

// shutdownTimeout bounds the wait for requests in flight when the test
// ends; a test's requests are short, so a long wait means a stuck handler.
// It must exceed 5 s: fasthttp, like net/http, counts a connection that
// has not yet sent a request as idle (and closes it at shutdown) only 5 s
// after accepting it, and a client may open one it never uses (Go's
// transport keeps a dial it raced against a freed connection).
const shutdownTimeout = 10 * time.Second

// Start builds and serves a portal for this test. Everything it starts is
// stopped when the test ends, the server before the database under it.
func Start(t testing.TB, opts ...Option) *Instance {
	t.Helper()
	var s settings
	for _, o := range opts {
		o(&s)
	}

	var db *store.DB
	var ownerURL string
	if s.database != "" {
		ownerURL = s.database
		var err error
		if db, err = store.Open(context.Background(), testdb.AppURL(ownerURL), 20); err != nil {
			t.Fatalf("portaltest: open shared database: %v", err)
		}
		t.Cleanup(db.Close)
	} else {
		db, ownerURL = testdb.New(t)
	}
	for _, fn := range s.seed {
		fn(t, db, ownerURL)
	}

	// Registered before the server's cleanup, so it runs after it and
	// catches the shutdown's log lines too.
	logs := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() && logs.Len() > 0 {
			t.Logf("portal log:\n%s", logs.String())
		}
	})
	// The portal logs every request; kept quiet unless the test fails,
	// when the log is the first thing one wants.
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Listening first, on a port the kernel picks, means no guessed port
	// can collide with a parallel test, and the address is known for the
	// configuration (links in QR codes and push payloads use it).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("portaltest: listen: %v", err)
	}

	cfg := config.Defaults()
	cfg.Addr = ln.Addr().String()
	cfg.DatabaseURL = ownerURL
	cfg.DataDir = t.TempDir()
	for _, fn := range s.configure {
		fn(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		_ = ln.Close()
		t.Fatalf("portaltest: configuration: %v", err)
	}
	// As `portal serve` does: the demo's devices are found once, at start.
	var demoDevices []auth.Device
	if cfg.Demo {
		if demoDevices, err = demo.Devices(context.Background(), ownerURL); err != nil {
			_ = ln.Close()
			t.Fatalf("portaltest: demo devices: %v", err)
		}
	}

	catalog, err := i18n.New(logger)
	if err != nil {
		_ = ln.Close()
		t.Fatalf("portaltest: catalog: %v", err)
	}
	// The live layer as `portal serve` wires it: one hub, fed by one LISTEN
	// connection, ready before the first request.
	liveCtx, stopLive := context.WithCancel(context.Background())
	hub := live.NewHub(logger, live.Options{})
	hubDone := make(chan struct{})
	go func() { hub.Run(liveCtx); close(hubDone) }()
	listener := live.NewListener(store.Listener(ownerURL), hub, logger)
	go func() { _ = listener.Run(liveCtx) }()
	select {
	case <-listener.Ready():
	case <-time.After(30 * time.Second):
		stopLive()
		_ = ln.Close()
		t.Fatalf("portaltest: the live listener did not start")
	}
	queues := queue.New(db, nil)
	if s.queue != nil {
		s.queue(queues)
	}
	// Kiosk pages read their set-up from memory while the listener can
	// tell the instance when it changes.
	queues.CacheKiosks(listener.Listening)
	listener.Watch(queues.Forget)
	// The job queue polls through a pool of its own, so that what a request
	// costs the portal's pool can be counted without the queue's background
	// work in the figure.
	jobDB, err := store.Open(context.Background(), testdb.AppURL(ownerURL), 4)
	if err != nil {
		stopLive()
		_ = ln.Close()
		t.Fatalf("portaltest: open the job queue's pool: %v", err)
	}
	t.Cleanup(jobDB.Close)
	work := jobs.New(jobDB, jobs.Options{Logger: logger, Sender: s.push})
	queues.Register(work, catalog)
	taskQueue := tasks.NewService(db, nil)
	taskQueue.Register(work, catalog)
	queues.UseTasks(taskQueue)
	apis := api.New(db, nil)
	apis.Register(work, s.hooks)
	var reach *outreach.Service
	if s.outreach {
		reach = outreach.New(db, taskQueue, nil)
		reach.Register(work, catalog)
	}
	// Wired before the job queue starts running the services, as in
	// `portal serve`.
	srv, err := portal.New(portal.Deps{Config: cfg, DB: db, Logger: logger, Catalog: catalog, Version: "test",
		Queue: queues, Tasks: taskQueue, API: apis, Outreach: reach, Push: s.push, Hub: hub, DemoDevices: demoDevices, Collectors: append(db.Collectors(), live.Collector(hub, listener), work.Collector())})
	if err != nil {
		stopLive()
		_ = ln.Close()
		t.Fatalf("portaltest: build portal: %v", err)
	}
	if err := work.Start(context.Background()); err != nil {
		stopLive()
		_ = ln.Close()
		t.Fatalf("portaltest: start the job queue: %v", err)
	}

	served := make(chan error, 1)
	go func() { served <- srv.App().Listener(ln) }()
	t.Cleanup(func() {
		// Sockets first, as in `portal serve`: they hold no request open.
		stopLive()
		<-hubDone
		if err := srv.App().ShutdownWithTimeout(shutdownTimeout); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("portaltest: shutdown: %v", err)
		}
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("portaltest: serve: %v", err)
			}
		case <-time.After(shutdownTimeout):
			t.Errorf("portaltest: the server did not stop within %s", shutdownTimeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		if err := work.Stop(ctx); err != nil {
			t.Errorf("portaltest: stop the job queue: %v", err)
		}
	})

	return &Instance{
		URL:      "http://" + ln.Addr().String(),
		DB:       db,
		OwnerURL: ownerURL,
		Server:   srv,
		Config:   cfg,
		Hub:      hub,
		Listener: listener,
		API:      apis,
		Tasks:    taskQueue,
	}
}

// lockedBuffer takes the portal's log lines from its request goroutines
// while the test goroutine may read them.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
