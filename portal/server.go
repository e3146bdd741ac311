// Package portal is the web layer: the Fiber app, its routes and middleware,
// the page handlers, templates and the websocket endpoint. Rules live in the
// internal domain packages; this package turns requests into calls on them.
package portal

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/koto-portal/portal/internal/api"
	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/camscan"
	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/outreach"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/queue"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/stats"
	"github.com/koto-portal/portal/internal/summary"
	"github.com/koto-portal/portal/internal/tasks"
	"github.com/koto-portal/portal/static"
)

// Database is what the web layer needs of the database: the domain
// services are built on it, and readiness asks whether its schema is the
// one this binary carries. It names no driver (internal/store is one).
type Database interface {
	sqldb.DB
	CheckSchema(ctx context.Context) error
}

// Deps is what the web layer is built from.
type Deps struct {
	Config  config.Config
	DB      Database
	Logger  *slog.Logger
	Catalog *i18n.Catalog
	Auth    *auth.Service
	Queue   *queue.Service
	// Tasks is the task queue; other domain services create tasks through
	// it inside their own transactions (tasks.Service.Create).
	Tasks *tasks.Service
	// Outreach reaches clients' phones; nil builds one on DB whose
	// reminders are not sent from this process.
	Outreach *outreach.Service
	// API is the JSON API's keys, limits and webhooks; nil builds one
	// whose webhooks cannot be delivered (no job queue).
	API     *api.Service
	Push    *push.Sender // nil: Web Push is switched off
	Hub     *live.Hub
	Version string
	// Collectors are the other layers' figures for /metrics (the
	// database pool's, the live layer's counters, the job queue's).
	Collectors []prometheus.Collector
	// DemoDevices are the demo's kiosk and display, as seeding found them:
	// in demo mode a browser without a device cookie acts as these.
	DemoDevices []auth.Device
}

// Server holds the app and everything its handlers share.
type Server struct {
	cfg          config.Config
	db           Database
	logger       *slog.Logger
	catalog      *i18n.Catalog
	auth         *auth.Service
	queue        *queue.Service
	tasks        *tasks.Service
	clients      *clients.Service
	summary      *summary.Service
	appointments *appointments.Service
	outreach     *outreach.Service
	stats        *stats.Service
	org          *org.Service
	api          *api.Service
	contract     *apiContract
	push         *push.Sender
	hub          *live.Hub
	demoDevices  []auth.Device
	phrases      string // the display's spoken call in every language, as JSON
	assets       *static.Assets
	templates    *templates
	kioskPages   *kioskPages
	metrics      *metrics
	endpoints    map[string][]string // method → route patterns, in the order they match
	proxies      []netip.Prefix      // PORTAL_TRUSTED_PROXIES
	sockets      *live.Caps          // open websockets per ticket and per client address
	version      string
	app          *fiber.App
}

// BodyLimit caps every request body; forms and JSON here are small. The
// API's client transfer takes up to TransferBodyLimit (a thousand clients)
// and the staff's CSV import up to ImportBodyLimit (the largest file the
// import reads, and the form around it): the server reads that much, and
// limitBody holds everything else to BodyLimit.
const (
	BodyLimit         = 64 * 1024
	TransferBodyLimit = 2 * 1024 * 1024
	ImportBodyLimit   = clients.MaxImportBytes + BodyLimit
)

// largeBodies are the requests allowed more than BodyLimit, and how much.
var largeBodies = map[string]int{
	apiBase + "/clients/transfer": TransferBodyLimit,
	"/staff/clients/import":       ImportBodyLimit,
}

