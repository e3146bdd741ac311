package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/koto-portal/portal/internal/sqldb"
	"github.com/koto-portal/portal/internal/store"
	"github.com/koto-portal/portal/internal/testdb"
)

// Row-level security is the second wall between municipalities: whatever a
// query forgets, PostgreSQL must still refuse. These tests find the tenant
// tables from the catalog, so a table added later without a policy, or
// without a fixture here, fails them.

// globalTables hold no municipality's data; every other table in public must
// carry municipality_id (or be municipalities itself) and be covered below.
var globalTables = map[string]string{
	"goose_db_version": "migration bookkeeping",
	"login_throttle":   "throttle counters keyed by a hash, shared by every tenant",
	"live_channels":    "sequence numbers of live event channels",
	// River's job queue: a job's arguments name a tenant and row ids, never
	// a person, and its worker reads the rows under that tenant.
	"river_job":          "durable jobs, ids only",
	"river_leader":       "which instance runs the periodic jobs",
	"river_migration":    "River's migration bookkeeping",
	"river_queue":        "job queue settings",
	"river_notification": "River's notification outbox (unused on PostgreSQL)",
}

// rlsTenant is one municipality's fixture rows, by the ids later rows need.
type rlsTenant struct {
	id                                       int64
	slug                                     string
	sp, desk, topic, staff, device, referral int64
	client                                   int64
	task                                     int64
	phone                                    int64 // a client_devices row
	appt                                     int64
	apiKey, webhook, webhookEvent            int64
	ticket, spareTicket                      int64 // spareTicket has no ticket_push row
	template, templateVersion                int64
	campaign, campaign2                      int64
}

// rlsFixture inserts one row of a tenant table. variant 0 is the row seeded
// for each tenant; variant 1 is a second row that must not collide with it
// (used for the insert checks); the SQL ends in RETURNING one bigint.
type rlsFixture struct {
	table string
	// tenantCol names the column the policy compares; touchCol is one the
	// update checks may set to itself.
	tenantCol, touchCol string
	row                 func(f *rlsTenant, variant int) (string, []any)
	seed                []int                                     // variants seeded per tenant; nil means {0}
	keep                func(f *rlsTenant, variant int, id int64) // remember a seeded row's id
	// noInsertControl: the same insert for the tenant itself cannot
	// succeed for another reason (municipalities: the id exists).
	noInsertControl bool
}

