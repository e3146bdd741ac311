package portal

// routes lists every route of the portal, top to bottom.
func (s *Server) routes() {
	a := s.app
	a.Get("/healthz", s.showHealth)
	a.Get("/readyz", s.showReadiness)
	a.Get("/metrics", s.showMetrics)
	a.Get("/static/*", s.serveStatic)
	a.Get("/sw.js", s.serveServiceWorker)
	a.Get("/manifest.webmanifest", s.serveManifest)
	a.Get("/favicon.ico", s.serveFavicon)
	a.Get("/icon.svg", s.serveFavicon)

	a.Get("/", s.showStartPage)
}
