package portal

import (
	"context"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
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
	return submitSetupRow(c, setupRow[referralInput]{kind: "referral", anchor: "referrals", decode: decodeReferralForm, again: s.againOnServicePointPage,
		save: func(ctx context.Context, actor auth.Principal, slug string, id int64, in referralInput) error {
			return s.org.SaveReferral(ctx, actor, slug, &org.Referral{ID: id, Names: in.Names, Active: in.Active})
		}})
}
