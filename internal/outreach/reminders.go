package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/jobs"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// Reminder timing. Each service point sets when its appointments' two
// reminders go (appointments.Settings: by default a day and two hours
// before) and whether each goes; the second is urgent and replaces the
// first if that is still pending. Two hours before, whatever the reminders,
// a client nobody can reach becomes the expert's task: time enough to call.
const (
	reminderEvery    = time.Minute
	hoursBefore      = 2 * time.Hour
	furthestReminder = appointments.MaxReminder
)

// Register gives outreach its durable jobs: the reminder check, run every
// minute by one instance of all, and the push of each reminder, rendered in
// the client's language from catalog. Call it before j starts.
func (s *Service) Register(j *jobs.Service, catalog *i18n.Catalog) {
	s.jobs = j
	jobs.AddWorker(j, &reminderWorker{s: s, catalog: catalog})
	jobs.AddWorker(j, &messageSendWorker{s: s})
	jobs.AddWorker(j, &messagePushWorker{s: s, catalog: catalog})
	jobs.Periodic[SendCampaigns](j, campaignEvery, func(ctx context.Context) error {
		_, err := s.SendCampaignBatch(ctx)
		return err
	})
	jobs.Periodic[CheckReminders](j, reminderEvery, func(ctx context.Context) error {
		_, err := s.QueueReminders(ctx)
		return err
	})
}

// CheckReminders is the periodic job that finds reminders that are due.
type CheckReminders struct{}

// Kind names the job in River's table.
func (CheckReminders) Kind() string { return "client_reminders" }

// ReminderPush is the job that sends one reminder to one phone. It carries
// ids only; the worker reads the rest and sends nothing when the news is
// overtaken (the appointment cancelled, the phone removed or silenced).
type ReminderPush struct {
	Tenant     int64 `json:"tenant"`
	DeliveryID int64 `json:"delivery_id"`
}

// Kind names the job in River's table.
func (ReminderPush) Kind() string { return "client_reminder_push" }

// InsertOpts: a few tries over the push service's bad minutes.
func (ReminderPush) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

