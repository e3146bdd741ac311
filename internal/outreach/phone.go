package outreach

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/events"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// phone is a client's phone as its credential finds it.
type phone struct {
	id     int64
	client client
	push   bool
	off    bool // the client turned reminders off on this phone
}

// asPhone runs fn for the phone whose credential this is, inside its
// client's tenant; a revoked, unknown or malformed credential, or an erased
// client, is ErrNotFound.
func (s *Service) asPhone(ctx context.Context, credential string, fn func(tx sqldb.Tx, p phone) error) error {
	hash, err := parseSecret(credential)
	if err != nil {
		return err
	}
	err = s.db.InTenantOf(ctx, `SELECT koto_client_device_tenant($1)`, hash, func(tx sqldb.Tx) error {
		var p phone
		err := tx.QueryRow(ctx, `UPDATE client_devices d SET last_seen_at = $2
			FROM clients c JOIN service_points sp ON sp.id = c.service_point_id
			WHERE d.credential_hash = $1 AND d.revoked_at IS NULL AND c.id = d.client_id
			RETURNING d.id, c.id, c.first_names, c.first_names || ' ' || c.last_name, c.language, c.service_point_id,
				c.erased_at IS NOT NULL, sp.time_zone, d.push_subscription IS NOT NULL, d.notifications_off`,
			hash, s.clock()).Scan(&p.id, &p.client.id, &p.client.firstNames, &p.client.name, &p.client.language,
			&p.client.servicePointID, &p.client.erased, &p.client.timeZone, &p.push, &p.off)
		if err != nil {
			return sqldb.NotFound(err)
		}
		if p.client.erased {
			return ErrNotFound
		}
		return fn(tx, p)
	})
	if errors.Is(err, sqldb.ErrNoTenant) {
		return ErrNotFound
	}
	return err
}

// Home is the client's page: their upcoming appointments with check-in
// codes, what they answered lately and the messages sent to them.
func (s *Service) Home(ctx context.Context, credential string) (Home, error) {
	var h Home
	err := s.asPhone(ctx, credential, func(tx sqldb.Tx, p phone) error {
		h = Home{ClientID: p.client.id, FirstNames: p.client.firstNames, Language: p.client.language,
			TimeZone: p.client.timeZone, Push: p.push, NotificationsOff: p.off}
		var err error
		if h.Appointments, err = appointments.Upcoming(ctx, tx, p.client.id, s.clock()); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT kind, coalesce(appointment_id, 0), reason, created_at FROM client_answers
			WHERE client_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20`, p.client.id)
		if err != nil {
			return err
		}
		if h.Answers, err = sqldb.CollectRows(rows, scanAnswered); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT body, lang, send_at FROM client_messages WHERE client_id = $1 AND status = 'sent'
			ORDER BY send_at DESC, id DESC LIMIT 20`, p.client.id)
		if err != nil {
			return err
		}
		h.Messages, err = sqldb.CollectRows(rows, func(r sqldb.Row) (ClientMessage, error) {
			var m ClientMessage
			return m, r.Scan(&m.Body, &m.Lang, &m.At)
		})
		return err
	})
	return h, err
}

