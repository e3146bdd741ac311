package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/devdb"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/outreach"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/portal"
)

// database returns the owner URL to work with, starting the embedded
// default when no DATABASE_URL is set; stop undoes what it started.
func database(ctx context.Context, cfg config.Config, logger *slog.Logger) (url string, stop func(), err error) {
	if !cfg.Embedded() {
		return cfg.DatabaseURL, func() {}, nil
	}
	srv, err := devdb.Start(ctx, devdb.Options{DataDir: filepath.Join(cfg.DataDir, "postgres"), Logger: logger})
	if err != nil {
		return "", nil, err
	}
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Stop(sctx); err != nil {
			logger.Warn("embedded PostgreSQL did not stop cleanly", "err", err)
		}
	}
	if err := srv.EnsureDatabase(ctx, "koto"); err != nil {
		stop()
		return "", nil, err
	}
	return srv.URL("koto"), stop, nil
}

func migrateOnly(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	url, stop, err := database(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stop()
	cfg.Migrate = true
	return ensureSchema(ctx, cfg, url, logger)
}

// ensureSchema migrates when asked to (--migrate), and otherwise refuses a
// schema that is behind this binary: other instances may still run the old
// one, so migrating is the operator's deliberate step.
func ensureSchema(ctx context.Context, cfg config.Config, url string, logger *slog.Logger) error {
	if cfg.Migrate {
		n, err := store.Migrate(ctx, url)
		if err != nil {
			return err
		}
		logger.Info("schema is up to date", "applied", n, "version", store.LatestVersion())
		return nil
	}
	cur, target, err := store.SchemaVersion(ctx, url)
	if err != nil {
		return err
	}
	if cur < target {
		return fmt.Errorf("the database schema is at version %d, this portal needs %d: run `portal migrate` or add --migrate", cur, target)
	}
	return nil
}

func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	url, stopDB, err := database(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer stopDB()

	if err := ensureSchema(ctx, cfg, url, logger); err != nil {
		return err
	}

	appURL := cfg.AppDatabaseURL
	if cfg.Embedded() {
		// Our own cluster: the app role logs in by itself, so no pooled
		// connection ever holds the owner's rights.
		if appURL, err = store.EnableAppLogin(ctx, url); err != nil {
			return err
		}
	} else if appURL == "" {
		appURL = url
	}
	db, err := store.Open(ctx, appURL, cfg.MaxDBConns)
	if err != nil {
		return err
	}
	defer db.Close()

	var demoDevices []auth.Device
	if cfg.Demo {
		password, generated, err := demoPassword(cfg)
		if err != nil {
			return err
		}
		if err := demo.Seed(ctx, url, password); err != nil {
			return err
		}
		if demoDevices, err = demo.Devices(ctx, url); err != nil {
			return err
		}
		if generated {
			// Printed to the terminal, not the log: it is a secret.
			fmt.Fprintf(os.Stderr, "\n  Demo staff login: %s (also %s, %s), password: %s\n  It is kept in %s; set PORTAL_DEMO_PASSWORD to choose it.\n\n",
				demo.LeadEmail, demo.ExpertEmail, demo.AdminEmail, password, filepath.Join(cfg.DataDir, "demo-password"))
		}
	}

	catalog, err := i18n.New(logger)
	if err != nil {
		return err
	}
	sender, err := pushSender(cfg, logger)
	if err != nil {
		return err
	}

	// The live layer: one hub, fed by one LISTEN connection to PostgreSQL.
	liveCtx, stopLive := context.WithCancel(context.Background())
	defer stopLive()
	hub := live.NewHub(logger, live.Options{})
	go hub.Run(liveCtx)
	listener := live.NewListener(store.Listener(url), hub, logger)
	go func() { _ = listener.Run(liveCtx) }()

	queues := queue.New(db, nil)
	queues.FloodLimit = cfg.KioskFloodLimit
	// Kiosk pages read their set-up from memory while the listener can
	// tell the instance when it changes.
	queues.CacheKiosks(listener.Listening)
	listener.Watch(queues.Forget)
	staffAuth := auth.New(db, nil)
	// Durable jobs: ticket pushes, the day closing, the session sweep and
	// webhook deliveries.
	// Not tied to ctx, which ends at SIGTERM: the jobs in hand get to
	// finish below.
	work := jobs.New(db, jobs.Options{Logger: logger, Sender: sender})
	queues.Register(work, catalog)
	staffAuth.Register(work)
	taskQueue := tasks.NewService(db, nil)
	taskQueue.Register(work, catalog)
	queues.UseTasks(taskQueue)
	reach := outreach.New(db, taskQueue, nil)
	reach.SetCampaignRate(cfg.CampaignRate)
	reach.Register(work, catalog)
	apis := api.New(db, nil)
	apis.Register(work, api.HookOptions{})
	// The portal wires its services together before the job queue starts
	// running them.
	srv, err := portal.New(portal.Deps{Config: cfg, DB: db, Logger: logger, Catalog: catalog, Version: version,
		Auth: staffAuth, Queue: queues, Tasks: taskQueue, Outreach: reach, API: apis, Push: sender, Hub: hub, DemoDevices: demoDevices,
		Collectors: append(db.Collectors(), live.Collector(hub, listener), work.Collector())})
	if err != nil {
		return err
	}
	if err := work.Start(context.Background()); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := work.Stop(sctx); err != nil {
			logger.Warn("stopping the job queue", "err", err)
		}
	}()

	stopOps, err := serveOps(cfg, srv, logger)
	if err != nil {
		return err
	}
	defer stopOps()

	errc := make(chan error, 1)
	go func() { errc <- srv.App().Listen(cfg.Addr) }()
	logger.Info("Koto Portal is listening", "addr", cfg.Addr, "url", cfg.PublicURL(), "version", version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	// Websockets close first (with a close frame, so screens reconnect to
	// another instance at once); then requests in flight finish.
	stopLive()
	if err := srv.App().ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		logger.Warn("shutdown", "err", err)
	}
	return nil
}

