package portal

import (
	"context"
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
)

// Limits of the topic form. A label must fit a kiosk tile.
const (
	maxTopicLabelLen = 80
	maxTopicPosition = 999
)

// prefixLetters are the ticket prefixes a topic may have: A–Z, as the
// database allows and every kiosk printer prints.
var prefixLetters = func() []string {
	out := make([]string, 0, 26)
	for r := 'A'; r <= 'Z'; r++ {
		out = append(out, string(r))
	}
	return out
}()

type topicInput struct {
	Labels    org.Labels
	Pictogram string
	Prefix    string
	Active    bool
	Position  int
}

// decodeTopicForm reads the topic form: a label in every language
// (Finnish required), a pictogram among those shipped, a prefix letter,
// whether the kiosk offers it, and its place in the kiosk's order.
func decodeTopicForm(v url.Values, pictograms []string) (topicInput, forms.Errors) {
	f := forms.New(v)
	in := topicInput{
		Labels:    decodeLabels(f, "label", maxTopicLabelLen),
		Pictogram: f.Choice("pictogram", true, pictograms...),
		Prefix:    f.Choice("prefix", true, prefixLetters...),
		Active:    f.Bool("active"),
	}
	if n, ok := f.Int("position", false, 0, maxTopicPosition); ok {
		in.Position = int(n)
	}
	return in, f.Errors
}

func topicValues(t org.Topic) url.Values {
	v := url.Values{"pictogram": {t.Pictogram}, "prefix": {t.Prefix}, "active": {boolValue(t.Active)},
		"position": {strconv.Itoa(t.Position)}}
	labelValues(v, "label", t.Labels)
	return v
}

type topicPage struct {
	Page
	SP         org.ServicePoint
	SPName     string
	New        bool
	TopicID    int64
	Form       formView
	Pictograms []string
	Letters    []string
}

// showTopicForm shows a topic, or the form for a new one.
func (s *Server) showTopicForm(c *fiber.Ctx) error {
	return s.renderTopicPage(c, fiber.StatusOK, nil, nil)
}

// submitTopic saves the topic form.
func (s *Server) submitTopic(c *fiber.Ctx) error {
	return submitSetupRow(c, setupRow[topicInput]{kind: "topic", anchor: "topics",
		decode: func(v url.Values, _ bool) (topicInput, forms.Errors) { return decodeTopicForm(v, Pictograms()) },
		again: func(c *fiber.Ctx, _ string, v url.Values, errs forms.Errors) error {
			return s.renderTopicPage(c, fiber.StatusUnprocessableEntity, v, errs)
		},
		save: func(ctx context.Context, actor auth.Principal, slug string, id int64, in topicInput) error {
			return s.org.SaveTopic(ctx, actor, slug, &org.Topic{ID: id, Labels: in.Labels, Pictogram: in.Pictogram, Prefix: in.Prefix,
				Active: in.Active, Position: in.Position})
		}})
}

// renderTopicPage shows the topic form: what was typed when typed is not
// nil, else the stored topic (or a new one's defaults).
func (s *Server) renderTopicPage(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors) error {
	id, _, err := rowParam(c, "topic")
	if err != nil {
		return err
	}
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	sp, topics, err := s.org.Topics(c.UserContext(), principal(c), slug)
	if err != nil {
		return err
	}
	page := topicPage{Page: s.page(c, ""), New: id == 0, TopicID: id, Pictograms: Pictograms(), Letters: prefixLetters}
	page.Body = "staff setup"
	page.SP, page.SPName = sp, spName(sp, page.T.Lang.Code)
	stored := url.Values{"active": {"1"}, "pictogram": {"other"}}
	if id != 0 {
		i := slices.IndexFunc(topics, func(t org.Topic) bool { return t.ID == id })
		if i < 0 {
			return errNotFound
		}
		stored = topicValues(topics[i])
		if page.Title = topics[i].Labels.In(page.T.Lang.Code); page.Title == "" {
			page.Title = page.T.Get("setup.topic.edit")
		}
	} else {
		// A new topic goes last and takes the first free letter.
		used := map[string]bool{}
		last := -1
		for _, t := range topics {
			used[t.Prefix] = true
			last = max(last, t.Position)
		}
		stored.Set("position", strconv.Itoa(min(last+1, maxTopicPosition)))
		for _, l := range prefixLetters {
			if !used[l] {
				stored.Set("prefix", l)
				break
			}
		}
		page.Title = page.T.Get("setup.topic.new")
	}
	if typed != nil {
		stored = typed
	}
	page.Form = newFormView(page.T, "", stored, errs)
	return s.renderStatus(c, status, "setup_topic", page)
}
