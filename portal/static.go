package portal

import (
	"io/fs"
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/static"
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
	return sendEmbedded(c, name)
}

func sendEmbedded(c *fiber.Ctx, name string) error {
	b, err := fs.ReadFile(static.FS, name)
	if err != nil {
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
	}
	c.Set(fiber.HeaderContentType, ct)
	return c.Send(b)
}

// The service worker must live at the root to control every page, and must
// not be cached long, or a fix would take a year to reach phones.
func (s *Server) serveServiceWorker(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("Service-Worker-Allowed", "/")
	return sendEmbedded(c, "sw.js")
}

func (s *Server) serveManifest(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return sendEmbedded(c, "manifest.webmanifest")
}

func (s *Server) serveFavicon(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	return sendEmbedded(c, "icons/icon.svg")
}