var rlsFixtures = []rlsFixture{
	{table: "municipalities", tenantCol: "id", touchCol: "name", noInsertControl: true,
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO municipalities (id, slug, name) OVERRIDING SYSTEM VALUE VALUES ($1, $2, 'Fixture') RETURNING id`,
				[]any{f.id, fmt.Sprintf("%s-x%d", f.slug, v)}
		},
		seed: []int{}, // created by rlsSeedTenant itself
	},
	{table: "service_points",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO service_points (municipality_id, slug) VALUES ($1, $2) RETURNING id`,
				[]any{f.id, fmt.Sprintf("%s-sp-%d", f.slug, v)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.sp = id },
	},
	{table: "desks",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO desks (municipality_id, service_point_id, name) VALUES ($1, $2, $3) RETURNING id`,
				[]any{f.id, f.sp, fmt.Sprintf("desk %d", v)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.desk = id },
	},
	{table: "topics",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO topics (municipality_id, service_point_id, pictogram, prefix, position) VALUES ($1, $2, 'other', 'A', $3) RETURNING id`,
				[]any{f.id, f.sp, v}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.topic = id },
	},
	{table: "staff",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO staff (municipality_id, email, name, password_hash) VALUES ($1, $2, 'Fixture', 'not a hash') RETURNING id`,
				[]any{f.id, fmt.Sprintf("staff%d@%s.example", v, f.slug)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.staff = id },
	},
	{table: "staff_roles",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO staff_roles (municipality_id, staff_id, service_point_id, role) VALUES ($1, $2, $3, $4) RETURNING id`,
				[]any{f.id, f.staff, f.sp, []string{"expert", "lead"}[v]}
		},
	},
	{table: "sessions",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO sessions (municipality_id, staff_id, id_hash, csrf_token, expires_at)
				VALUES ($1, $2, $3, 'csrf', now() + interval '1 hour') RETURNING municipality_id`,
				[]any{f.id, f.staff, []byte(fmt.Sprintf("%s-session-%d", f.slug, v))}
		},
	},
	{table: "password_links",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO password_links (id_hash, municipality_id, staff_id, expires_at)
				VALUES ($1, $2, $3, now() + interval '1 hour') RETURNING municipality_id`,
				[]any{[]byte(fmt.Sprintf("%s-password-link-%d", f.slug, v)), f.id, f.staff}
		},
	},
	// One row per municipality (and per account): a second one collides
	// with the seeded row, so the insert control cannot run.
	{table: "signin_settings", noInsertControl: true,
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO signin_settings (municipality_id, oidc_name) VALUES ($1, $2) RETURNING municipality_id`,
				[]any{f.id, fmt.Sprintf("Provider %d", v)}
		},
	},
	{table: "totp_factors", noInsertControl: true,
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO totp_factors (staff_id, municipality_id, secret) VALUES ($1, $2, $3) RETURNING municipality_id`,
				[]any{f.staff, f.id, fmt.Sprintf("SECRET%d", v)}
		},
	},
	{table: "oidc_role_mappings",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO oidc_role_mappings (municipality_id, claim_value, role) VALUES ($1, $2, 'expert') RETURNING id`,
				[]any{f.id, fmt.Sprintf("group-%d", v)}
		},
	},
	{table: "oidc_states",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO oidc_states (state_hash, municipality_id, nonce, verifier, expires_at)
				VALUES ($1, $2, 'n', 'v', now() + interval '10 minutes') RETURNING municipality_id`,
				[]any{[]byte(fmt.Sprintf("%s-state-%d", f.slug, v)), f.id}
		},
	},
	{table: "webauthn_credentials",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO webauthn_credentials (municipality_id, staff_id, credential_id, name, credential)
				VALUES ($1, $2, $3, 'Key', '{}') RETURNING id`, []any{f.id, f.staff, []byte(fmt.Sprintf("cred-%d", v))}
		},
	},
	{table: "recovery_codes",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO recovery_codes (code_hash, municipality_id, staff_id) VALUES ($1, $2, $3) RETURNING municipality_id`,
				[]any{[]byte(fmt.Sprintf("%s-code-%d", f.slug, v)), f.id, f.staff}
		},
	},
	{table: "devices",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO devices (municipality_id, service_point_id, kind, name) VALUES ($1, $2, 'kiosk', $3) RETURNING id`,
				[]any{f.id, f.sp, fmt.Sprintf("kiosk %d", v)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.device = id },
	},
	{table: "access_log",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO access_log (municipality_id, staff_id, subject_kind, subject_id, action, result)
				VALUES ($1, $2, 'fixture', $3, 'read', 'ok') RETURNING id`, []any{f.id, f.staff, v}
		},
	},
	{table: "referral_services",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO referral_services (municipality_id, service_point_id, position) VALUES ($1, $2, $3) RETURNING id`,
				[]any{f.id, f.sp, v}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.referral = id },
	},
	{table: "ticket_counters",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO ticket_counters (municipality_id, service_point_id, prefix, service_day, last_number)
				VALUES ($1, $2, $3, current_date, 1) RETURNING municipality_id`, []any{f.id, f.sp, fmt.Sprintf("P%d", v)}
		},
	},
	{table: "topic_waiting",
		row: func(f *rlsTenant, v int) (string, []any) {
			// Days ahead, clear of the count the tickets below keep for today.
			return `INSERT INTO topic_waiting (municipality_id, service_point_id, topic_id, service_day, waiting)
				VALUES ($1, $2, $3, current_date + $4::int, 1) RETURNING municipality_id`, []any{f.id, f.sp, f.topic, v + 10}
		},
	},
	{table: "tickets", seed: []int{0, 2},
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO tickets (municipality_id, service_point_id, topic_id, original_topic_id, prefix, number, service_day, language, device_id)
				VALUES ($1, $2, $3, $3, 'A', $4, current_date, 'fi', $5) RETURNING id`, []any{f.id, f.sp, f.topic, v + 1, f.device}
		},
		keep: func(f *rlsTenant, v int, id int64) {
			if v == 0 {
				f.ticket = id
			} else {
				f.spareTicket = id
			}
		},
	},
	{table: "ticket_push",
		row: func(f *rlsTenant, v int) (string, []any) {
			ticket := f.ticket
			if v != 0 {
				ticket = f.spareTicket
			}
			return `INSERT INTO ticket_push (municipality_id, ticket_id, subscription) VALUES ($1, $2, '{}') RETURNING ticket_id`,
				[]any{f.id, ticket}
		},
	},
	{table: "visits",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO visits (municipality_id, service_point_id, channel, topic_ids, language, referral_id, wait_seconds)
				VALUES ($1, $2, 'desk', ARRAY[$3::bigint], 'fi', $4, $5) RETURNING id`, []any{f.id, f.sp, f.topic, f.referral, v}
		},
	},
	{table: "clients",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO clients (municipality_id, service_point_id, first_names, last_name, responsible_staff_id)
				VALUES ($1, $2, 'Fixture', $3, $4) RETURNING id`, []any{f.id, f.sp, fmt.Sprintf("Client %d", v), f.staff}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.client = id },
	},
	{table: "clientship_events",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO clientship_events (municipality_id, client_id, kind, on_date, staff_id)
				VALUES ($1, $2, $3, current_date, $4) RETURNING id`, []any{f.id, f.client, []string{"started", "ended"}[v], f.staff}
		},
	},
	{table: "tasks",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO tasks (municipality_id, service_point_id, kind, client_id, assignee_id, source_key)
				VALUES ($1, $2, 'call_me', $3, $4, $5) RETURNING id`, []any{f.id, f.sp, f.client, f.staff, fmt.Sprintf("fixture:%d", v)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.task = id },
	},
	{table: "task_events",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO task_events (municipality_id, task_id, staff_id, action)
				VALUES ($1, $2, $3, $4) RETURNING id`, []any{f.id, f.task, f.staff, []string{"created", "claimed"}[v]}
		},
	},
	{table: "staff_push",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO staff_push (municipality_id, staff_id, endpoint_hash, subscription)
				VALUES ($1, $2, $3, '{}') RETURNING id`, []any{f.id, f.staff, []byte(fmt.Sprintf("%s-endpoint-%d", f.slug, v))}
		},
	},
	{table: "client_contacts",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO client_contacts (municipality_id, client_id, entry_id, occurred_at, channel, summary, staff_id, recorded_by)
				VALUES ($1, $2, $3, now(), 'phone', 'Fixture', $4, $4) RETURNING id`, []any{f.id, f.client, f.client*10 + int64(v), f.staff}
		},
	},
	{table: "appointment_settings",
		row: func(f *rlsTenant, v int) (string, []any) {
			if v == 0 {
				return `INSERT INTO appointment_settings (service_point_id, municipality_id) VALUES ($1, $2) RETURNING service_point_id`,
					[]any{f.sp, f.id}
			}
			// One row per service point: the second row needs one of its own.
			return `WITH sp AS (INSERT INTO service_points (municipality_id, slug) VALUES ($1, $2) RETURNING id)
				INSERT INTO appointment_settings (service_point_id, municipality_id) SELECT id, $1 FROM sp RETURNING service_point_id`,
				[]any{f.id, fmt.Sprintf("%s-appt-sp-%d", f.slug, v)}
		},
	},
	{table: "appointments",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO appointments (municipality_id, client_id, service_point_id, staff_id, channel, desk_id, topic_id,
				starts_at, duration_minutes, code, ticket_id)
				VALUES ($1, $2, $3, $4, 'in_person', $5, $6, now() + interval '1 day', 30, $7, $8) RETURNING id`,
				[]any{f.id, f.client, f.sp, f.staff, f.desk, f.topic, fmt.Sprintf("1234567%d", v), f.ticket}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.appt = id },
	},
	{table: "client_enrolments",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO client_enrolments (municipality_id, client_id, token_hash, expires_at)
				VALUES ($1, $2, $3, now() + interval '7 days') RETURNING id`, []any{f.id, f.client, []byte(fmt.Sprintf("%s-enrol-%d", f.slug, v))}
		},
	},
	{table: "client_devices",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO client_devices (municipality_id, client_id, credential_hash) VALUES ($1, $2, $3) RETURNING id`,
				[]any{f.id, f.client, []byte(fmt.Sprintf("%s-phone-%d", f.slug, v))}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.phone = id },
	},
	{table: "client_answers",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO client_answers (municipality_id, client_id, device_id, kind) VALUES ($1, $2, $3, $4) RETURNING id`,
				[]any{f.id, f.client, f.phone, []string{"call_me", "interpreter"}[v]}
		},
	},
	{table: "client_deliveries",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO client_deliveries (municipality_id, client_id, device_id, appointment_id, kind)
				VALUES ($1, $2, $3, $4, $5) RETURNING id`,
				[]any{f.id, f.client, f.phone, f.appt, []string{"reminder_24h", "reminder_2h"}[v]}
		},
	},
	{table: "message_templates", touchCol: "name",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO message_templates (municipality_id, name) VALUES ($1, $2) RETURNING id`,
				[]any{f.id, fmt.Sprintf("Template %d", v)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.template = id },
	},
	{table: "message_template_versions", touchCol: "texts",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO message_template_versions (municipality_id, template_id, version, texts) VALUES ($1, $2, $3, '{"fi": "Hei"}') RETURNING id`,
				[]any{f.id, f.template, v + 1}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.templateVersion = id },
	},
	{table: "client_messages", touchCol: "body",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO client_messages (municipality_id, client_id, template_version_id, send_at) VALUES ($1, $2, $3, now()) RETURNING id`,
				[]any{f.id, f.client, f.templateVersion}
		},
	},
	{table: "campaigns", touchCol: "status", seed: []int{0, 2},
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO campaigns (municipality_id, service_point_id, template_version_id, filter, recipients) VALUES ($1, $2, $3, '{}', $4) RETURNING id`,
				[]any{f.id, f.sp, f.templateVersion, v}
		},
		keep: func(f *rlsTenant, v int, id int64) {
			if v == 0 {
				f.campaign = id
			} else {
				f.campaign2 = id // for a second recipient row of the same client
			}
		},
	},
	{table: "campaign_recipients", touchCol: "sent_at",
		row: func(f *rlsTenant, v int) (string, []any) {
			campaign := f.campaign
			if v != 0 {
				campaign = f.campaign2
			}
			return `INSERT INTO campaign_recipients (municipality_id, campaign_id, client_id) VALUES ($1, $2, $3) RETURNING id`,
				[]any{f.id, campaign, f.client}
		},
	},
	{table: "checkin_failures",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO checkin_failures (municipality_id, device_id, at) VALUES ($1, $2, now() - $3 * interval '1 minute') RETURNING id`,
				[]any{f.id, f.device, v}
		},
	},
	{table: "api_keys",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO api_keys (municipality_id, name, token_hash, prefix, scopes) VALUES ($1, 'Fixture', $2, 'x', '{stats:read}') RETURNING id`,
				[]any{f.id, []byte(fmt.Sprintf("%s-api-key-%d", f.slug, v))}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.apiKey = id },
	},
	{table: "api_rate",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO api_rate (municipality_id, api_key_id, window_start, hits) VALUES ($1, $2, now() + make_interval(mins => $3), 1) RETURNING api_key_id`,
				[]any{f.id, f.apiKey, v}
		},
	},
	{table: "api_idempotency",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO api_idempotency (municipality_id, api_key_id, key, request_hash) VALUES ($1, $2, $3, 'h') RETURNING api_key_id`,
				[]any{f.id, f.apiKey, fmt.Sprintf("key-%d", v)}
		},
	},
	{table: "webhook_endpoints",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO webhook_endpoints (municipality_id, url, events, secret) VALUES ($1, $2, '{client.created}', 'whsec_x') RETURNING id`,
				[]any{f.id, fmt.Sprintf("https://%s.example/hook/%d", f.slug, v)}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.webhook = id },
	},
	{table: "webhook_events",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO webhook_events (municipality_id, type, data) VALUES ($1, 'client.created', jsonb_build_object('client_id', $2::int)) RETURNING id`,
				[]any{f.id, v}
		},
		keep: func(f *rlsTenant, _ int, id int64) { f.webhookEvent = id },
	},
	{table: "webhook_deliveries",
		row: func(f *rlsTenant, v int) (string, []any) {
			return `INSERT INTO webhook_deliveries (municipality_id, endpoint_id, event_id, attempt) VALUES ($1, $2, $3, $4) RETURNING id`,
				[]any{f.id, f.webhook, f.webhookEvent, v + 1}
		},
	},
}

func (fx rlsFixture) col() string {
	if fx.tenantCol == "" {
		return "municipality_id"
	}
	return fx.tenantCol
}

func (fx rlsFixture) touch() string {
	if fx.touchCol == "" {
		return "municipality_id"
	}
	return fx.touchCol
}

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isPolicyViolation tells the refusal row-level security gives a new row.
func isPolicyViolation(err error) bool {
	return sqlState(err) == "42501" && strings.Contains(err.Error(), "row-level security")
}

func isPermissionDenied(err error) bool {
	return sqlState(err) == "42501" && strings.Contains(err.Error(), "permission denied")
}

var errRollback = errors.New("roll back")

// rlsSeedTenant creates a municipality and one row of every tenant table for
// it, through the owner connection (which row-level security does not bind).
func rlsSeedTenant(t *testing.T, ctx context.Context, owner *pgx.Conn, slug string) *rlsTenant {
	t.Helper()
	f := &rlsTenant{slug: slug}
	if err := owner.QueryRow(ctx, `INSERT INTO municipalities (slug, name) VALUES ($1, $1) RETURNING id`, slug).Scan(&f.id); err != nil {
		t.Fatalf("seed municipality %s: %v", slug, err)
	}
	for _, fx := range rlsFixtures {
		variants := fx.seed
		if variants == nil {
			variants = []int{0}
		}
		for _, v := range variants {
			sql, args := fx.row(f, v)
			var id int64
			if err := owner.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
				t.Fatalf("seed %s for %s: %v", fx.table, slug, err)
			}
			if fx.keep != nil {
				fx.keep(f, v, id)
			}
		}
	}
	return f
}

// tenantTables lists the base tables of public that hold a municipality's
// rows: municipalities itself, and every table with municipality_id.
func tenantTables(t *testing.T, ctx context.Context, owner *pgx.Conn) []string {
	t.Helper()
	rows, err := owner.Query(ctx, `
		SELECT DISTINCT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND c.column_name = 'municipality_id' AND t.table_type = 'BASE TABLE'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("found no table with municipality_id: the discovery query is broken")
	}
	return append([]string{"municipalities"}, names...)
}

