package org

import (
	"context"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/live"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Service is the set-up of a municipality on the database. Each method
// opens its own tenant transaction, checks the actor once through
// auth.Authorize, and returns what the set-up screens show.
type Service struct {
	db      sqldb.DB
	pairing Pairing
}

// New returns a Service; pairing hands out and ends device credentials.
func New(db sqldb.DB, pairing Pairing) *Service {
	return &Service{db: db, pairing: pairing}
}

// inTenant runs fn in the actor's tenant transaction: see InTenant.
func (s *Service) inTenant(ctx context.Context, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	return InTenant(ctx, s.db, actor, fn)
}

// InTenant runs fn in the actor's tenant transaction; a refusal's
// access-log row is written after the rollback (audit.InTenant).
func InTenant(ctx context.Context, db sqldb.DB, actor auth.Principal, fn func(tx sqldb.Tx) error) error {
	if actor.Tenant == 0 {
		return ErrForbidden
	}
	return audit.InTenant(ctx, db, actor.Tenant, fn)
}

// authorized runs fn in the actor's tenant transaction once auth.Authorize
// has confirmed that allowed holds for this actor there.
func (s *Service) authorized(ctx context.Context, actor auth.Principal, allowed bool, fn func(tx sqldb.Tx) error) error {
	return s.inTenant(ctx, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, allowed); err != nil {
			return err
		}
		return fn(tx)
	})
}

// managed runs fn on the service point named slug once the actor is known
// to manage it. Another municipality's service point is not found.
func (s *Service) managed(ctx context.Context, actor auth.Principal, slug string, fn func(tx sqldb.Tx, sp ServicePoint) error) error {
	return Managed(ctx, s.db, actor, slug, fn)
}

// Managed runs fn in the actor's tenant transaction on the service point
// named slug, once the actor is known to manage it; other domain packages'
// set-up of a service point goes through it too.
func Managed(ctx context.Context, db sqldb.DB, actor auth.Principal, slug string, fn func(tx sqldb.Tx, sp ServicePoint) error) error {
	return InTenant(ctx, db, actor, func(tx sqldb.Tx) error {
		sp, err := GetServicePointBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanManage(sp.ID)); err != nil {
			return err
		}
		return fn(tx, sp)
	})
}

// WorkPlaces lists the service points where the actor works, by slug.
func (s *Service) WorkPlaces(ctx context.Context, actor auth.Principal) ([]ServicePoint, error) {
	return s.servicePointsWhere(ctx, actor, true, actor.CanWork)
}

// ManagedServicePoints lists the service points the actor may set up; only
// a lead or an admin may ask.
func (s *Service) ManagedServicePoints(ctx context.Context, actor auth.Principal) ([]ServicePoint, error) {
	return s.servicePointsWhere(ctx, actor, actor.IsLeadAnywhere(), actor.CanManage)
}

func (s *Service) servicePointsWhere(ctx context.Context, actor auth.Principal, allowed bool, keep func(int64) bool) ([]ServicePoint, error) {
	var out []ServicePoint
	err := s.authorized(ctx, actor, allowed, func(tx sqldb.Tx) error {
		points, err := ListServicePoints(ctx, tx)
		for _, sp := range points {
			if keep(sp.ID) {
				out = append(out, sp)
			}
		}
		return err
	})
	return out, err
}

// Setup is a service point with everything its set-up page lists.
type Setup struct {
	ServicePoint ServicePoint
	Desks        []Desk
	Topics       []Topic
	Referrals    []Referral
}

// ServicePointSetup reads a service point the actor manages with its
// desks, topics and referral services.
func (s *Service) ServicePointSetup(ctx context.Context, actor auth.Principal, slug string) (Setup, error) {
	var out Setup
	err := s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		out.ServicePoint = sp
		var err error
		if out.Desks, err = ListDesks(ctx, tx, sp.ID); err != nil {
			return err
		}
		if out.Topics, err = ListTopics(ctx, tx, sp.ID, false); err != nil {
			return err
		}
		out.Referrals, err = ListReferrals(ctx, tx, sp.ID, false)
		return err
	})
	return out, err
}

// Topics reads a service point the actor manages with all its topics, in
// kiosk order.
func (s *Service) Topics(ctx context.Context, actor auth.Principal, slug string) (ServicePoint, []Topic, error) {
	var point ServicePoint
	var topics []Topic
	err := s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		point = sp
		var err error
		topics, err = ListTopics(ctx, tx, sp.ID, false)
		return err
	})
	return point, topics, err
}

