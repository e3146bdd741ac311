package stats

import (
	"context"
	"errors"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// Service records visits and reads statistics, each call in one tenant
// transaction with the actor checked once.
type Service struct {
	db    sqldb.DB
	tasks *tasks.Service
}

// New returns a Service over the database; follow-ups of visits become
// tasks through t.
func New(db sqldb.DB, t *tasks.Service) *Service { return &Service{db: db, tasks: t} }

// FormRequest names what the visit form is for: a finished ticket, or a
// contact at the service point Slug (a form sent back names both). With
// neither, the form is for the actor's only service point, or asks them to
// choose one.
type FormRequest struct {
	TicketID int64
	Slug     string
}

// Form is what the visit form offers.
type Form struct {
	// Points are the service points the actor works at.
	Points []org.ServicePoint
	// Point is the one the form is for; nil when the actor must choose.
	Point *org.ServicePoint
	// Ticket is the finished ticket the visit is recorded for, if any.
	Ticket    *Ticket
	Topics    []org.Topic    // of Point, switched-off ones included (a ticket may carry one)
	Referrals []org.Referral // of Point, active ones
}

// VisitForm reads the visit form. A ticket or service point of the tenant
// that the actor does not work at is ErrForbidden; one that does not exist
// is ErrUnknownTicket or sqldb.ErrNotFound.
func (s *Service) VisitForm(ctx context.Context, actor auth.Principal, r FormRequest) (Form, error) {
	var f Form
	err := s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		all, err := org.ListServicePoints(ctx, tx)
		if err != nil {
			return err
		}
		f.Points = keep(all, actor.CanWork)
		var point *org.ServicePoint
		switch {
		case r.Slug != "":
			if point = find(all, func(sp org.ServicePoint) bool { return sp.Slug == r.Slug }); point == nil {
				return sqldb.ErrNotFound
			}
		case r.TicketID > 0:
			t, err := getTicket(ctx, tx, r.TicketID)
			if err != nil {
				return err
			}
			point = find(all, func(sp org.ServicePoint) bool { return sp.ID == t.ServicePointID })
		case len(f.Points) == 1:
			point = &f.Points[0]
		case len(f.Points) > 1:
			return nil // the actor chooses among f.Points
		}
		if err := auth.Authorize(ctx, tx, actor, point != nil && actor.CanWork(point.ID)); err != nil {
			return err
		}
		f.Point = point
		if r.TicketID > 0 {
			// With both, the service point decides and a ticket of
			// another one is left out (its visit is refused on saving).
			t, err := getTicket(ctx, tx, r.TicketID)
			if err == nil && t.ServicePointID == point.ID {
				f.Ticket = &t
			} else if err != nil && !errors.Is(err, ErrUnknownTicket) {
				return err
			}
		}
		if f.Topics, err = org.ListTopics(ctx, tx, point.ID, false); err != nil {
			return err
		}
		f.Referrals, err = org.ListReferrals(ctx, tx, point.ID, true)
		return err
	})
	if err != nil {
		return Form{}, err
	}
	return f, nil
}

// keep lists the service points the actor holds a right in.
func keep(points []org.ServicePoint, may func(servicePointID int64) bool) []org.ServicePoint {
	var out []org.ServicePoint
	for _, sp := range points {
		if may(sp.ID) {
			out = append(out, sp)
		}
	}
	return out
}

func find(points []org.ServicePoint, match func(org.ServicePoint) bool) *org.ServicePoint {
	for i := range points {
		if match(points[i]) {
			return &points[i]
		}
	}
	return nil
}

// Record validates a visit at the service point slug and stores it,
// returning its id; see record for the rules.
func (s *Service) Record(ctx context.Context, actor auth.Principal, slug string, v Visit) (int64, error) {
	var id int64
	err := s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		sp, err := org.GetServicePointBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		v.ServicePointID = sp.ID
		if id, err = record(ctx, tx, actor, v); err != nil || v.FollowUp == nil {
			return err
		}
		// In the visit's transaction: the task exists exactly when the
		// visit was recorded.
		n := tasks.New{Kind: tasks.KindWalkIn, ServicePointID: sp.ID, Details: v.FollowUp.Note, By: actor.StaffID}
		if v.FollowUp.ToMe {
			n.AssigneeID = actor.StaffID
		}
		_, _, err = s.tasks.Create(ctx, tx, n)
		return err
	})
	return id, err
}

// Statistics reads the statistics of the service points the actor may
// read (an admin: all of the municipality's; a lead: those they lead).
// choose gets those points and returns the filter over them, or false
// when the request is wrong, and then no report is read (nil).
func (s *Service) Statistics(ctx context.Context, actor auth.Principal, choose func([]org.ServicePoint) (Filter, bool)) ([]org.ServicePoint, *Report, error) {
	var points []org.ServicePoint
	var report *Report
	err := s.db.InTenant(ctx, actor.Tenant, func(tx sqldb.Tx) error {
		all, err := org.ListServicePoints(ctx, tx)
		if err != nil {
			return err
		}
		points = keep(all, actor.CanManage)
		if len(points) == 0 {
			return ErrForbidden
		}
		f, ok := choose(points)
		if !ok {
			return nil
		}
		report, err = load(ctx, tx, actor, f)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return points, report, nil
}