// rlsSetup migrates a fresh database, seeds tenants A and B, and checks that
// the fixtures cover exactly the tenant tables the catalog shows.
func rlsSetup(t *testing.T) (ctx context.Context, db *store.DB, ownerURL string, owner *pgx.Conn, a, b *rlsTenant) {
	t.Helper()
	ctx = context.Background()
	db, ownerURL = testdb.New(t)
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close(ctx) })

	tables := tenantTables(t, ctx, owner)
	have := map[string]bool{}
	for _, fx := range rlsFixtures {
		have[fx.table] = true
	}
	for _, name := range tables {
		if !have[name] {
			t.Errorf("tenant table %s (it has municipality_id) has no fixture in rls_test.go: add one to rlsFixtures so its row-level security is tested", name)
		}
	}
	for _, fx := range rlsFixtures {
		if !slices.Contains(tables, fx.table) {
			t.Errorf("rls_test.go has a fixture for %s, which is no longer a tenant table: remove it", fx.table)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	a = rlsSeedTenant(t, ctx, owner, "tenant-a")
	b = rlsSeedTenant(t, ctx, owner, "tenant-b")
	return ctx, db, ownerURL, owner, a, b
}

func ownerCount(t *testing.T, ctx context.Context, owner *pgx.Conn, fx rlsFixture, tenant int64) int {
	t.Helper()
	var n int
	if err := owner.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s = $1`, fx.table, fx.col()), tenant).Scan(&n); err != nil {
		t.Fatalf("%s: %v", fx.table, err)
	}
	return n
}

// ownerFingerprint is a digest of a table's whole content, to show a refused
// statement changed nothing.
func ownerFingerprint(t *testing.T, ctx context.Context, owner *pgx.Conn, table string) string {
	t.Helper()
	var s string
	if err := owner.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM %s x`, table)).Scan(&s); err != nil {
		t.Fatalf("%s: %v", table, err)
	}
	return s
}

