package portal

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/queue"
)

type displayCall struct {
	ID       int64
	Label    string
	Desk     string
	Language string
}

type displayCount struct {
	Label, Pictogram string
	Waiting          int
}

type displayPage struct {
	Page
	Slug    string
	SPName  string
	Now     []displayCall // being called or served now
	Recent  []displayCall // the last calls before those
	Counts  []displayCount
	Phrases string // JSON: language → "call" phrase, for the spoken call
}

// showDisplay is the waiting-room screen: who is called to which desk, the
// last calls, and how many wait per topic. No personal data exists to show.
func (s *Server) showDisplay(c *fiber.Ctx) error {
	screen, err := s.queue.DisplayScreen(c.UserContext(), s.deviceOf(c, auth.KindDisplay))
	if errors.Is(err, queue.ErrUnknownDevice) {
		return errNotPaired
	} else if err != nil {
		return err
	}
	state := screen.State
	byID := make(map[int64]queue.Topic, len(screen.Topics))
	for _, t := range screen.Topics {
		byID[t.ID] = t
	}
	p := s.page(c, "")
	p.Body, p.Bare = "display", true
	p.Title = p.T.Get("display.title")
	dp := displayPage{Page: p, Slug: screen.Slug, SPName: screen.Names.In(p.T.Lang.Code), Phrases: s.phrases}
	seen := map[int64]bool{}
	for _, t := range state.Active {
		if t.State == queue.Called || t.State == queue.Serving {
			dp.Now = append(dp.Now, displayCall{ID: t.ID, Label: t.Label(), Desk: t.DeskName, Language: t.Language})
			seen[t.ID] = true
		}
	}
	for _, t := range state.RecentCalls {
		if !seen[t.ID] && len(dp.Recent) < 6 {
			dp.Recent = append(dp.Recent, displayCall{ID: t.ID, Label: t.Label(), Desk: t.DeskName})
		}
	}
	for _, tc := range state.Topics {
		t := byID[tc.TopicID]
		dp.Counts = append(dp.Counts, displayCount{Label: t.Labels.In(p.T.Lang.Code), Pictogram: t.Pictogram, Waiting: tc.Waiting})
	}
	c.Set("X-Live-Seq", strconv.FormatInt(state.Seq, 10))
	c.Set(fiber.HeaderCacheControl, "no-store")
	if c.Query("fragment") == "1" {
		return s.renderFragment(c, "display", "live", dp)
	}
	return s.render(c, "display", dp)
}

// callPhrases is the spoken call in every language ("number {label}, desk
// {desk}"), so the display can speak it in the visitor's own language.
func (s *Server) callPhrases() string {
	m := map[string]string{}
	for _, l := range i18n.Languages {
		m[l.Code] = s.catalog.For(l).Get("display.spoken_call", "Number", "{label}", "Desk", "{desk}")
	}
	b, _ := json.Marshal(m)
	return string(b)
}
