package portal

import (
	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/i18n"
)

// translationLanguage is one translated language on the leads' page: how
// many of its texts someone who knows it has read, and which are drafts.
type translationLanguage struct {
	Lang     i18n.Language
	Reviewed int
	Drafts   []i18n.Status
}

type translationsPage struct {
	Page
	Translations []translationLanguage
}

// showTranslations tells a lead how far each translation has been
// reviewed and lists every text still in draft, so that they know what to
// give a translator (who works from `portal translations export`).
func (s *Server) showTranslations(c *fiber.Ctx) error {
	if !principal(c).IsLeadAnywhere() {
		return errForbidden
	}
	p := translationsPage{Page: s.page(c, "")}
	p.Title = p.T.Get("translations.title")
	p.Body = "staff"
	for _, l := range i18n.Languages {
		if i18n.IsSource(l.Code) {
			continue
		}
		row := translationLanguage{Lang: l, Drafts: s.catalog.Drafts(l.Code)}
		row.Reviewed = len(s.catalog.Status(l.Code)) - len(row.Drafts)
		p.Translations = append(p.Translations, row)
	}
	return s.render(c, "translations", p)
}