// Every tenant table the catalog shows has row-level security on, with a
// policy that compares its tenant column with koto_tenant() for every
// command; no other permissive policy widens it; every other table is one we
// know holds no tenant's data.
func TestEveryTenantTableHasRowLevelSecurity(t *testing.T) {
	ctx := context.Background()
	_, ownerURL := testdb.New(t)
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)

	tables := tenantTables(t, ctx, owner)
	for _, name := range tables {
		col := "municipality_id"
		if name == "municipalities" {
			col = "id"
		}
		var enabled bool
		if err := owner.QueryRow(ctx, `SELECT c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'public' AND c.relname = $1`, name).Scan(&enabled); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !enabled {
			t.Errorf("tenant table %s does not have row-level security enabled (ALTER TABLE %s ENABLE ROW LEVEL SECURITY)", name, name)
		}
		rows, err := owner.Query(ctx, `SELECT policyname, permissive, roles::text[], cmd, coalesce(qual, ''), coalesce(with_check, '')
			FROM pg_policies WHERE schemaname = 'public' AND tablename = $1`, name)
		if err != nil {
			t.Fatal(err)
		}
		var covering int
		var n int
		for rows.Next() {
			var pname, permissive, cmd, qual, check string
			var roles []string
			if err := rows.Scan(&pname, &permissive, &roles, &cmd, &qual, &check); err != nil {
				t.Fatal(err)
			}
			n++
			scoped := func(expr string) bool {
				return strings.Contains(expr, "koto_tenant()") && strings.Contains(expr, col)
			}
			if permissive == "PERMISSIVE" && !scoped(qual) {
				t.Errorf("%s: permissive policy %s (USING %s) is not scoped to koto_tenant(): it widens what every tenant sees", name, pname, qual)
			}
			if check != "" && !scoped(check) {
				t.Errorf("%s: policy %s WITH CHECK %s is not scoped to koto_tenant()", name, pname, check)
			}
			if permissive == "PERMISSIVE" && cmd == "ALL" && scoped(qual) &&
				(slices.Contains(roles, "public") || slices.Contains(roles, store.AppRole)) {
				covering++
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("tenant table %s has no row-level security policy", name)
		} else if covering == 0 {
			t.Errorf("tenant table %s has no policy FOR ALL to %s scoped by %s = koto_tenant()", name, store.AppRole, col)
		}
	}

	// Every other table is known to hold no tenant's data.
	rows, err := owner.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range all {
		if !slices.Contains(tables, name) && globalTables[name] == "" {
			t.Errorf("table %s has no municipality_id and is not listed in globalTables: if it holds a tenant's data it needs municipality_id and a policy; if not, list it with the reason", name)
		}
	}

	// A view runs with its owner's rights unless it is security_invoker, so
	// one over a tenant table would read past every policy.
	rows, err = owner.Query(ctx, `SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var opts []string
		if err := rows.Scan(&name, &opts); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(opts, "security_invoker=true") {
			t.Errorf("view %s is not security_invoker: it would read tenant tables past row-level security", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// The entry points that run past row-level security must pin their search
// path (or a planted function could run as the owner) and not be callable by
// every role.
func TestSecurityDefinerFunctionsArePinned(t *testing.T) {
	ctx := context.Background()
	_, ownerURL := testdb.New(t)
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	rows, err := owner.Query(ctx, `SELECT p.oid::regprocedure::text, coalesce(p.proconfig, '{}'),
			has_function_privilege('public', p.oid, 'EXECUTE')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.prosecdef`)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for rows.Next() {
		var name string
		var config []string
		var public bool
		if err := rows.Scan(&name, &config, &public); err != nil {
			t.Fatal(err)
		}
		n++
		if !slices.ContainsFunc(config, func(s string) bool { return strings.HasPrefix(s, "search_path=") }) {
			t.Errorf("SECURITY DEFINER function %s does not SET search_path", name)
		}
		if public {
			t.Errorf("SECURITY DEFINER function %s is executable by PUBLIC", name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("found no SECURITY DEFINER function: the query is broken (koto_staff_by_email is one)")
	}
}

// Through the application's pool, a transaction in tenant A sees, changes,
// deletes and creates only A's rows, in every tenant table; one with no
// tenant sees nothing.
func TestRowLevelSecurityIsolatesTenants(t *testing.T) {
	ctx, db, _, owner, a, b := rlsSetup(t)

	before := map[string]string{}
	for _, fx := range rlsFixtures {
		before[fx.table] = ownerFingerprint(t, ctx, owner, fx.table)
	}

	for _, fx := range rlsFixtures {
		t.Run(fx.table, func(t *testing.T) {
			col := fx.col()
			wantA, wantB := ownerCount(t, ctx, owner, fx, a.id), ownerCount(t, ctx, owner, fx, b.id)
			if wantA == 0 || wantB == 0 {
				t.Fatalf("fixture gave A %d and B %d rows; each needs at least one", wantA, wantB)
			}

			// SELECT: A's rows, all of them, and nothing else.
			var seen, foreign int
			if err := db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
				return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE %s <> $1) FROM %s`, col, fx.table), a.id).Scan(&seen, &foreign)
			}); err != nil {
				t.Fatal(err)
			}
			if seen != wantA || foreign != 0 {
				t.Errorf("tenant A sees %d rows (%d of another tenant), want A's %d only", seen, foreign, wantA)
			}
			// Asking for B's rows by their tenant column finds none.
			var asked int
			if err := db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
				return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s = $1`, fx.table, col), b.id).Scan(&asked)
			}); err != nil {
				t.Fatal(err)
			}
			if asked != 0 {
				t.Errorf("tenant A reads %d of B's rows by asking for them", asked)
			}

			appendOnly := fx.table == "access_log"

			// UPDATE of B's rows affects none.
			var affected int64
			err := db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
				tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET %s = %s WHERE %s = $1`, fx.table, fx.touch(), fx.touch(), col), b.id)
				affected = tag.RowsAffected()
				return err
			})
			switch {
			case appendOnly && !isPermissionDenied(err):
				t.Errorf("UPDATE of the append-only %s: %v, want permission denied", fx.table, err)
			case !appendOnly && err != nil:
				t.Errorf("UPDATE of B's rows: %v", err)
			case !appendOnly && affected != 0:
				t.Errorf("UPDATE of B's rows in tenant A affected %d rows, want 0", affected)
			}

			// UPDATE moving A's rows to B is refused by WITH CHECK.
			if fx.col() == "municipality_id" {
				err := db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
					_, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET municipality_id = $2 WHERE municipality_id = $1`, fx.table), a.id, b.id)
					return err
				})
				if appendOnly && !isPermissionDenied(err) {
					t.Errorf("UPDATE moving A's rows of the append-only %s to B: %v, want permission denied", fx.table, err)
				} else if !appendOnly && !isPolicyViolation(err) {
					t.Errorf("UPDATE moving A's rows to B: %v, want a row-level security violation", err)
				}
			}

			// DELETE of B's rows affects none.
			err = db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
				tag, err := tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s = $1`, fx.table, col), b.id)
				affected = tag.RowsAffected()
				return err
			})
			switch {
			case appendOnly && !isPermissionDenied(err):
				t.Errorf("DELETE from the append-only %s: %v, want permission denied", fx.table, err)
			case !appendOnly && err != nil:
				t.Errorf("DELETE of B's rows: %v", err)
			case !appendOnly && affected != 0:
				t.Errorf("DELETE of B's rows in tenant A affected %d rows, want 0", affected)
			}

			// INSERT of a row for B is a policy violation; the same row
			// for A goes in (so the refusal is the policy, not the row).
			err = db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
				sql, args := fx.row(b, 1)
				var id int64
				return tx.QueryRow(ctx, sql, args...).Scan(&id)
			})
			if !isPolicyViolation(err) {
				t.Errorf("INSERT of a row for B in tenant A: %v, want a row-level security violation", err)
			}
			if !fx.noInsertControl {
				err = db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
					sql, args := fx.row(a, 1)
					var id int64
					if err := tx.QueryRow(ctx, sql, args...).Scan(&id); err != nil {
						return err
					}
					return errRollback
				})
				if !errors.Is(err, errRollback) {
					t.Errorf("control: INSERT of the same row for A in tenant A: %v", err)
				}
			}

			// No tenant: nothing visible, nothing insertable.
			var none int
			if err := db.Tx(ctx, func(tx sqldb.Tx) error {
				return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, fx.table)).Scan(&none)
			}); err != nil {
				t.Fatal(err)
			}
			if none != 0 {
				t.Errorf("a transaction without tenant sees %d rows", none)
			}
			err = db.Tx(ctx, func(tx sqldb.Tx) error {
				sql, args := fx.row(a, 1)
				var id int64
				return tx.QueryRow(ctx, sql, args...).Scan(&id)
			})
			if !isPolicyViolation(err) {
				t.Errorf("INSERT without tenant: %v, want a row-level security violation", err)
			}

			// A tenant id no municipality has sees nothing either.
			if err := db.InTenant(ctx, b.id+1000, func(tx sqldb.Tx) error {
				return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, fx.table)).Scan(&none)
			}); err != nil {
				t.Fatal(err)
			}
			if none != 0 {
				t.Errorf("an unknown tenant sees %d rows", none)
			}
		})
	}

	// Whatever was tried, no table changed.
	for _, fx := range rlsFixtures {
		if got := ownerFingerprint(t, ctx, owner, fx.table); got != before[fx.table] {
			t.Errorf("%s changed under the refused statements:\nbefore %s\nafter  %s", fx.table, before[fx.table], got)
		}
	}
}

