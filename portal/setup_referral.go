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

type referralInput struct {
	Names  org.Labels
	Active bool
}

// decodeReferralForm reads the referral service forms: a name per
// language (Finnish required); a new service is active.
func decodeReferralForm(v url.Values, isNew bool) (referralInput, forms.Errors) {
	f := forms.New(v)
	in := referralInput{Names: decodeLabels(f, "name", maxNameLen), Active: isNew || f.Bool("active")}
	return in, f.Errors
}

func referralValues(r org.Referral) url.Values {
	v := url.Values{"active": {boolValue(r.Active)}}
	labelValues(v, "name", r.Names)
	return v
}

// submitReferral adds a referral service, or renames and switches one on
// or off.
func (s *Server) submitReferral(c *fiber.Ctx) error {
	id, key, err := rowParam(c, "referral")
	if err != nil {
		return err
	}
	v := formValues(c)
	in, errs := decodeReferralForm(v, id == 0)
	var sp org.ServicePoint
	err = s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if sp, err = managedServicePoint(ctx, tx, c); err != nil {
			return err
		}
		if id != 0 {
			if _, err := org.GetReferral(ctx, tx, sp.ID, id); err != nil {
				return err
			}
		}
		if len(errs) > 0 {
			return errFormInvalid
		}
		r := org.Referral{ID: id, ServicePointID: sp.ID, Names: in.Names, Active: in.Active}
		return org.SaveReferral(ctx, tx, principal(c), &r)
	})
	if errors.Is(err, errFormInvalid) {
		return s.renderServicePointPage(c, fiber.StatusUnprocessableEntity, &failedForm{Key: key, Values: v, Errors: errs})
	} else if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+sp.Slug+"?saved=referral#referrals", fiber.StatusSeeOther)
}
