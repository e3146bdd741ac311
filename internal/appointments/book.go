package appointments

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// Limits of a booking's length.
const (
	MinMinutes = 5
	MaxMinutes = 480
)

// Expert is a staff member who can be booked at a service point.
type Expert struct {
	ID   int64
	Name string
}

// Place is a service point where the actor may book, with what a booking
// there may name.
type Place struct {
	org.ServicePoint
	Desks   []org.Desk  // active ones
	Topics  []org.Topic // active ones
	Experts []Expert    // active staff who work there
}

// Form is what the booking form shows: the client and the places.
type Form struct {
	ClientID    int64
	ClientName  string
	Interpreter string // the client's interpreter language, "" for none
	ClientPoint int64  // the client's own service point
	Places      []Place
}

// BookingForm reads what booking an appointment for a client offers: the
// service points where the actor works, each with its desks, topics and
// experts.
func (s *Service) BookingForm(ctx context.Context, actor auth.Principal, clientID int64) (Form, error) {
	var f Form
	err := org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		c, err := accessibleClient(ctx, tx, actor, clientID, audit.ActionRead)
		if err != nil {
			return err
		}
		if c.Erased {
			return ErrClientErased
		}
		f = Form{ClientID: c.ID, ClientName: c.FirstNames + " " + c.LastName,
			Interpreter: c.InterpreterLanguage, ClientPoint: c.ServicePointID}
		points, err := org.ListServicePoints(ctx, tx)
		if err != nil {
			return err
		}
		for _, sp := range points {
			if !actor.CanWork(sp.ID) {
				continue
			}
			p := Place{ServicePoint: sp}
			if p.Desks, err = org.ListDesks(ctx, tx, sp.ID); err != nil {
				return err
			}
			p.Desks = slices.DeleteFunc(p.Desks, func(d org.Desk) bool { return !d.Active })
			if p.Topics, err = org.ListTopics(ctx, tx, sp.ID, true); err != nil {
				return err
			}
			if p.Experts, err = experts(ctx, tx, sp.ID); err != nil {
				return err
			}
			f.Places = append(f.Places, p)
		}
		return logClients(ctx, tx, actor, audit.ActionRead, []Appointment{{ClientID: clientID}})
	})
	return f, err
}

// experts lists the active staff with a role at the service point (or in
// the whole municipality), by name.
func experts(ctx context.Context, tx sqldb.Tx, spID int64) ([]Expert, error) {
	rows, err := tx.Query(ctx, `SELECT s.id, s.name FROM staff s
		WHERE s.active AND EXISTS (SELECT 1 FROM staff_roles r WHERE r.staff_id = s.id
			AND (r.service_point_id = $1 OR r.service_point_id IS NULL))
		ORDER BY s.name, s.id`, spID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Expert, error) {
		var e Expert
		err := r.Scan(&e.ID, &e.Name)
		return e, err
	})
}

// Booking is a new appointment as the booking form gives it.
type Booking struct {
	ClientID       int64
	ServicePointID int64
	StaffID        int64
	Channel        Channel
	DeskID         int64 // 0: none (and always none by phone or video)
	TopicID        int64 // 0: none
	StartsAt       time.Time
	Minutes        int
	// InterpreterLanguage is the language to interpret, "" for none.
	InterpreterLanguage string
	// AllowOverlap books even when the expert is already booked then: the
	// person was warned (DoubleBooking) and chose to.
	AllowOverlap bool
}