// On a pool of one connection, the tenant of one transaction never follows
// the connection into the next: without a tenant it sees nothing, with B
// only B's rows.
func TestTenantDoesNotFollowThePooledConnection(t *testing.T) {
	ctx, _, ownerURL, owner, a, b := rlsSetup(t)
	db, err := store.Open(ctx, ownerURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// count reads every tenant table; pid proves the same connection served.
	count := func(tx sqldb.Tx) (map[string]int, int32, error) {
		got := map[string]int{}
		for _, fx := range rlsFixtures {
			var n int
			if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, fx.table)).Scan(&n); err != nil {
				return nil, 0, fmt.Errorf("%s: %w", fx.table, err)
			}
			got[fx.table] = n
		}
		var pid int32
		err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid)
		return got, pid, err
	}
	want := func(tenant int64) map[string]int {
		m := map[string]int{}
		for _, fx := range rlsFixtures {
			m[fx.table] = ownerCount(t, ctx, owner, fx, tenant)
		}
		return m
	}
	zero := map[string]int{}
	for _, fx := range rlsFixtures {
		zero[fx.table] = 0
	}

	var pids []int32
	steps := []struct {
		name   string
		tenant int64 // 0: db.Tx
		fail   bool  // the transaction ends in an error (rolled back)
		want   map[string]int
	}{
		{"tenant A", a.id, false, want(a.id)},
		{"no tenant after A", 0, false, zero},
		{"tenant B after A", b.id, false, want(b.id)},
		{"tenant A, rolled back", a.id, true, want(a.id)},
		{"no tenant after a rolled-back A", 0, false, zero},
		{"tenant B after a rolled-back A", b.id, false, want(b.id)},
	}
	for _, st := range steps {
		var got map[string]int
		fn := func(tx sqldb.Tx) error {
			var pid int32
			var err error
			got, pid, err = count(tx)
			pids = append(pids, pid)
			if err == nil && st.fail {
				return errRollback
			}
			return err
		}
		if st.tenant == 0 {
			err = db.Tx(ctx, fn)
		} else {
			err = db.InTenant(ctx, st.tenant, fn)
		}
		if err != nil && !(st.fail && errors.Is(err, errRollback)) {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, fx := range rlsFixtures {
			if got[fx.table] != st.want[fx.table] {
				t.Errorf("%s: %s shows %d rows, want %d", st.name, fx.table, got[fx.table], st.want[fx.table])
			}
		}
	}
	for _, pid := range pids[1:] {
		if pid != pids[0] {
			t.Fatalf("transactions ran on backends %v; the test needs them on one connection", pids)
		}
	}
}

