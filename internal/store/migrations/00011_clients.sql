-- +goose Up
-- The client register: the part of a client record the national integration
-- client information system keeps (basic information, clientship,
-- responsible expert). Appointments, tasks and outreach refer to clients(id).

-- Trusted extensions: a database owner may create them without superuser.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE clients (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id      bigint NOT NULL REFERENCES municipalities(id),
  service_point_id     bigint NOT NULL REFERENCES service_points(id),
  -- The municipality's own key from its earlier system: imports and the
  -- API's transfer upsert by it.
  external_id          text CHECK (external_id IS NULL OR length(external_id) BETWEEN 1 AND 100),
  first_names          text NOT NULL CHECK (length(first_names) <= 200),
  last_name            text NOT NULL CHECK (length(last_name) <= 200),
  -- The name as the client writes it in their own script.
  native_name          text NOT NULL DEFAULT '' CHECK (length(native_name) <= 200),
  birth_date           date,
  language             text NOT NULL DEFAULT 'fi'
                       CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$' AND length(language) <= 35),
  interpreter_language text NOT NULL DEFAULT ''
                       CHECK (interpreter_language = '' OR interpreter_language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
  phone                text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
  email                text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
  responsible_staff_id bigint REFERENCES staff(id),
  status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active','ended')),
  note                 text NOT NULL DEFAULT '' CHECK (length(note) <= 4000),
  created_at           timestamptz NOT NULL DEFAULT now(),
  created_by           bigint REFERENCES staff(id),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  updated_by           bigint REFERENCES staff(id),
  -- Set when a client is erased for a data subject's request: the row stays
  -- (anonymous counts and foreign keys keep working), its personal data goes.
  erased_at            timestamptz
);
CREATE INDEX ON clients (municipality_id, service_point_id);
CREATE INDEX ON clients (responsible_staff_id) WHERE responsible_staff_id IS NOT NULL;
CREATE UNIQUE INDEX clients_external_id ON clients (municipality_id, external_id) WHERE external_id IS NOT NULL;

-- Clientship history: every start, end and continuation is kept.
CREATE TABLE clientship_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  client_id       bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('started','ended','continued')),
  on_date         date NOT NULL,
  reason          text NOT NULL DEFAULT '',
  staff_id        bigint REFERENCES staff(id),
  at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON clientship_events (client_id, at);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['clients','clientship_events']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
