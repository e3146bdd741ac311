package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/koto-portal/portal/internal/appointments"
	"github.com/koto-portal/portal/internal/audit"
	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/push"
	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/tasks"
)

// MaxSchedule is how far ahead a message may be scheduled.
const MaxSchedule = 90 * 24 * time.Hour

// messageTTL is how long a push service holds a message for a phone that is
// off: a message days late is still worth reading.
const messageTTL = 72 * time.Hour

// ErrMessageSent: the message went (or was cancelled) already and can no
// longer be cancelled.
var ErrMessageSent = errors.New("outreach: the message is no longer scheduled")

// Message statuses.
const (
	MessageScheduled   = "scheduled"
	MessageSent        = "sent"
	MessageCancelled   = "cancelled"
	MessageUnreachable = "unreachable" // no phone took it; the expert got a task
)

// NewMessage is a message an expert sends to one client: a written text or
// a template (at its newest version), now or at a later time.
type NewMessage struct {
	Text       string
	TemplateID int64
	At         time.Time // zero: now
}

// Message is a message to a client as the expert's pages show it.
type Message struct {
	ID              int64
	Text            string // the written text; "" for a template's
	TemplateName    string
	TemplateVersion int
	SendAt          time.Time
	Status          string
	Body            string // as the client got it, in Lang; "" before it went
	Lang            string
	By              string
	Phones          int    // deliveries made
	Reached         string // the furthest a delivery got (a delivery status), "" for none
}

// MessagesPage is what the expert's page of a client's messages needs.
type MessagesPage struct {
	ClientName string
	Language   string
	Phones     int // phones taking messages now
	Templates  []Template
	Messages   []Message
}

// ClientMessage is a message as the client's own page lists it.
type ClientMessage struct {
	Body string
	Lang string // the language of its text; "" for a written one
	At   time.Time
}

