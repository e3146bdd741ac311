package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/sqldb"
)

// CampaignRate is how many campaign messages the whole deployment sends a
// second by default: the periodic sender runs on one instance at a time
// (River's leader) and takes at most this many waiting recipients each
// second, so a campaign to thousands does not crowd out the reminders'
// pushes or trip a push service's limits.
const CampaignRate = 20

// campaignEvery is how often the periodic sender looks.
const campaignEvery = time.Second

// MaxQuietDays bounds the "no contact in N days" filter.
const MaxQuietDays = 3650

// Campaign statuses.
const (
	CampaignSending   = "sending"
	CampaignDone      = "done"
	CampaignCancelled = "cancelled"
)

// ErrCampaignOver: the campaign finished or was cancelled already.
var ErrCampaignOver = errors.New("outreach: the campaign is no longer sending")

// CampaignFilter chooses a campaign's recipients among one service point's
// clients whose clientship is active.
type CampaignFilter struct {
	ServicePointID int64
	Enrolled       bool // only clients with a phone that takes notifications
	QuietDays      int  // only clients with no contact in this many days; 0: any
}

// CampaignPreview is what a campaign would do: how many it reaches, and the
// text each language's recipients would get (placeholders unfilled).
type CampaignPreview struct {
	Recipients int
	Texts      []PreviewText
}

// PreviewText is the text the recipients of one language get.
type PreviewText struct {
	Language     string // the clients' language
	TextLanguage string // the language of the text they get (Finnish when theirs has none)
	Clients      int
	Text         string
}

// Campaign is a campaign as its list shows it.
type Campaign struct {
	ID              int64
	ServicePointID  int64
	TemplateName    string
	TemplateVersion int
	Filter          CampaignFilter
	Status          string
	Recipients      int
	Sent            int
	By              string
	CreatedAt       time.Time
}

// CampaignsPage is what the campaign screen needs: the service points the
// actor may run campaigns at, the templates, and the campaigns there.
type CampaignsPage struct {
	Points    []org.ServicePoint
	Templates []Template
	Campaigns []Campaign
}

func (f CampaignFilter) check() error {
	if f.QuietDays < 0 || f.QuietDays > MaxQuietDays {
		return Invalid{"quiet_days": "form.out_of_range"}
	}
	if f.ServicePointID <= 0 {
		return Invalid{"service_point": "form.required"}
	}
	return nil
}

// asPointLead runs fn in the actor's tenant once the actor manages the
// service point (its lead, or an admin).
func (s *Service) asPointLead(ctx context.Context, actor auth.Principal, sp int64, fn func(tx sqldb.Tx) error) error {
	return org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM service_points WHERE id = $1)`, sp).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return Invalid{"service_point": "form.invalid_choice"}
		}
		if err := auth.Authorize(ctx, tx, actor, actor.CanManage(sp) && !actor.IsAPIKey()); err != nil {
			return err
		}
		return fn(tx)
	})
}

// recipientsSQL selects the clients a filter matches: $1 service point,
// $2 enrolled only, $3 quiet days (0: any), $4 now.
const recipientsSQL = `SELECT c.id, c.language FROM clients c
	WHERE c.service_point_id = $1 AND c.status = 'active' AND c.erased_at IS NULL
	  AND (NOT $2::boolean OR EXISTS (SELECT 1 FROM client_devices d WHERE d.client_id = c.id AND d.revoked_at IS NULL
	                                  AND NOT d.notifications_off AND d.push_subscription IS NOT NULL))
	  AND ($3::int = 0 OR NOT EXISTS (SELECT 1 FROM client_contacts k WHERE k.client_id = c.id AND k.current
	                                  AND k.occurred_at > $4::timestamptz - $3::int * interval '1 day'))`

// templateVersion reads a template's newest version.
func templateVersion(ctx context.Context, tx sqldb.Tx, templateID int64) (int64, map[string]string, error) {
	var id int64
	var raw []byte
	err := tx.QueryRow(ctx, `SELECT id, texts FROM message_template_versions WHERE template_id = $1 ORDER BY version DESC LIMIT 1`,
		templateID).Scan(&id, &raw)
	if errors.Is(err, sqldb.ErrNoRows) {
		return 0, nil, Invalid{"template": "form.invalid_choice"}
	}
	if err != nil {
		return 0, nil, err
	}
	var texts map[string]string
	return id, texts, json.Unmarshal(raw, &texts)
}

// PreviewCampaign counts the clients the filter matches and shows the text
// each language's recipients would get, before anything is sent.
func (s *Service) PreviewCampaign(ctx context.Context, actor auth.Principal, f CampaignFilter, templateID int64) (CampaignPreview, error) {
	var out CampaignPreview
	if err := f.check(); err != nil {
		return out, err
	}
	err := s.asPointLead(ctx, actor, f.ServicePointID, func(tx sqldb.Tx) error {
		_, texts, err := templateVersion(ctx, tx, templateID)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT language, count(*) FROM (`+recipientsSQL+`) r GROUP BY language`,
			f.ServicePointID, f.Enrolled, f.QuietDays, s.clock())
		if err != nil {
			return err
		}
		type group struct {
			lang string
			n    int
		}
		groups, err := sqldb.CollectRows(rows, func(r sqldb.Row) (group, error) {
			var g group
			return g, r.Scan(&g.lang, &g.n)
		})
		if err != nil {
			return err
		}
		for _, g := range groups {
			lang, ok := clientLanguage(g.lang)
			if !ok {
				lang, _ = clientLanguage(i18n.Default)
			}
			text, code := PickText(texts, lang)
			out.Texts = append(out.Texts, PreviewText{Language: g.lang, TextLanguage: code, Clients: g.n, Text: text})
			out.Recipients += g.n
		}
		sort.Slice(out.Texts, func(i, j int) bool {
			if out.Texts[i].Clients != out.Texts[j].Clients {
				return out.Texts[i].Clients > out.Texts[j].Clients
			}
			return out.Texts[i].Language < out.Texts[j].Language
		})
		return nil
	})
	return out, err
}

