-- +goose Up
-- Messages to clients' phones: the municipality's templates, kept in
-- versions, and the messages experts send, each going to every phone of the
-- client that takes reminders, tracked like a reminder.

-- A template: its name; its texts are in versions, the newest in use.
CREATE TABLE message_templates (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, id)
);
CREATE UNIQUE INDEX ON message_templates (municipality_id, lower(name));

-- One version of a template's texts, {"fi": "…", "so": "…"}: editing makes a
-- new one, so a message sent with an older version still says which.
CREATE TABLE message_template_versions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  template_id     bigint NOT NULL,
  version         integer NOT NULL CHECK (version >= 1),
  texts           jsonb NOT NULL CHECK (jsonb_typeof(texts) = 'object' AND texts ? 'fi'),
  created_by      bigint REFERENCES staff(id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, template_id, version),
  UNIQUE (municipality_id, id),
  FOREIGN KEY (municipality_id, template_id) REFERENCES message_templates(municipality_id, id)
);

-- A message from an expert to one client: written (text) or from a
-- template version, sent at send_at. It is rendered in the client's
-- language when it goes (body, lang), and goes to every phone then taking
-- reminders. scheduled → sent, or cancelled before, or unreachable when no
-- phone took it.
CREATE TABLE client_messages (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id     bigint NOT NULL REFERENCES municipalities(id),
  client_id           bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  staff_id            bigint REFERENCES staff(id),
  template_version_id bigint,
  text                text CHECK (length(text) <= 500),
  send_at             timestamptz NOT NULL,
  status              text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled','sent','cancelled','unreachable')),
  body                text NOT NULL DEFAULT '',
  lang                text NOT NULL DEFAULT '',
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((text IS NULL) <> (template_version_id IS NULL)),
  UNIQUE (municipality_id, id),
  FOREIGN KEY (municipality_id, template_version_id) REFERENCES message_template_versions(municipality_id, id)
);
CREATE INDEX ON client_messages (client_id, send_at);

-- A message's deliveries are tracked as the reminders' are, one row per
-- phone.
ALTER TABLE client_deliveries ALTER COLUMN appointment_id DROP NOT NULL;
ALTER TABLE client_deliveries ADD COLUMN message_id bigint REFERENCES client_messages(id) ON DELETE CASCADE;
ALTER TABLE client_deliveries DROP CONSTRAINT client_deliveries_kind_check;
ALTER TABLE client_deliveries ADD CONSTRAINT client_deliveries_kind_check CHECK (
  kind IN ('reminder_24h','reminder_2h') AND appointment_id IS NOT NULL AND message_id IS NULL
  OR kind = 'message' AND message_id IS NOT NULL AND appointment_id IS NULL);
CREATE UNIQUE INDEX ON client_deliveries (municipality_id, message_id, device_id) WHERE message_id IS NOT NULL;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['message_templates','message_template_versions','client_messages']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = (SELECT koto_tenant())) WITH CHECK (municipality_id = (SELECT koto_tenant()))', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