// CreateServicePoint adds a service point; only a municipality admin may.
func (s *Service) CreateServicePoint(ctx context.Context, actor auth.Principal, sp *ServicePoint) error {
	if SlugReserved(sp.Slug) {
		return ErrSlugReserved
	}
	if err := sp.Hours.Check(); err != nil {
		return err
	}
	return s.authorized(ctx, actor, actor.IsAdmin(), func(tx sqldb.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO service_points (municipality_id, slug, names, time_zone, opening_hours, target_wait_minutes, max_recalls)
			VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id, municipality_id`,
			sp.Slug, sp.Names, sp.TimeZone, sp.Hours, sp.TargetWaitMinutes, sp.MaxRecalls).Scan(&sp.ID, &sp.Tenant)
		if sqldb.IsUniqueViolation(err) {
			return ErrSlugTaken
		}
		return err
	})
}

// UpdateServicePoint changes the names, time zone, hours and queue
// settings of the service point named slug; its lead or an admin may. The
// slug stays: printed QR codes and paired devices point at it.
func (s *Service) UpdateServicePoint(ctx context.Context, actor auth.Principal, slug string, sp *ServicePoint) error {
	if err := sp.Hours.Check(); err != nil {
		return err
	}
	return s.managed(ctx, actor, slug, func(tx sqldb.Tx, old ServicePoint) error {
		sp.ID, sp.Tenant, sp.Slug = old.ID, old.Tenant, old.Slug
		if err := execOne(ctx, tx, `UPDATE service_points SET names = $2, time_zone = $3, opening_hours = $4,
			target_wait_minutes = $5, max_recalls = $6 WHERE id = $1`,
			sp.ID, sp.Names, sp.TimeZone, sp.Hours, sp.TargetWaitMinutes, sp.MaxRecalls); err != nil {
			return err
		}
		return setupChanged(ctx, tx, sp.ID)
	})
}

// SaveDesk adds a desk to the service point named slug (d.ID 0), or
// changes one of its desks; another service point's desk is not found.
func (s *Service) SaveDesk(ctx context.Context, actor auth.Principal, slug string, d *Desk) error {
	return s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		d.ServicePointID = sp.ID
		var err error
		if d.ID == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO desks (municipality_id, service_point_id, name, active) VALUES (koto_tenant(), $1, $2, $3) RETURNING id`,
				d.ServicePointID, d.Name, d.Active).Scan(&d.ID)
		} else {
			err = execOne(ctx, tx, `UPDATE desks SET name = $3, active = $4 WHERE id = $1 AND service_point_id = $2`, d.ID, d.ServicePointID, d.Name, d.Active)
		}
		if sqldb.IsUniqueViolation(err) {
			return ErrNameTaken
		}
		return err
	})
}

// SaveTopic adds a topic to the service point named slug (t.ID 0), or
// changes one of its topics.
func (s *Service) SaveTopic(ctx context.Context, actor auth.Principal, slug string, t *Topic) error {
	return s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		t.ServicePointID = sp.ID
		var err error
		if t.ID == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO topics (municipality_id, service_point_id, labels, pictogram, prefix, active, position)
				VALUES (koto_tenant(), $1, $2, $3, $4, $5, $6) RETURNING id`,
				t.ServicePointID, t.Labels, t.Pictogram, t.Prefix, t.Active, t.Position).Scan(&t.ID)
		} else {
			err = execOne(ctx, tx, `UPDATE topics SET labels = $3, pictogram = $4, prefix = $5, active = $6, position = $7
				WHERE id = $1 AND service_point_id = $2`, t.ID, t.ServicePointID, t.Labels, t.Pictogram, t.Prefix, t.Active, t.Position)
		}
		if err != nil {
			return err
		}
		return setupChanged(ctx, tx, sp.ID)
	})
}

// setupChanged announces, in the change's transaction, that the service
// point's set-up as kiosks show it changed: instances that keep it in
// memory forget it once the change commits.
func setupChanged(ctx context.Context, tx sqldb.Tx, spID int64) error {
	return live.End(ctx, tx, live.SetupKey(spID))
}

// SaveReferral adds a referral service to the service point named slug
// (x.ID 0; it goes last in the list), or changes one of its services.
func (s *Service) SaveReferral(ctx context.Context, actor auth.Principal, slug string, x *Referral) error {
	return s.managed(ctx, actor, slug, func(tx sqldb.Tx, sp ServicePoint) error {
		x.ServicePointID = sp.ID
		if x.ID == 0 {
			return tx.QueryRow(ctx, `INSERT INTO referral_services (municipality_id, service_point_id, names, active, position)
				VALUES (koto_tenant(), $1, $2, $3, (SELECT coalesce(max(position), -1) + 1 FROM referral_services WHERE service_point_id = $1))
				RETURNING id`, x.ServicePointID, x.Names, x.Active).Scan(&x.ID)
		}
		return execOne(ctx, tx, `UPDATE referral_services SET names = $3, active = $4 WHERE id = $1 AND service_point_id = $2`,
			x.ID, x.ServicePointID, x.Names, x.Active)
	})
}