// StartCampaign chooses the recipients as the preview did and queues them,
// in one transaction; the periodic sender sends them at CampaignRate. It
// returns the campaign and how many it reaches.
func (s *Service) StartCampaign(ctx context.Context, actor auth.Principal, f CampaignFilter, templateID int64) (int64, int, error) {
	if err := f.check(); err != nil {
		return 0, 0, err
	}
	var id int64
	var n int
	err := s.asPointLead(ctx, actor, f.ServicePointID, func(tx sqldb.Tx) error {
		version, _, err := templateVersion(ctx, tx, templateID)
		if err != nil {
			return err
		}
		filter, err := json.Marshal(map[string]any{"enrolled": f.Enrolled, "quiet_days": f.QuietDays})
		if err != nil {
			return err
		}
		now := s.clock()
		if err := tx.QueryRow(ctx, `INSERT INTO campaigns (municipality_id, service_point_id, template_version_id, filter, created_by, created_at, updated_at)
			VALUES (koto_tenant(), $1, $2, $3, $4, $5, $5) RETURNING id`, f.ServicePointID, version, filter, actor.StaffID, now).Scan(&id); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO campaign_recipients (municipality_id, campaign_id, client_id)
			SELECT koto_tenant(), $5, r.id FROM (`+recipientsSQL+`) r`, f.ServicePointID, f.Enrolled, f.QuietDays, now, id)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		status := CampaignSending
		if n == 0 {
			status = CampaignDone
		}
		_, err = tx.Exec(ctx, `UPDATE campaigns SET recipients = $2, status = $3 WHERE id = $1`, id, n, status)
		return err
	})
	return id, n, err
}

// CancelCampaign stops a campaign: the recipients not yet sent to get
// nothing.
func (s *Service) CancelCampaign(ctx context.Context, actor auth.Principal, id int64) error {
	var sp int64
	err := org.InTenant(ctx, s.db, actor, func(tx sqldb.Tx) error {
		return sqldb.NotFound(tx.QueryRow(ctx, `SELECT service_point_id FROM campaigns WHERE id = $1`, id).Scan(&sp))
	})
	if err != nil {
		return err
	}
	return s.asPointLead(ctx, actor, sp, func(tx sqldb.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE campaigns SET status = $2, updated_at = $3 WHERE id = $1 AND status = 'sending'`,
			id, CampaignCancelled, s.clock())
		if err == nil && tag.RowsAffected() == 0 {
			return ErrCampaignOver
		}
		return err
	})
}