// The access log is append-only for the application, even within its own
// tenant: no UPDATE, DELETE or TRUNCATE.
func TestAccessLogIsAppendOnlyForTheApp(t *testing.T) {
	ctx, db, _, owner, a, _ := rlsSetup(t)
	before := ownerFingerprint(t, ctx, owner, "access_log")

	for _, stmt := range []string{
		`UPDATE access_log SET action = 'changed' WHERE municipality_id = $1`,
		`UPDATE access_log SET result = 'changed'`,
		`DELETE FROM access_log WHERE municipality_id = $1`,
		`DELETE FROM access_log`,
		`TRUNCATE access_log`,
	} {
		err := db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
			var args []any
			if strings.Contains(stmt, "$1") {
				args = append(args, a.id)
			}
			_, err := tx.Exec(ctx, stmt, args...)
			return err
		})
		if !isPermissionDenied(err) {
			t.Errorf("%s as the app in its own tenant: %v, want permission denied", stmt, err)
		}
	}
	// Appending still works (so the refusals above are about the verbs).
	if err := db.InTenant(ctx, a.id, func(tx sqldb.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO access_log (municipality_id, subject_kind, action, result)
			VALUES ($1, 'client', 'read', 'ok') RETURNING id`, a.id).Scan(&id); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Errorf("app cannot append to access_log: %v", err)
	}
	if got := ownerFingerprint(t, ctx, owner, "access_log"); got != before {
		t.Errorf("access_log changed:\nbefore %s\nafter  %s", before, got)
	}
	var upd, del, trunc bool
	if err := owner.QueryRow(ctx, `SELECT has_table_privilege($1, 'access_log', 'UPDATE'),
		has_table_privilege($1, 'access_log', 'DELETE'), has_table_privilege($1, 'access_log', 'TRUNCATE')`, store.AppRole).
		Scan(&upd, &del, &trunc); err != nil {
		t.Fatal(err)
	}
	if upd || del || trunc {
		t.Errorf("%s holds UPDATE=%v DELETE=%v TRUNCATE=%v on access_log", store.AppRole, upd, del, trunc)
	}
}

// The pool's role is not superuser, not BYPASSRLS, owns no table, and is no
// member of a role that does (which would let it SET ROLE to the owner).
func TestAppRoleCannotBypassRowLevelSecurity(t *testing.T) {
	ctx, db, _, _, _, _ := rlsSetup(t)
	var user string
	var super, bypass, createRole bool
	if err := db.Pool.QueryRow(ctx, `SELECT current_user, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user`).
		Scan(&user, &super, &bypass, &createRole); err != nil {
		t.Fatal(err)
	}
	if user != store.AppRole {
		t.Fatalf("pool runs as %q, want %q", user, store.AppRole)
	}
	if super || bypass || createRole {
		t.Errorf("%s: superuser=%v bypassrls=%v createrole=%v, want all false", user, super, bypass, createRole)
	}
	rows, err := db.Pool.Query(ctx, `SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'MEMBER')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var table, ownerRole string
		if err := rows.Scan(&table, &ownerRole); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s owns table %s (through role %s)", user, table, ownerRole)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var withRLS int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relrowsecurity`).Scan(&withRLS); err != nil {
		t.Fatal(err)
	}
	if withRLS == 0 {
		t.Error("no table has row-level security on; the checks above would prove nothing")
	}
}
