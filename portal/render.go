package portal

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/static"
)

//go:embed templates/*.html
var templateFiles embed.FS

// templates holds one parsed set per page: the page's file on top of the
// shared layout.
type templates struct {
	pages map[string]*template.Template
}

func loadTemplates(assets *static.Assets) (*templates, error) {
	funcs := template.FuncMap{
		"asset":     assets.URL,
		"pictogram": pictogram,
		// dict passes several values to a shared template block.
		"dict": func(kv ...any) map[string]any {
			m := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
		"join": strings.Join,
		// keypad is the check-in keypad's keys, in a telephone's order.
		"keypad": func() []string {
			return []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back"}
		},
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i
			}
			return out
		},
	}
	// Files named _*.html hold blocks that several pages share.
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return nil, err
	}
	entries, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, e := range entries {
		name := strings.TrimSuffix(strings.TrimPrefix(e, "templates/"), ".html")
		if name == "layout" || strings.HasPrefix(name, "_") {
			continue
		}
		clone, err := layout.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := clone.ParseFS(templateFiles, e); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		t.pages[name] = clone
	}
	return t, nil
}

// Page is what every page's template gets.
type Page struct {
	T         *i18n.T
	Title     string
	Path      string
	Languages []i18n.Language
	Body      string // a class on <body> naming the kind of screen
	Bare      bool   // no site header and footer: kiosk and waiting-room screens
	CSRF      string
	Staff     *auth.Principal // the logged-in staff member, if any
	// TaskCount is the staff member's unfinished tasks, for the count in
	// the navigation (kept live by tasks_live.js).
	TaskCount int
}

// Lang is the page's language (for <html lang dir>).
func (p Page) Lang() i18n.Language { return p.T.Lang }

// translator speaks the request's language; on a staff page, one the staff
// pages are written in, whatever was asked for (a staff member's remembered
// choice, an account's language), so that no staff page mixes languages.
func (s *Server) translator(c *fiber.Ctx) *i18n.T {
	l, ok := c.Locals(keyLang).(i18n.Language)
	if !ok {
		l = s.catalog.Negotiate("", "", "")
	}
	if !visitorPage(c.Path()) {
		l = s.catalog.ForStaff(l)
	}
	return s.catalog.For(l)
}

func (s *Server) page(c *fiber.Ctx, title string) Page {
	p := Page{T: s.translator(c), Title: title, Path: c.Path(), Languages: i18n.Languages}
	if !visitorPage(c.Path()) {
		p.Languages = i18n.StaffLanguages()
	}
	if sess, ok := session(c); ok {
		p.Staff = &sess.Principal
		if s.tasks != nil {
			// The count is a convenience: a page still shows without it,
			// and the live navigation fetches it again.
			if n, err := s.tasks.Count(c.UserContext(), sess.Principal); err == nil {
				p.TaskCount = n
			} else {
				s.logger.Warn("task count", "request_id", requestID(c), "err", err)
			}
		}
	}
	if s.db != nil {
		p.CSRF = s.csrfToken(c)
	}
	return p
}

// render executes a page into a buffer first, so a template error becomes
// a clean error page instead of half a page.
func (s *Server) render(c *fiber.Ctx, name string, data any) error {
	b, err := s.execute(name, data)
	if err != nil {
		return err
	}
	c.Type("html", "utf-8")
	return c.Send(b)
}

// execute draws a whole page.
func (s *Server) execute(name string, data any) ([]byte, error) {
	t, ok := s.templates.pages[name]
	if !ok {
		return nil, fmt.Errorf("no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// renderStatus renders a page with a status other than 200 (a form with
// errors comes back as 422, filled in).
func (s *Server) renderStatus(c *fiber.Ctx, status int, name string, data any) error {
	c.Status(status)
	return s.render(c, name, data)
}

// pictogram inlines a shipped pictogram so it takes the text colour
// (currentColor) of where it stands; an unknown name gives the "other" one.
func pictogram(name string) template.HTML {
	if svg, ok := pictogramSVG[name]; ok {
		return svg
	}
	return pictogramSVG["other"]
}

// pictogramSVG holds the shipped pictograms, read once: every kiosk page
// inlines several, and reading them from the embedded files copied each
// one on every request.
var pictogramSVG = func() map[string]template.HTML {
	out := map[string]template.HTML{}
	for _, name := range Pictograms() {
		b, _ := fs.ReadFile(static.FS, "pictograms/"+name+".svg")
		out[name] = template.HTML(b) // our own embedded files, not user input
	}
	return out
}()

// Pictograms lists the shipped pictogram names, for pickers.
func Pictograms() []string {
	entries, _ := fs.ReadDir(static.FS, "pictograms")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".svg"))
	}
	return names
}

// renderFragment renders one named block of a page alone: live screens
// fetch it to redraw after an event, with every text still localized here.
func (s *Server) renderFragment(c *fiber.Ctx, page, block string, data any) error {
	t, ok := s.templates.pages[page]
	if !ok {
		return fmt.Errorf("no template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, block, err)
	}
	c.Type("html", "utf-8")
	return c.Send(buf.Bytes())
}