// MessagesOf is the expert's page of a client's messages: the templates
// to choose from, and what was sent or is scheduled.
func (s *Service) MessagesOf(ctx context.Context, actor auth.Principal, clientID int64) (MessagesPage, error) {
	var out MessagesPage
	err := s.asStaff(ctx, actor, clientID, audit.ActionRead, func(tx sqldb.Tx, c client) error {
		out.ClientName, out.Language = c.name, c.language
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM client_devices WHERE client_id = $1 AND revoked_at IS NULL
			AND NOT notifications_off AND push_subscription IS NOT NULL`, c.id).Scan(&out.Phones); err != nil {
			return err
		}
		var err error
		if out.Templates, err = templates(ctx, tx, 0); err != nil {
			return err
		}
		out.Messages, err = messages(ctx, tx, c.id)
		return err
	})
	return out, err
}

// messages lists a client's messages, the latest first.
func messages(ctx context.Context, tx sqldb.Tx, clientID int64) ([]Message, error) {
	rows, err := tx.Query(ctx, `SELECT m.id, coalesce(m.text, ''), coalesce(t.name, ''), coalesce(v.version, 0), m.send_at, m.status,
		m.body, m.lang, coalesce(s.name, ''),
		(SELECT count(*) FROM client_deliveries x WHERE x.message_id = m.id),
		coalesce((SELECT x.status FROM client_deliveries x WHERE x.message_id = m.id
		          ORDER BY array_position(ARRAY['failed','queued','sent','delivered','opened','answered'], x.status) DESC LIMIT 1), '')
		FROM client_messages m LEFT JOIN message_template_versions v ON v.id = m.template_version_id
		LEFT JOIN message_templates t ON t.id = v.template_id LEFT JOIN staff s ON s.id = m.staff_id
		WHERE m.client_id = $1 ORDER BY m.send_at DESC, m.id DESC LIMIT 50`, clientID)
	if err != nil {
		return nil, err
	}
	return sqldb.CollectRows(rows, func(r sqldb.Row) (Message, error) {
		var m Message
		err := r.Scan(&m.ID, &m.Text, &m.TemplateName, &m.TemplateVersion, &m.SendAt, &m.Status, &m.Body, &m.Lang, &m.By,
			&m.Phones, &m.Reached)
		return m, err
	})
}

// SendMessage records a message to the client and enqueues its sending, at
// its time, in the same transaction. Problems of the form come back as
// Invalid: no text or template, a wrong placeholder, a time past or too
// far ahead, a text that speaks of an appointment the client does not
// have.
func (s *Service) SendMessage(ctx context.Context, actor auth.Principal, clientID int64, m NewMessage) (int64, error) {
	now := s.clock()
	switch {
	case m.Text != "" && m.TemplateID != 0:
		return 0, Invalid{"text": "messages.text_or_template"}
	case m.Text == "" && m.TemplateID == 0:
		return 0, Invalid{"text": "messages.text_or_template"}
	case m.Text != "":
		if problem := validText(m.Text); problem != "" {
			return 0, Invalid{"text": problem}
		}
	}
	if m.At.IsZero() || !m.At.After(now) {
		// A time a moment ago (the form's minute) is now.
		if !m.At.IsZero() && m.At.Before(now.Add(-5*time.Minute)) {
			return 0, Invalid{"at": "messages.at_past"}
		}
		m.At = now
	} else if m.At.After(now.Add(MaxSchedule)) {
		return 0, Invalid{"at": "form.out_of_range"}
	}
	var id int64
	err := s.asStaff(ctx, actor, clientID, audit.ActionCreate, func(tx sqldb.Tx, c client) error {
		var version int64
		text := m.Text
		if m.TemplateID != 0 {
			var texts []byte
			err := tx.QueryRow(ctx, `SELECT id, texts FROM message_template_versions WHERE template_id = $1
				ORDER BY version DESC LIMIT 1`, m.TemplateID).Scan(&version, &texts)
			if errors.Is(err, sqldb.ErrNoRows) {
				return Invalid{"template": "form.invalid_choice"}
			}
			if err != nil {
				return err
			}
			var all map[string]string
			if err := json.Unmarshal(texts, &all); err != nil {
				return err
			}
			lang, _ := clientLanguage(c.language)
			text, _ = PickText(all, lang)
		}
		if usesAppointment(text) {
			next, err := appointments.Upcoming(ctx, tx, c.id, now)
			if err != nil {
				return err
			}
			if len(next) == 0 {
				field := "text"
				if m.TemplateID != 0 {
					field = "template"
				}
				return Invalid{field: ProblemNeedsAppointment}
			}
		}
		if err := tx.QueryRow(ctx, `INSERT INTO client_messages (municipality_id, client_id, staff_id, template_version_id, text, send_at, created_at, updated_at)
			VALUES (koto_tenant(), $1, $2, nullif($3, 0), nullif($4, ''), $5, $6, $6) RETURNING id`,
			c.id, actor.StaffID, version, m.Text, m.At, now).Scan(&id); err != nil {
			return err
		}
		if s.jobs == nil {
			return nil
		}
		return s.jobs.InsertTx(ctx, tx, MessageSend{Tenant: actor.Tenant, MessageID: id, At: m.At})
	})
	return id, err
}

// CancelMessage cancels a scheduled message before it goes; one that went
// is ErrMessageSent.
func (s *Service) CancelMessage(ctx context.Context, actor auth.Principal, clientID, messageID int64) error {
	return s.asStaff(ctx, actor, clientID, audit.ActionUpdate, func(tx sqldb.Tx, c client) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM client_messages WHERE id = $1 AND client_id = $2 FOR UPDATE`,
			messageID, c.id).Scan(&status)
		if err != nil {
			return sqldb.NotFound(err)
		}
		if status != MessageScheduled {
			return ErrMessageSent
		}
		_, err = tx.Exec(ctx, `UPDATE client_messages SET status = $2, updated_at = $3 WHERE id = $1`, messageID, MessageCancelled, s.clock())
		return err
	})
}

