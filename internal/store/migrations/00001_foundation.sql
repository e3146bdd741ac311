-- +goose Up
-- The application role: every pooled connection runs SET ROLE koto_app, so
-- row-level security applies to it (it owns nothing and bypasses nothing).
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'koto_app') THEN
    CREATE ROLE koto_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
  EXECUTE format('GRANT koto_app TO %I', current_user);
EXCEPTION WHEN others THEN
  NULL; -- already a member, or a superuser who needs no grant
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO koto_app;
ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO koto_app;
ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT ON SEQUENCES TO koto_app;
GRANT SELECT ON goose_db_version TO koto_app;

-- The tenant of the current transaction, or NULL when none is set: a NULL
-- compares unequal to everything, so a transaction without a tenant sees no
-- tenant rows.
CREATE FUNCTION koto_tenant() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.tenant', true), '')::bigint
$$;

CREATE TABLE municipalities (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE municipalities ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON municipalities USING (id = koto_tenant()) WITH CHECK (id = koto_tenant());

CREATE TABLE service_points (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id     bigint NOT NULL REFERENCES municipalities(id),
  -- Slugs are unique across the deployment: kiosk and display URLs name the
  -- service point alone.
  slug                text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  names               jsonb NOT NULL DEFAULT '{}',
  time_zone           text NOT NULL DEFAULT 'Europe/Helsinki',
  -- {"1": ["08:00","16:00"], …} keyed by ISO weekday; a missing day is closed.
  opening_hours       jsonb NOT NULL DEFAULT '{}',
  target_wait_minutes integer NOT NULL DEFAULT 20 CHECK (target_wait_minutes BETWEEN 1 AND 600),
  max_recalls         integer NOT NULL DEFAULT 2 CHECK (max_recalls BETWEEN 0 AND 10),
  created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON service_points (municipality_id);

CREATE TABLE desks (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  name             text NOT NULL,
  active           boolean NOT NULL DEFAULT true,
  UNIQUE (service_point_id, name)
);

CREATE TABLE topics (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  labels           jsonb NOT NULL DEFAULT '{}',
  pictogram        text NOT NULL,
  prefix           text NOT NULL CHECK (prefix ~ '^[A-Z]$'),
  active           boolean NOT NULL DEFAULT true,
  position         integer NOT NULL DEFAULT 0
);
CREATE INDEX ON topics (service_point_id, position);

CREATE TABLE staff (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  email           text NOT NULL CHECK (email = lower(email)),
  name            text NOT NULL,
  password_hash   text NOT NULL,
  languages       text[] NOT NULL DEFAULT '{}',
  locale          text NOT NULL DEFAULT 'fi',
  active          boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now()
);
-- One account per address across the deployment: login finds the tenant
-- from the address.
CREATE UNIQUE INDEX staff_email ON staff (email);

-- A role is held in a municipality, optionally narrowed to one service point.
CREATE TABLE staff_roles (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  staff_id         bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  service_point_id bigint REFERENCES service_points(id) ON DELETE CASCADE,
  role             text NOT NULL CHECK (role IN ('expert', 'lead', 'admin'))
);
CREATE UNIQUE INDEX staff_roles_unique ON staff_roles (staff_id, coalesce(service_point_id, 0), role);

CREATE TABLE sessions (
  id_hash         bytea PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  staff_id        bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  csrf_token      text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL
);
CREATE INDEX ON sessions (staff_id);

-- Failed logins counted per key (an account or a client address), shared by
-- every instance through the database.
CREATE TABLE login_failures (
  key        text NOT NULL,
  at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON login_failures (key, at);

CREATE TABLE devices (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  kind             text NOT NULL CHECK (kind IN ('kiosk', 'display')),
  name             text NOT NULL,
  pair_code_hash   bytea UNIQUE,
  pair_expires_at  timestamptz,
  token_hash       bytea UNIQUE,
  paired_at        timestamptz,
  revoked_at       timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- Append-only: the application role may insert and read, never change.
CREATE TABLE access_log (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at              timestamptz NOT NULL DEFAULT now(),
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  staff_id        bigint REFERENCES staff(id),
  subject_kind    text NOT NULL,
  subject_id      bigint,
  action          text NOT NULL,
  purpose         text NOT NULL DEFAULT '',
  result          text NOT NULL
);
CREATE INDEX ON access_log (municipality_id, at DESC);
REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM koto_app;

-- Services a visitor can be referred to, kept by the lead.
CREATE TABLE referral_services (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  names            jsonb NOT NULL DEFAULT '{}',
  active           boolean NOT NULL DEFAULT true,
  position         integer NOT NULL DEFAULT 0
);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['service_points','desks','topics','staff','staff_roles','sessions','devices','access_log','referral_services']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- Entry points that find the tenant from a secret or a public name, before
-- any tenant is set. SECURITY DEFINER runs them as the owner, past
-- row-level security, so each returns only what its caller must know.
CREATE FUNCTION koto_staff_by_email(p_email text)
RETURNS TABLE (id bigint, municipality_id bigint, password_hash text, active boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT id, municipality_id, password_hash, active FROM staff WHERE email = lower(p_email)
$$;

CREATE FUNCTION koto_session_tenant(p_id_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM sessions WHERE id_hash = p_id_hash AND expires_at > now()
$$;

CREATE FUNCTION koto_service_point_tenant(p_slug text) RETURNS TABLE (id bigint, municipality_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT id, municipality_id FROM service_points WHERE slug = p_slug
$$;

CREATE FUNCTION koto_device_tenant(p_token_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM devices WHERE token_hash = p_token_hash AND revoked_at IS NULL
$$;

CREATE FUNCTION koto_pair_code_tenant(p_code_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM devices
  WHERE pair_code_hash = p_code_hash AND pair_expires_at > now() AND revoked_at IS NULL
$$;

REVOKE ALL ON FUNCTION koto_staff_by_email(text), koto_session_tenant(bytea), koto_service_point_tenant(text),
  koto_device_tenant(bytea), koto_pair_code_tenant(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_staff_by_email(text), koto_session_tenant(bytea), koto_service_point_tenant(text),
  koto_device_tenant(bytea), koto_pair_code_tenant(bytea) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
