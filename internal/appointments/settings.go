package appointments

import (
	"context"
	"errors"
	"regexp"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// MaxWindow bounds the early and late check-in windows.
const MaxWindow = 4 * time.Hour

// MinReminder and MaxReminder bound how long before an appointment a
// reminder may go: less than an hour before is too late to act on, and a
// week ahead is as far as a client plans.
const (
	MinReminder = time.Hour
	MaxReminder = 7 * 24 * time.Hour
)

var prefixPattern = regexp.MustCompile(`^[A-Z]$`)

// ReadSettings reads a service point's check-in rules in the caller's
// transaction; a service point that never set them has the defaults.
func ReadSettings(ctx context.Context, tx sqldb.Tx, spID int64) (Settings, error) {
	st := DefaultSettings()
	var early, late, first, second int
	err := tx.QueryRow(ctx, `SELECT prefix, early_minutes, late_minutes, first_reminder_on, first_reminder_hours,
		second_reminder_on, second_reminder_hours FROM appointment_settings WHERE service_point_id = $1`,
		spID).Scan(&st.Prefix, &early, &late, &st.First.On, &first, &st.Second.On, &second)
	switch {
	case errors.Is(err, sqldb.ErrNoRows):
		return st, nil
	case err != nil:
		return st, err
	}
	st.Early, st.Late = time.Duration(early)*time.Minute, time.Duration(late)*time.Minute
	st.First.Before, st.Second.Before = time.Duration(first)*time.Hour, time.Duration(second)*time.Hour
	return st, nil
}

// Settings reads the check-in rules of a service point the actor manages.
func (s *Service) Settings(ctx context.Context, actor auth.Principal, slug string) (org.ServicePoint, Settings, error) {
	var sp org.ServicePoint
	var st Settings
	err := org.Managed(ctx, s.db, actor, slug, func(tx sqldb.Tx, p org.ServicePoint) error {
		sp = p
		var err error
		st, err = ReadSettings(ctx, tx, p.ID)
		return err
	})
	return sp, st, err
}

// validReminder: whole hours within the bounds.
func validReminder(r Reminder) bool {
	return r.Before >= MinReminder && r.Before <= MaxReminder && r.Before%time.Hour == 0
}

// SaveSettings stores a service point's check-in rules and reminder times.
// The letter must not be one of the service point's active topics: a
// checked-in appointment is told apart on the display by its letter. When
// both reminders are on, the first must come earlier than the second
// (ErrRemindersOrder), or the urgent one would go first and the other never.
func (s *Service) SaveSettings(ctx context.Context, actor auth.Principal, slug string, st Settings) error {
	if !prefixPattern.MatchString(st.Prefix) || st.Early < 0 || st.Late < 0 || st.Early > MaxWindow || st.Late > MaxWindow ||
		!validReminder(st.First) || !validReminder(st.Second) {
		return ErrBadBooking
	}
	if st.First.On && st.Second.On && st.First.Before <= st.Second.Before {
		return ErrRemindersOrder
	}
	return org.Managed(ctx, s.db, actor, slug, func(tx sqldb.Tx, sp org.ServicePoint) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM topics WHERE service_point_id = $1 AND active AND prefix = $2)`,
			sp.ID, st.Prefix).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrPrefixTaken
		}
		_, err := tx.Exec(ctx, `INSERT INTO appointment_settings (service_point_id, municipality_id, prefix, early_minutes,
			late_minutes, updated_at, updated_by, first_reminder_on, first_reminder_hours, second_reminder_on,
			second_reminder_hours) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (service_point_id) DO UPDATE SET prefix = $3, early_minutes = $4, late_minutes = $5,
			updated_at = $6, updated_by = $7, first_reminder_on = $8, first_reminder_hours = $9,
			second_reminder_on = $10, second_reminder_hours = $11`,
			sp.ID, actor.Tenant, st.Prefix, int(st.Early/time.Minute), int(st.Late/time.Minute), s.clock(), actor.StaffID,
			st.First.On, int(st.First.Before/time.Hour), st.Second.On, int(st.Second.Before/time.Hour))
		return err
	})
}