// serveOps listens on the private PORTAL_METRICS_ADDR for /metrics and the
// profiler; an address that cannot be had stops the start, as the public
// one does.
func serveOps(cfg config.Config, srv *portal.Server, logger *slog.Logger) (stop func(), err error) {
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("PORTAL_METRICS_ADDR=%s: %w (give each instance its own, or off)", cfg.MetricsAddr, err)
	}
	// No write timeout: a CPU profile streams for as long as it was asked.
	ops := &http.Server{Handler: srv.OpsHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ops.Serve(ln) }()
	logger.Info("metrics and profiler are listening", "addr", ln.Addr().String())
	return func() { _ = ops.Close() }, nil
}

// pushSender builds the Web Push sender, or nil (push off) without keys.
func pushSender(cfg config.Config, logger *slog.Logger) (*push.Sender, error) {
	public, private, err := vapidKeys(cfg)
	if err != nil || public == "" {
		if public == "" && err == nil {
			logger.Warn("Web Push is off: set PORTAL_VAPID_PUBLIC_KEY and PORTAL_VAPID_PRIVATE_KEY (portal vapid-keys prints a pair)")
		}
		return nil, err
	}
	subject := cfg.VAPIDSubject
	if subject == "" {
		subject = "mailto:admin@example.org"
		logger.Warn("PORTAL_VAPID_SUBJECT is unset: push services may refuse a placeholder contact", "subject", subject)
	}
	pc := push.Config{VAPIDPublicKey: public, VAPIDPrivateKey: private, Subject: subject}
	if len(cfg.PushAllowedHosts) > 0 {
		pc.AllowedHosts = cfg.PushAllowedHosts
	}
	return push.NewSender(pc)
}
