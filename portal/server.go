// Package portal is the web layer: the Fiber app, its routes and middleware,
// the page handlers, templates and the websocket endpoint. Rules live in the
// internal domain packages; this package turns requests into calls on them.
package portal

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/static"
)

// Deps is what the web layer is built from.
type Deps struct {
	Config  config.Config
	DB      *store.DB
	Logger  *slog.Logger
	Catalog *i18n.Catalog
	Version string
}

// Server holds the app and everything its handlers share.
type Server struct {
	cfg       config.Config
	db        *store.DB
	logger    *slog.Logger
	catalog   *i18n.Catalog
	assets    *static.Assets
	templates *templates
	metrics   *metrics
	version   string
	app       *fiber.App
}

// BodyLimit caps every request body; forms and JSON here are small.
const BodyLimit = 64 * 1024

// New builds the portal's HTTP app.
func New(d Deps) (*Server, error) {
	assets, err := static.Load()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: d.Config, db: d.DB, logger: d.Logger, catalog: d.Catalog, assets: assets, version: d.Version}
	if s.templates, err = loadTemplates(assets); err != nil {
		return nil, err
	}
	s.metrics = newMetrics(d.DB)
	s.app = fiber.New(fiber.Config{
		// Immutable copies every string Fiber hands out, so nothing we keep
		// past a handler points into a reused buffer.
		Immutable:             true,
		BodyLimit:             BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		AppName:               "koto-portal",
	})
	s.app.Use(withRequestID, s.accessLog, recover.New(), s.securityHeaders, s.withLanguage)
	s.routes()
	// Anything no route took is a localized 404.
	s.app.Use(func(c *fiber.Ctx) error { return errNotFound })
	return s, nil
}

// App is the Fiber app, for listening and for tests.
func (s *Server) App() *fiber.App { return s.app }