// MessageSend is the job that sends one message at its time: it carries
// ids only, and does nothing for a message cancelled meanwhile.
type MessageSend struct {
	Tenant    int64     `json:"tenant"`
	MessageID int64     `json:"message_id"`
	At        time.Time `json:"at"`
}

// Kind names the job in River's table.
func (MessageSend) Kind() string { return "client_message_send" }

// InsertOpts: the job waits for the message's time.
func (a MessageSend) InsertOpts() river.InsertOpts {
	return river.InsertOpts{ScheduledAt: a.At, MaxAttempts: 8}
}

// MessagePush sends one message to one phone.
type MessagePush struct {
	Tenant     int64 `json:"tenant"`
	DeliveryID int64 `json:"delivery_id"`
}

// Kind names the job in River's table.
func (MessagePush) Kind() string { return "client_message_push" }

// InsertOpts: a few tries over the push service's bad minutes.
func (MessagePush) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

type messageSendWorker struct {
	river.WorkerDefaults[MessageSend]
	s *Service
}

func (w *messageSendWorker) Work(ctx context.Context, job *river.Job[MessageSend]) error {
	return w.s.dispatch(ctx, job.Args.Tenant, job.Args.MessageID)
}

// dispatch renders a scheduled message in the client's language and makes
// one delivery, with its push job, for every phone taking messages now, in
// one transaction; with no such phone the message is unreachable and the
// expert who sent it gets a task "could not reach the client". A message
// no longer scheduled (cancelled, or sent by an earlier try) is left be.
func (s *Service) dispatch(ctx context.Context, tenant, messageID int64) error {
	return s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error { return s.dispatchTx(ctx, tx, tenant, messageID) })
}