// Campaigns is the campaign screen: the service points the actor manages,
// the templates, and the campaigns of those service points, the newest
// first.
func (s *Service) Campaigns(ctx context.Context, actor auth.Principal) (CampaignsPage, error) {
	var out CampaignsPage
	err := s.asManager(ctx, actor, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, slug, names, time_zone FROM service_points ORDER BY id`)
		if err != nil {
			return err
		}
		points, err := sqldb.CollectRows(rows, func(r sqldb.Row) (org.ServicePoint, error) {
			var p org.ServicePoint
			return p, r.Scan(&p.ID, &p.Slug, &p.Names, &p.TimeZone)
		})
		if err != nil {
			return err
		}
		var ids []int64
		for _, p := range points {
			if actor.CanManage(p.ID) {
				out.Points = append(out.Points, p)
				ids = append(ids, p.ID)
			}
		}
		if out.Templates, err = templates(ctx, tx, 0); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT k.id, k.service_point_id, t.name, v.version, coalesce((k.filter->>'enrolled')::boolean, false),
			coalesce((k.filter->>'quiet_days')::int, 0), k.status, k.recipients,
			(SELECT count(*) FROM campaign_recipients r WHERE r.campaign_id = k.id AND r.sent_at IS NOT NULL),
			coalesce(s.name, ''), k.created_at
			FROM campaigns k JOIN message_template_versions v ON v.id = k.template_version_id
			JOIN message_templates t ON t.id = v.template_id LEFT JOIN staff s ON s.id = k.created_by
			WHERE k.service_point_id = ANY($1) ORDER BY k.created_at DESC, k.id DESC LIMIT 50`, ids)
		if err != nil {
			return err
		}
		out.Campaigns, err = sqldb.CollectRows(rows, func(r sqldb.Row) (Campaign, error) {
			var c Campaign
			err := r.Scan(&c.ID, &c.ServicePointID, &c.TemplateName, &c.TemplateVersion, &c.Filter.Enrolled, &c.Filter.QuietDays,
				&c.Status, &c.Recipients, &c.Sent, &c.By, &c.CreatedAt)
			c.Filter.ServicePointID = c.ServicePointID
			return c, err
		})
		return err
	})
	return out, err
}

// SendCampaigns is the periodic job that sends waiting campaign messages.
type SendCampaigns struct{}

// Kind names the job in River's table.
func (SendCampaigns) Kind() string { return "client_campaigns" }

// SendCampaignBatch sends at most the rate's worth of waiting campaign
// messages, oldest first, across municipalities: each becomes a message
// to its client, rendered and queued for their phones as an expert's
// message is, in the recipient's own transaction with its mark as sent.
// Recipients another instance holds are skipped, never sent twice. It
// returns how many it sent.
func (s *Service) SendCampaignBatch(ctx context.Context) (int, error) {
	var tenants []int64
	if err := s.db.Tx(ctx, func(tx sqldb.Tx) error {
		rows, err := tx.Query(ctx, `SELECT koto_campaign_tenants()`)
		if err != nil {
			return err
		}
		tenants, err = sqldb.CollectRows(rows, sqldb.RowTo[int64])
		return err
	}); err != nil {
		return 0, err
	}
	budget := s.campaignRate
	if budget <= 0 {
		budget = CampaignRate
	}
	sent := 0
	var errs []error
	for _, tenant := range tenants {
		if sent >= budget {
			break
		}
		err := s.db.InTenant(ctx, tenant, func(tx sqldb.Tx) error {
			now := s.clock()
			rows, err := tx.Query(ctx, `SELECT r.id, r.client_id, r.campaign_id, k.template_version_id, k.created_by
				FROM campaign_recipients r JOIN campaigns k ON k.id = r.campaign_id
				WHERE r.sent_at IS NULL AND k.status = 'sending' ORDER BY r.id LIMIT $1 FOR UPDATE OF r SKIP LOCKED`, budget-sent)
			if err != nil {
				return err
			}
			type waiting struct {
				id, client, campaign, version int64
				by                            *int64
			}
			list, err := sqldb.CollectRows(rows, func(r sqldb.Row) (waiting, error) {
				var w waiting
				return w, r.Scan(&w.id, &w.client, &w.campaign, &w.version, &w.by)
			})
			if err != nil {
				return err
			}
			for _, w := range list {
				var msg int64
				if err := tx.QueryRow(ctx, `INSERT INTO client_messages (municipality_id, client_id, staff_id, template_version_id, send_at,
					campaign_id, created_at, updated_at) VALUES (koto_tenant(), $1, $2, $3, $4, $5, $4, $4) RETURNING id`,
					w.client, w.by, w.version, now, w.campaign).Scan(&msg); err != nil {
					return err
				}
				if err := s.dispatchTx(ctx, tx, tenant, msg); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `UPDATE campaign_recipients SET message_id = $2, sent_at = $3 WHERE id = $1`, w.id, msg, now); err != nil {
					return err
				}
			}
			sent += len(list)
			_, err = tx.Exec(ctx, `UPDATE campaigns k SET status = 'done', updated_at = $1 WHERE k.status = 'sending'
				AND NOT EXISTS (SELECT 1 FROM campaign_recipients r WHERE r.campaign_id = k.id AND r.sent_at IS NULL)`, now)
			return err
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return sent, errors.Join(errs...)
}
