package appointments

import (
	"context"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Day is one day's appointments of an expert or a service point, by time.
type Day struct {
	// Date is the day's midnight in Location.
	Date     time.Time
	Location *time.Location
	// Title names whose day it is: the expert's name, or the service
	// point's address name (the screen shows its name in the reader's
	// language from Point).
	StaffName string
	Point     org.ServicePoint
	Items     []Appointment
	// Overlapping marks the appointments that meet another one of the
	// same expert that is not cancelled: a double booking.
	Overlapping map[int64]bool
}

// helsinki is the zone of an expert's day.
var helsinki = org.Zone("Europe/Helsinki")

// dayBounds is the day of date (its calendar day) in loc.
func dayBounds(date time.Time, loc *time.Location) (time.Time, time.Time) {
	y, m, d := date.Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, loc)
	return start, time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// ExpertDay reads an expert's appointments of one day (staffID 0: the
// actor's own). Another expert's day shows only the appointments at the
// service points where the actor works. Days are Helsinki's: every
// service point of the portal is in Finland.
func (s *Service) ExpertDay(ctx context.Context, actor auth.Principal, staffID int64, date time.Time) (Day, error) {
	if staffID == 0 {
		staffID = actor.StaffID
	}
	start, end := dayBounds(date, helsinki)
	out := Day{Date: start, Location: helsinki}
	err := org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		if err := auth.Authorize(ctx, tx, actor, true); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT name FROM staff WHERE id = $1`, staffID).Scan(&out.StaffName); err != nil {
			return sqldb.NotFound(err)
		}
		all, err := list(ctx, tx, `WHERE a.staff_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3 ORDER BY a.starts_at, a.id`,
			staffID, start, end)
		if err != nil {
			return err
		}
		for _, a := range all {
			if staffID == actor.StaffID || actor.CanWork(a.ServicePointID) {
				out.Items = append(out.Items, a)
			}
		}
		return logClients(ctx, tx, actor, audit.ActionRead, out.Items)
	})
	if err != nil {
		return Day{}, err
	}
	out.Overlapping = overlapping(out.Items)
	return out, nil
}

// PointDay reads a service point's appointments of one day, in its zone.
func (s *Service) PointDay(ctx context.Context, actor auth.Principal, slug string, date time.Time) (Day, error) {
	var out Day
	err := org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		sp, err := org.GetServicePointBySlug(ctx, tx, slug)
		if err != nil {
			return err
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanWork(sp.ID)); err != nil {
			return err
		}
		loc := sp.Location()
		start, end := dayBounds(date, loc)
		out = Day{Date: start, Location: loc, Point: sp}
		if out.Items, err = list(ctx, tx, `WHERE a.service_point_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3
			ORDER BY a.starts_at, st.name, a.id`, sp.ID, start, end); err != nil {
			return err
		}
		return logClients(ctx, tx, actor, audit.ActionRead, out.Items)
	})
	if err != nil {
		return Day{}, err
	}
	out.Overlapping = overlapping(out.Items)
	return out, nil
}

// overlapping finds the double bookings among a day's appointments.
func overlapping(items []Appointment) map[int64]bool {
	out := map[int64]bool{}
	for i, a := range items {
		if a.Status.Cancelled() {
			continue
		}
		for _, b := range items[i+1:] {
			if !b.Status.Cancelled() && a.StaffID == b.StaffID && a.Overlaps(b) {
				out[a.ID], out[b.ID] = true, true
			}
		}
	}
	return out
}
