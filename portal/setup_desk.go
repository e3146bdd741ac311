package portal

import (
	"context"
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

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
	id, key, err := rowParam(c, "desk")
	if err != nil {
		return err
	}
	v := formValues(c)
	in, errs := decodeDeskForm(v, id == 0)
	var sp org.ServicePoint
	err = s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if sp, err = managedServicePoint(ctx, tx, c); err != nil {
			return err
		}
		if id != 0 {
			if _, err := org.GetDesk(ctx, tx, sp.ID, id); err != nil {
				return err
			}
		}
		if len(errs) > 0 {
			return errFormInvalid
		}
		d := org.Desk{ID: id, ServicePointID: sp.ID, Name: in.Name, Active: in.Active}
		err = org.SaveDesk(ctx, tx, principal(c), &d)
		if errors.Is(err, org.ErrNameTaken) {
			errs["name"] = "setup.desk_name_taken"
			return errFormInvalid
		}
		return err
	})
	if errors.Is(err, errFormInvalid) {
		return s.renderServicePointPage(c, fiber.StatusUnprocessableEntity, &failedForm{Key: key, Values: v, Errors: errs})
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+sp.Slug+"?saved=desk#desks", fiber.StatusSeeOther)
}