// QueueReminders records, for every open appointment a reminder is due for,
// one delivery per phone that takes notifications, and enqueues its push in
// the same transaction: each reminder goes to each phone once however many
// instances look, and none is lost to a crash. An appointment two hours away
// whose client has no phone to remind becomes a task "could not reach the
// client". It returns how many deliveries it queued.
func (s *Service) QueueReminders(ctx context.Context) (int, error) {
	var tenants []int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT koto_reminder_tenants($1)`, s.clock())
		if err != nil {
			return err
		}
		tenants, err = sqldb.CollectRows(rows, sqldb.RowTo[int64])
		return err
	}); err != nil {
		return 0, err
	}
	queued := 0
	var errs []error
	for _, tenant := range tenants {
		err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
			now := s.clock()
			// A service point without settings has the defaults; the
			// kinds keep their first names (reminder_24h the first,
			// reminder_2h the second) whatever the hours.
			rows, err := tx.Query(ctx, `
				WITH due AS (
				  SELECT a.id, a.municipality_id, a.client_id,
				         coalesce(s.first_reminder_on, true)
				           AND a.starts_at <= $1::timestamptz + coalesce(s.first_reminder_hours, $2) * interval '1 hour' AS first_due,
				         coalesce(s.second_reminder_on, true)
				           AND a.starts_at <= $1::timestamptz + coalesce(s.second_reminder_hours, $3) * interval '1 hour' AS second_due
				  FROM appointments a LEFT JOIN appointment_settings s ON s.service_point_id = a.service_point_id
				  WHERE a.status IN ('booked','confirmed') AND a.starts_at > $1
				    AND a.starts_at <= $1::timestamptz + $4::float8 * interval '1 second')
				INSERT INTO client_deliveries (municipality_id, client_id, device_id, appointment_id, kind, created_at, updated_at)
				SELECT due.municipality_id, due.client_id, d.id, due.id,
				       CASE WHEN due.second_due THEN 'reminder_2h' ELSE 'reminder_24h' END, $1, $1
				FROM due JOIN client_devices d ON d.client_id = due.client_id
				WHERE (due.first_due OR due.second_due)
				  AND d.revoked_at IS NULL AND NOT d.notifications_off AND d.push_subscription IS NOT NULL
				ON CONFLICT (municipality_id, appointment_id, device_id, kind) DO NOTHING
				RETURNING id`, now, int(appointments.DefaultFirst/time.Hour), int(appointments.DefaultSecond/time.Hour),
				furthestReminder.Seconds())
			if err != nil {
				return err
			}
			ids, err := sqldb.CollectRows(rows, sqldb.RowTo[int64])
			if err != nil {
				return err
			}
			if s.jobs != nil {
				args := make([]river.JobArgs, len(ids))
				for i, id := range ids {
					args[i] = ReminderPush{Tenant: tenant, DeliveryID: id}
				}
				if err := s.jobs.InsertTx(ctx, tx, args...); err != nil {
					return err
				}
			}
			queued += len(ids)
			return s.unreachable(ctx, tx, now)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return queued, errors.Join(errs...)
}

// receiptWait is how long a day-before reminder may go without its phone
// reporting it shown before the client counts as not reached: a phone
// switched off overnight gets it in the morning.
const receiptWait = 6 * time.Hour

// unreachable gives the expert a task for each appointment two hours away
// whose client has no phone that takes notifications, or whose day-before
// reminder no phone reported shown: once per appointment. A client who
// answered is not unreachable, nor one booked too late for a reminder.
func (s *Service) unreachable(ctx context.Context, tx sqldb.Tx, now time.Time) error {
	rows, err := tx.Query(ctx, `SELECT a.id, a.client_id, a.staff_id, a.service_point_id, a.starts_at FROM appointments a
		WHERE a.status IN ('booked','confirmed') AND a.client_id IS NOT NULL
		  AND a.starts_at > $1 AND a.starts_at <= $1::timestamptz + $2::float8 * interval '1 second'
		  AND (NOT EXISTS (SELECT 1 FROM client_devices d WHERE d.client_id = a.client_id AND d.revoked_at IS NULL
		                   AND NOT d.notifications_off AND d.push_subscription IS NOT NULL)
		       OR EXISTS (SELECT 1 FROM client_deliveries x WHERE x.appointment_id = a.id AND x.kind = 'reminder_24h'
		                  AND x.created_at < $1::timestamptz - $3::float8 * interval '1 second')
		          AND NOT EXISTS (SELECT 1 FROM client_deliveries x WHERE x.appointment_id = a.id
		                          AND x.status IN ('delivered','opened','answered')))
		  AND EXISTS (SELECT 1 FROM client_devices d WHERE d.client_id = a.client_id)`, now, hoursBefore.Seconds(),
		receiptWait.Seconds())
	if err != nil {
		return err
	}
	type due struct {
		id, client, staff, sp int64
		at                    time.Time
	}
	list, err := sqldb.CollectRows(rows, func(r sqldb.Row) (due, error) {
		var d due
		return d, r.Scan(&d.id, &d.client, &d.staff, &d.sp, &d.at)
	})
	if err != nil {
		return err
	}
	for _, d := range list {
		if _, _, err := s.tasks.Create(ctx, tx, tasks.New{Kind: tasks.KindUnreachable, ClientID: d.client, AssigneeID: d.staff,
			ServicePointID: d.sp, DueAt: d.at, Facts: tasks.Facts{tasks.FactTime: d.at.Format(time.RFC3339)},
			SourceKey: fmt.Sprintf("appointment:%d:unreachable", d.id)}); err != nil {
			return err
		}
	}
	return nil
}

// reminderMessage is what the service worker shows: a short text in the
// client's language, no name and no place; the page shows the rest.
type reminderMessage struct {
	Title    string `json:"title"`
	Body     string `json:"body"`
	Lang     string `json:"lang"`
	Dir      string `json:"dir"`
	Tag      string `json:"tag"`
	Urgent   bool   `json:"urgent,omitempty"`
	Client   bool   `json:"client"`
	Delivery int64  `json:"delivery"`
}

// payloads encodes m, and the shorter form sent instead when a push service
// finds it too large: without its text, which the page shows.
func (m reminderMessage) payloads() (full, shorter []byte, err error) {
	if full, err = json.Marshal(m); err != nil {
		return nil, nil, err
	}
	m.Body = ""
	shorter, err = json.Marshal(m)
	return full, shorter, err
}

type reminderWorker struct {
	river.WorkerDefaults[ReminderPush]
	s       *Service
	catalog *i18n.Catalog
}

func (w *reminderWorker) Work(ctx context.Context, job *river.Job[ReminderPush]) error {
	a := job.Args
	var d struct {
		kind, language, zone string
		apptID               int64
		startsAt             time.Time
		open, reachable      bool
		subscription         []byte
	}
	err := w.s.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT x.kind, c.language, sp.time_zone, ap.id, ap.starts_at,
			ap.status IN ('booked','confirmed') AND ap.starts_at > now(),
			dv.revoked_at IS NULL AND NOT dv.notifications_off AND dv.push_subscription IS NOT NULL,
			coalesce(dv.push_subscription, 'null'::jsonb)
			FROM client_deliveries x JOIN appointments ap ON ap.id = x.appointment_id
			JOIN clients c ON c.id = x.client_id JOIN client_devices dv ON dv.id = x.device_id
			JOIN service_points sp ON sp.id = ap.service_point_id
			WHERE x.id = $1 AND x.status = 'queued'`, a.DeliveryID).
			Scan(&d.kind, &d.language, &d.zone, &d.apptID, &d.startsAt, &d.open, &d.reachable, &d.subscription)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return nil // sent already (a retry after the record), or gone
	}
	if err != nil {
		return err
	}
	if !d.open || !d.reachable {
		return w.s.setDelivery(ctx, a.Tenant, a.DeliveryID, "failed", "overtaken")
	}
	lang, ok := w.catalog.Lookup(d.language)
	if !ok {
		lang, _ = w.catalog.Lookup(i18n.Default)
	}
	tr := w.catalog.For(lang)
	start := d.startsAt.In(org.Zone(d.zone))
	urgent := d.kind == "reminder_2h"
	name := fmt.Sprintf("appointment-%d", d.apptID)
	payload, shorter, err := reminderMessage{Title: tr.Get("reminder.title"),
		Body: tr.Get("reminder.body", "Date", lang.FormatDate(start), "Time", start.Format("15:04")),
		Lang: lang.Code, Dir: lang.Dir(), Tag: name, Urgent: urgent, Client: true, Delivery: a.DeliveryID}.payloads()
	if err != nil {
		return err
	}
	msg := push.Message{Payload: payload, Shorter: shorter, Topic: w.s.jobs.Topic(name), Urgency: push.UrgencyNormal,
		// Never held past the appointment: a reminder after it is noise.
		// jobs.Push counts the TTL from when the job was enqueued.
		TTL: min(d.startsAt.Sub(job.CreatedAt), push.MaxTTL).Truncate(time.Second)}
	if urgent {
		msg.Urgency = push.UrgencyHigh
	}
	return w.s.pushDelivery(ctx, job.JobRow, a.Tenant, a.DeliveryID, d.subscription, msg)
}