// Answer records one tap of the client's page. "I'll come" confirms the
// appointment; "I can't come" cancels it and, like "please call me" and "I
// need an interpreter", becomes a task for the client's responsible expert
// (or the service point's pool), all in one transaction.
func (s *Service) Answer(ctx context.Context, credential string, a Answer) error {
	a.Reason = strings.TrimSpace(a.Reason)
	switch {
	case !a.Kind.Valid(), a.Kind.AboutAppointment() && a.AppointmentID <= 0,
		!utf8.ValidString(a.Reason), utf8.RuneCountInString(a.Reason) > MaxReason:
		return ErrInvalid
	}
	return s.asPhone(ctx, credential, func(tx sqldb.Tx, p phone) error {
		now := s.clock()
		var appt appointments.Appointment
		var err error
		switch a.Kind {
		case Coming:
			appt, err = appointments.SetByClient(ctx, tx, p.client.id, a.AppointmentID, appointments.Confirmed, now)
		case CannotCome:
			appt, err = appointments.SetByClient(ctx, tx, p.client.id, a.AppointmentID, appointments.CancelledByClient, now)
		case CallMe, Interpreter:
			if a.AppointmentID > 0 {
				appt, err = appointments.OfClient(ctx, tx, p.client.id, a.AppointmentID)
			}
		}
		if err != nil {
			return err
		}
		var answerID int64
		if err := tx.QueryRow(ctx, `INSERT INTO client_answers (municipality_id, client_id, device_id, appointment_id, kind, reason, created_at)
			VALUES (koto_tenant(), $1, $2, nullif($3, 0), $4, $5, $6) RETURNING id`,
			p.client.id, p.id, appt.ID, a.Kind, a.Reason, now).Scan(&answerID); err != nil {
			return err
		}
		if appt.ID != 0 {
			if err := answered(ctx, tx, p.id, appt.ID); err != nil {
				return err
			}
		}
		event := events.Data{"answer_id": answerID, "client_id": p.client.id, "appointment_id": appt.ID}
		n, ok := taskFor(a, appt, p)
		if !ok {
			return s.events.Emit(ctx, tx, events.ClientAnswered, event)
		}
		n.SourceKey = fmt.Sprintf("answer:%d", answerID)
		t, _, err := s.tasks.Create(ctx, tx, n)
		if err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE client_answers SET task_id = $2 WHERE id = $1`, answerID, t.ID); err != nil {
			return err
		}
		event["task_id"] = t.ID
		return s.events.Emit(ctx, tx, events.ClientAnswered, event)
	})
}

// taskFor is the task an answer asks of the expert; "I'll come" asks none.
func taskFor(a Answer, appt appointments.Appointment, p phone) (tasks.New, bool) {
	n := tasks.New{ClientID: p.client.id, Details: a.Reason, Facts: tasks.Facts{}}
	if appt.ID != 0 {
		// The appointment's expert is who it concerns; the task falls to
		// the responsible expert when none.
		n.AssigneeID = appt.StaffID
		n.ServicePointID = appt.ServicePointID
		n.DueAt = appt.StartsAt
		n.Facts[tasks.FactTime] = appt.StartsAt.Format(time.RFC3339)
	}
	switch a.Kind {
	case CannotCome:
		n.Kind = tasks.KindCannotCome
	case CallMe:
		n.Kind = tasks.KindCallMe
	case Interpreter:
		n.Kind = tasks.KindInterpreter
		n.Facts[tasks.FactLanguage] = p.client.language
	default:
		return tasks.New{}, false
	}
	return n, true
}

// Forget removes this phone at the client's own wish: its credential stops
// working at once.
func (s *Service) Forget(ctx context.Context, credential string) error {
	return s.asPhone(ctx, credential, func(tx sqldb.Tx, p phone) error {
		_, err := tx.Exec(ctx, `UPDATE client_devices SET revoked_at = $2, revoked_by = 'client', push_subscription = NULL
			WHERE id = $1`, p.id, s.clock())
		return err
	})
}

// SetNotifications turns this phone's reminders off or on again at the
// client's wish; the phone and its subscription stay, and the expert sees
// it. Nothing is sent to a phone with reminders off.
func (s *Service) SetNotifications(ctx context.Context, credential string, on bool) error {
	return s.asPhone(ctx, credential, func(tx sqldb.Tx, p phone) error {
		_, err := tx.Exec(ctx, `UPDATE client_devices SET notifications_off = NOT $2 WHERE id = $1`, p.id, on)
		return err
	})
}

// SetPush stores this phone's Web Push subscription (already validated
// against the push services' allow-list), replacing the one before.
func (s *Service) SetPush(ctx context.Context, credential string, subscription []byte) error {
	return s.asPhone(ctx, credential, func(tx sqldb.Tx, p phone) error {
		_, err := tx.Exec(ctx, `UPDATE client_devices SET push_subscription = $2, push_updated_at = $3 WHERE id = $1`,
			p.id, subscription, s.clock())
		return err
	})
}