// Book books an appointment for a client. An expert already booked at
// that time gives a *DoubleBooking unless AllowOverlap is set. An
// appointment at the service point gets its check-in code.
func (s *Service) Book(ctx context.Context, actor auth.Principal, b Booking) (Appointment, error) {
	if !slices.Contains(Channels, b.Channel) || b.Minutes < MinMinutes || b.Minutes > MaxMinutes {
		return Appointment{}, ErrBadBooking
	}
	now := s.clock()
	if b.StartsAt.Before(now) {
		return Appointment{}, ErrInPast
	}
	if b.Channel != InPerson {
		b.DeskID = 0
	}
	var a Appointment
	err := org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		// The actor must work both with the client and where the
		// appointment takes place.
		c, err := accessibleClient(ctx, tx, actor, b.ClientID, audit.ActionCreate)
		if err != nil {
			return err
		}
		if err := mayWork(ctx, tx, actor, b.ServicePointID, c.ID, audit.ActionCreate); err != nil {
			return err
		}
		if c.Erased {
			return ErrClientErased
		}
		if err := checkBooking(ctx, tx, b); err != nil {
			return err
		}
		if !b.AllowOverlap {
			clash, err := list(ctx, tx, `WHERE a.staff_id = $1 AND a.status IN ('booked', 'confirmed', 'checked_in')
				AND a.starts_at < $3 AND a.starts_at + a.duration_minutes * interval '1 minute' > $2
				ORDER BY a.starts_at`, b.StaffID, b.StartsAt, b.StartsAt.Add(time.Duration(b.Minutes)*time.Minute))
			if err != nil {
				return err
			}
			if len(clash) > 0 {
				return &DoubleBooking{With: clash}
			}
		}
		var code *string
		if b.Channel == InPerson {
			cd, err := newCode(ctx, tx, b.ServicePointID)
			if err != nil {
				return err
			}
			code = &cd
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel,
			desk_id, topic_id, starts_at, duration_minutes, interpreter_language, code, created_at, created_by, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, nullif($6, 0), nullif($7, 0), $8, $9, $10, $11, $12, nullif($13::bigint, 0), $12, nullif($13::bigint, 0))
			RETURNING id`,
			actor.Tenant, c.ID, b.ServicePointID, b.StaffID, b.Channel, b.DeskID, b.TopicID, b.StartsAt, b.Minutes,
			b.InterpreterLanguage, code, now, actor.StaffID).Scan(&id)
		if err != nil {
			return err
		}
		if a, err = scan(tx.QueryRow(ctx, `SELECT `+cols+from+` WHERE a.id = $1`, id)); err != nil {
			return err
		}
		return logClients(ctx, tx, actor, audit.ActionCreate, []Appointment{a})
	})
	if err != nil {
		return Appointment{}, err
	}
	return a, nil
}

// checkBooking confirms the expert, desk and topic belong to the service
// point and are in use.
func checkBooking(ctx context.Context, tx sqldb.Tx, b Booking) error {
	var expert, desk, topic bool
	err := tx.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM staff s WHERE s.id = $1 AND s.active AND EXISTS (SELECT 1 FROM staff_roles r
			WHERE r.staff_id = s.id AND (r.service_point_id = $2 OR r.service_point_id IS NULL))),
		$3 = 0 OR EXISTS (SELECT 1 FROM desks WHERE id = $3 AND service_point_id = $2 AND active),
		$4 = 0 OR EXISTS (SELECT 1 FROM topics WHERE id = $4 AND service_point_id = $2 AND active)`,
		b.StaffID, b.ServicePointID, b.DeskID, b.TopicID).Scan(&expert, &desk, &topic)
	switch {
	case err != nil:
		return err
	case !expert:
		return ErrUnknownExpert
	case !desk:
		return ErrUnknownDesk
	case !topic:
		return ErrUnknownTopic
	}
	return nil
}

// CodeLength is how many digits a check-in code has.
const CodeLength = 8

// codeSpace is the number of distinct codes, 10^CodeLength.
var codeSpace = big.NewInt(100_000_000)

// newCode draws a check-in code that no appointment of the service point
// holds now. Digits only: a kiosk's keypad has ten big keys that look the
// same in every language, and no letter can be mistaken for another. With
// a hundred million codes, a few hundred in use at a service point, and
// the kiosk refusing more than a handful of wrong codes in a row, guessing
// one is hopeless within a day (see queue's check-in limit).
func newCode(ctx context.Context, tx sqldb.Tx, spID int64) (string, error) {
	for range 10 {
		n, err := rand.Int(rand.Reader, codeSpace)
		if err != nil {
			return "", err
		}
		code := fmt.Sprintf("%0*d", CodeLength, n.Int64())
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM appointments WHERE service_point_id = $1 AND code = $2)`,
			spID, code).Scan(&taken); err != nil {
			return "", err
		}
		if !taken {
			return code, nil
		}
	}
	return "", fmt.Errorf("appointments: no free check-in code at service point %d", spID)
}