// pushDelivery sends one delivery's push and records how it went: sent, or
// failed when the subscription is gone (which is then dropped) or the push
// service refuses it for good; other errors are River's to retry.
func (s *Service) pushDelivery(ctx context.Context, job *rivertype.JobRow, tenant, deliveryID int64, subscription []byte,
	msg push.Message) error {
	gone, err := s.jobs.Push(ctx, job, subscription, msg)
	switch {
	case gone:
		if derr := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE client_devices SET push_subscription = NULL
				WHERE id = (SELECT device_id FROM client_deliveries WHERE id = $1)`, deliveryID)
			return err
		}); derr != nil {
			return derr
		}
		if serr := s.setDelivery(ctx, tenant, deliveryID, "failed", "subscription gone"); serr != nil {
			return serr
		}
	case err == nil:
		return s.setDelivery(ctx, tenant, deliveryID, "sent", "")
	case isCancel(err):
		if serr := s.setDelivery(ctx, tenant, deliveryID, "failed", "push service refused"); serr != nil {
			return serr
		}
	}
	return err
}

// isCancel tells River's "never again" apart from a retry.
func isCancel(err error) bool {
	var c *river.JobCancelError
	return errors.As(err, &c)
}

func (s *Service) setDelivery(ctx context.Context, tenant, deliveryID int64, status, reason string) error {
	return s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE client_deliveries SET status = $2, reason = $3, updated_at = now() WHERE id = $1 AND `+advances,
			deliveryID, status, reason)
		return err
	})
}
