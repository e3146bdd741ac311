package portal

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
)

// maxDeskNameLen keeps a desk's name short enough for the display's
// "A 23 → desk 3" line.
const maxDeskNameLen = 40

type deskInput struct {
	Name   string
	Active bool
}

// decodeDeskForm reads the add-desk and rename-desk forms; a new desk is
// active, an existing one as its checkbox says.
func decodeDeskForm(v url.Values, isNew bool) (deskInput, forms.Errors) {
	f := forms.New(v)
	in := deskInput{Name: f.Text("name", true, maxDeskNameLen), Active: isNew || f.Bool("active")}
	return in, f.Errors
}

func deskValues(d org.Desk) url.Values {
	return url.Values{"name": {d.Name}, "active": {boolValue(d.Active)}}
}

// submitDesk adds a desk, or renames and switches one on or off.
func (s *Server) submitDesk(c *fiber.Ctx) error {
	return s.submitSetupRow(c, setupRow{kind: "desk", anchor: "desks", again: s.againOnServicePointPage,
		save: func(c *fiber.Ctx, slug string, id int64, v url.Values) (forms.Errors, error) {
			in, errs := decodeDeskForm(v, id == 0)
			if len(errs) > 0 {
				return errs, nil
			}
			return errs, s.org.SaveDesk(c.UserContext(), principal(c), slug, &org.Desk{ID: id, Name: in.Name, Active: in.Active})
		}})
}
