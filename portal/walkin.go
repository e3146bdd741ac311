package portal

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
)

var zeroTime time.Time

// servicePoint reads the device's service point.
func (s *Server) servicePoint(c *fiber.Ctx, tenant, id int64) (org.ServicePoint, error) {
	var sp org.ServicePoint
	err := s.db.InTenant(c.UserContext(), tenant, func(tx pgx.Tx) error {
		var err error
		sp, err = org.GetServicePoint(c.UserContext(), tx, id)
		return err
	})
	return sp, err
}

// topicsByID reads a service point's topics (active or not: a transferred
// ticket may carry a retired one) keyed by id.
func (s *Server) topicsByID(c *fiber.Ctx, tenant, spID int64) (map[int64]org.Topic, []org.Topic, error) {
	var topics []org.Topic
	err := s.db.InTenant(c.UserContext(), tenant, func(tx pgx.Tx) error {
		var err error
		topics, err = org.ListTopics(c.UserContext(), tx, spID, false)
		return err
	})
	byID := make(map[int64]org.Topic, len(topics))
	for _, t := range topics {
		byID[t.ID] = t
	}
	return byID, topics, err
}

// languageName is a language's own name, or its code when unknown.
func (s *Server) languageName(code string) string {
	if l, ok := s.catalog.Lookup(code); ok {
		return l.Name
	}
	return code
}

// waitText says an estimated wait as a range in whole minutes.
func waitText(t *i18n.T, min, max time.Duration) string {
	lo, hi := int(min.Minutes()+0.5), int(max.Minutes()+0.5)
	if hi <= 0 {
		return t.Get("wait.soon")
	}
	if lo == hi {
		return t.Plural("wait.about", hi)
	}
	return t.Get("wait.range", "Min", lo, "Max", hi)
}

// opensText says when a closed service point opens next, in its own zone.
func opensText(t *i18n.T, at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return t.Get("kiosk.closed_no_hours")
	}
	local := at.In(loc)
	day := t.Get("day." + local.Weekday().String())
	return t.Get("kiosk.opens", "Day", day, "Time", local.Format("15:04"))
}