// limitBody refuses a body over BodyLimit, except those of largeBodies
// and a kiosk's camera frames (camscan.MaxBytes).
func limitBody(c *fiber.Ctx) error {
	limit := BodyLimit
	if n, ok := largeBodies[c.Path()]; ok && c.Method() == fiber.MethodPost {
		limit = n
	} else if c.Method() == fiber.MethodPost && isCheckInFrame(c.Path()) {
		limit = camscan.MaxBytes
	}
	if len(c.Request().Body()) > limit {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// New builds the portal's HTTP app.
func New(d Deps) (*Server, error) {
	assets, err := static.Load()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: d.Config, db: d.DB, logger: d.Logger, catalog: d.Catalog, assets: assets, version: d.Version,
		auth: d.Auth, queue: d.Queue, tasks: d.Tasks, api: d.API, push: d.Push, hub: d.Hub, sockets: live.NewCaps(),
		kioskPages: newKioskPages()}
	if d.Config.Demo {
		s.demoDevices = d.DemoDevices
	}
	s.phrases = s.callPhrases()
	if s.proxies, err = parseProxies(d.Config.TrustedProxies); err != nil {
		return nil, err
	}
	if s.auth == nil && d.DB != nil {
		s.auth = auth.New(d.DB, nil)
	}
	if s.queue == nil && d.DB != nil {
		s.queue = queue.New(d.DB, nil)
	}
	if d.DB != nil {
		s.appointments = appointments.New(d.DB, nil)
	}
	if s.tasks == nil && d.DB != nil {
		s.tasks = tasks.NewService(d.DB, nil)
	}
	if d.DB != nil {
		s.summary = summary.New(d.DB, summary.Parts(), nil)
		s.stats, s.org = stats.New(d.DB, s.tasks), org.New(d.DB, s.auth)
		s.outreach = d.Outreach
		if s.outreach == nil {
			s.outreach = outreach.New(d.DB, s.tasks, nil)
		}
		s.clients = clients.New(d.DB, nil)
		// What other packages keep about a client goes with the client's
		// export and erasure: each registers its part here.
		s.clients.AddPart(clients.Part{Name: "tasks", Export: tasks.ExportClient, Erase: tasks.EraseClient})
		s.clients.AddPart(appointments.ClientPart())
		s.clients.AddPart(outreach.ClientPart())
	}
	if s.api == nil && d.DB != nil {
		s.api = api.New(d.DB, nil)
	}
	if d.DB != nil {
		// What other systems may hear of is recorded in the transaction
		// of the change itself, for the API's webhooks to deliver. Wired
		// here, before the job queue starts and runs these services.
		for _, svc := range []interface{ UseEvents(events.Sink) }{s.clients, s.tasks, s.queue, s.outreach} {
			svc.UseEvents(s.api)
		}
	}
	if s.contract, err = loadContract(); err != nil {
		return nil, err
	}
	if s.templates, err = loadTemplates(assets); err != nil {
		return nil, err
	}
	s.metrics = newMetrics()
	s.metrics.registry.MustRegister(d.Collectors...)
	if d.Hub != nil {
		s.metrics.gauge("koto_websocket_connections", "Open websocket connections (live screens).",
			func() float64 { return float64(d.Hub.Count()) })
	}
	s.app = fiber.New(fiber.Config{
		// Immutable copies every string Fiber hands out, so nothing we keep
		// past a handler points into a reused buffer.
		Immutable:             true,
		BodyLimit:             ImportBodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		AppName:               "koto-portal",
		// X-Forwarded-Proto and X-Forwarded-Host decide the cookies' Secure
		// flag and the Origin check: only the proxies we run may set them.
		EnableTrustedProxyCheck: true,
		TrustedProxies:          d.Config.TrustedProxies,
	})
	s.app.Use(withRequestID, s.accessLog, recover.New(), s.securityHeaders, s.withLanguage, limitBody, s.withClientAddr, s.skipForAssets(s.withSession), s.checkCSRF)
	s.routes()
	s.endpoints = map[string][]string{}
	for _, r := range s.app.GetRoutes(true) {
		s.endpoints[r.Method] = append(s.endpoints[r.Method], r.Path)
	}
	// Anything no route took is a localized 404.
	s.app.Use(func(c *fiber.Ctx) error { return errNotFound })
	return s, nil
}

// App is the Fiber app, for listening and for tests.
func (s *Server) App() *fiber.App { return s.app }

// skipForAssets runs h except for assets, operations endpoints and the
// JSON API, which need no session (and should not cost a database round
// trip each): an API call comes with a key instead.
func (s *Server) skipForAssets(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p := c.Path()
		if strings.HasPrefix(p, "/static/") || p == "/healthz" || p == "/readyz" || isKeyAPI(p) || s.db == nil {
			return c.Next()
		}
		return h(c)
	}
}
