package portal

import (
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
)

// serveStatic answers /static/<hash>/<name>: cached for a year when the hash
// is current; an old hash still gets the file, but must revalidate.
func (s *Server) serveStatic(c *fiber.Ctx) error {
	name, current, ok := s.assets.Resolve(c.Params("*"))
	if !ok {
		return errNotFound
	}
	if current {
		c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	return s.sendEmbedded(c, name)
}

func (s *Server) sendEmbedded(c *fiber.Ctx, name string) error {
	b, ok := s.assets.Content(name)
	if !ok {
		return errNotFound
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".webmanifest":
		ct = "application/manifest+json"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	case ".woff2":
		ct = "font/woff2"
	case ".txt":
		ct = "text/plain; charset=utf-8"
	}
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(b)
}

// The service worker must live at the root to control every page, and must
// not be cached long, or a fix would take a year to reach phones.
func (s *Server) serveServiceWorker(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("Service-Worker-Allowed", "/")
	return s.sendEmbedded(c, "sw.js")
}

func (s *Server) serveManifest(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return s.sendEmbedded(c, "manifest.webmanifest")
}

func (s *Server) serveFavicon(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return s.sendEmbedded(c, "icons/icon.svg")
}