// dispatchTx is dispatch inside the caller's tenant transaction.
func (s *Service) dispatchTx(ctx context.Context, tx sqldb.Tx, tenant, messageID int64) error {
	var status, language, firstNames string
	var text *string
	var texts []byte
	var clientID, sp int64
	var staff *int64
	var sendAt time.Time
	var tell bool // an expert's own message: they hear of a client it cannot reach; a campaign's is counted only
	err := tx.QueryRow(ctx, `SELECT m.status, m.text, coalesce(v.texts, '{}'), c.id, c.language, c.first_names, c.service_point_id,
		m.staff_id, m.send_at, m.campaign_id IS NULL
		FROM client_messages m JOIN clients c ON c.id = m.client_id
		LEFT JOIN message_template_versions v ON v.id = m.template_version_id
		WHERE m.id = $1 AND c.erased_at IS NULL FOR UPDATE OF m`, messageID).
		Scan(&status, &text, &texts, &clientID, &language, &firstNames, &sp, &staff, &sendAt, &tell)
	if errors.Is(err, sqldb.ErrNoRows) || err == nil && status != MessageScheduled {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.clock()
	lang, ok := clientLanguage(language)
	if !ok {
		lang, _ = clientLanguage(i18n.Default)
	}
	body, code := "", ""
	if text != nil {
		body = *text // written by the expert in whatever language they chose
	} else {
		var all map[string]string
		if err := json.Unmarshal(texts, &all); err != nil {
			return err
		}
		body, code = PickText(all, lang)
		lang, _ = clientLanguage(code)
	}
	fill := Fill{FirstName: firstNames}
	next, err := appointments.Upcoming(ctx, tx, clientID, now)
	if err != nil {
		return err
	}
	if len(next) > 0 {
		a := next[0]
		fill.At, fill.Place = a.StartsAt.In(a.Location()), a.PointNames.In(lang.Code)
	}
	body = Render(body, lang, fill)
	rows, err := tx.Query(ctx, `INSERT INTO client_deliveries (municipality_id, client_id, device_id, message_id, kind, created_at, updated_at)
		SELECT koto_tenant(), d.client_id, d.id, $2, 'message', $3, $3 FROM client_devices d
		WHERE d.client_id = $1 AND d.revoked_at IS NULL AND NOT d.notifications_off AND d.push_subscription IS NOT NULL
		ON CONFLICT DO NOTHING RETURNING id`, clientID, messageID, now)
	if err != nil {
		return err
	}
	ids, err := sqldb.CollectRows(rows, sqldb.RowTo[int64])
	if err != nil {
		return err
	}
	status = MessageSent
	if len(ids) == 0 {
		status = MessageUnreachable
	}
	if len(ids) == 0 && tell {
		n := tasks.New{Kind: tasks.KindUnreachable, ClientID: clientID, ServicePointID: sp, DueAt: now,
			Facts: tasks.Facts{tasks.FactTime: sendAt.Format(time.RFC3339)}, SourceKey: fmt.Sprintf("message:%d:unreachable", messageID)}
		if staff != nil {
			n.AssigneeID = *staff
		}
		if _, _, err := s.tasks.Create(ctx, tx, n); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE client_messages SET status = $2, body = $3, lang = $4, updated_at = $5 WHERE id = $1`,
		messageID, status, body, code, now); err != nil {
		return err
	}
	if s.jobs == nil {
		return nil
	}
	args := make([]river.JobArgs, len(ids))
	for i, id := range ids {
		args[i] = MessagePush{Tenant: tenant, DeliveryID: id}
	}
	return s.jobs.InsertTx(ctx, tx, args...)
}

type messagePushWorker struct {
	river.WorkerDefaults[MessagePush]
	s       *Service
	catalog *i18n.Catalog
}

func (w *messagePushWorker) Work(ctx context.Context, job *river.Job[MessagePush]) error {
	a := job.Args
	var body, code, language string
	var reachable bool
	var subscription []byte
	var messageID int64
	err := w.s.db.InTenant(ctx, a.Tenant, func(tx sqldb.Tx) error {
		return tx.QueryRow(ctx, `SELECT m.id, m.body, m.lang, c.language,
			dv.revoked_at IS NULL AND NOT dv.notifications_off AND dv.push_subscription IS NOT NULL,
			coalesce(dv.push_subscription, 'null'::jsonb)
			FROM client_deliveries x JOIN client_messages m ON m.id = x.message_id
			JOIN clients c ON c.id = x.client_id JOIN client_devices dv ON dv.id = x.device_id
			WHERE x.id = $1 AND x.status = 'queued'`, a.DeliveryID).
			Scan(&messageID, &body, &code, &language, &reachable, &subscription)
	})
	if errors.Is(err, sqldb.ErrNoRows) {
		return nil // sent already, or gone
	}
	if err != nil {
		return err
	}
	if !reachable {
		return w.s.setDelivery(ctx, a.Tenant, a.DeliveryID, "failed", "overtaken")
	}
	// The title in the client's language; the text's own language, when
	// it is a template's, for its direction.
	lang, ok := w.catalog.Lookup(language)
	if !ok {
		lang, _ = w.catalog.Lookup(i18n.Default)
	}
	textLang := lang
	if l, ok := w.catalog.Lookup(code); ok && code != "" {
		textLang = l
	}
	name := fmt.Sprintf("message-%d", messageID)
	payload, shorter, err := reminderMessage{Title: w.catalog.For(lang).Get("message.title"), Body: body,
		Lang: textLang.Code, Dir: textLang.Dir(), Tag: name, Client: true, Delivery: a.DeliveryID}.payloads()
	if err != nil {
		return err
	}
	return w.s.pushDelivery(ctx, job.JobRow, a.Tenant, a.DeliveryID, subscription,
		push.Message{Payload: payload, Shorter: shorter, Topic: w.s.jobs.Topic(name), Urgency: push.UrgencyNormal, TTL: messageTTL})
}
