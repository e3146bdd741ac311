package portal

import (
	"context"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
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
	return submitSetupRow(c, setupRow[deskInput]{kind: "desk", anchor: "desks", decode: decodeDeskForm, again: s.againOnServicePointPage,
		save: func(ctx context.Context, actor auth.Principal, slug string, id int64, in deskInput) error {
			return s.org.SaveDesk(ctx, actor, slug, &org.Desk{ID: id, Name: in.Name, Active: in.Active})
		}})
}
