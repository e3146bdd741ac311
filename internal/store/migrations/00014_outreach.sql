-- +goose Up
-- Outreach to clients' phones: one-time enrolment links, the phones bound to
-- a client by a long-lived credential, and the answers a client taps.

-- An enrolment link: a one-time secret, stored hashed, that binds one phone.
CREATE TABLE client_enrolments (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  client_id       bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  token_hash      bytea NOT NULL UNIQUE,
  created_by      bigint REFERENCES staff(id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  used_at         timestamptz,
  revoked_at      timestamptz
);
CREATE INDEX ON client_enrolments (client_id, created_at);

-- A client's phone: its credential (stored hashed) opens the client's page.
CREATE TABLE client_devices (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id   bigint NOT NULL REFERENCES municipalities(id),
  client_id         bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  enrolment_id      bigint REFERENCES client_enrolments(id) ON DELETE SET NULL,
  credential_hash   bytea NOT NULL UNIQUE,
  created_at        timestamptz NOT NULL DEFAULT now(),
  last_seen_at      timestamptz NOT NULL DEFAULT now(),
  revoked_at        timestamptz,
  -- Who removed the phone: staff or the client on the phone.
  revoked_by        text CHECK (revoked_by IN ('staff','client')),
  -- The browser's Web Push subscription, refreshed each time the page opens.
  push_subscription jsonb,
  push_updated_at   timestamptz,
  -- The client turned notifications off on this phone: nothing is sent to it.
  notifications_off boolean NOT NULL DEFAULT false,
  CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX ON client_devices (client_id) WHERE revoked_at IS NULL;

-- A one-tap answer, about an appointment or in general.
CREATE TABLE client_answers (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  client_id       bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  device_id       bigint REFERENCES client_devices(id) ON DELETE SET NULL,
  appointment_id  bigint REFERENCES appointments(id) ON DELETE SET NULL,
  kind            text NOT NULL CHECK (kind IN ('coming','cannot_come','call_me','interpreter')),
  reason          text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
  task_id         bigint REFERENCES tasks(id) ON DELETE SET NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON client_answers (client_id, created_at);

-- One reminder to one phone, and how far it got: queued → sent → delivered →
-- opened → answered, or failed with a reason. The unique key makes the
-- reminder for an appointment go to a phone once however often the check
-- runs or on how many instances.
CREATE TABLE client_deliveries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  client_id       bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  device_id       bigint NOT NULL REFERENCES client_devices(id) ON DELETE CASCADE,
  appointment_id  bigint NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('reminder_24h','reminder_2h')),
  status          text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued','sent','delivered','opened','answered','failed')),
  reason          text NOT NULL DEFAULT '' CHECK (length(reason) <= 100),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, appointment_id, device_id, kind)
);
CREATE INDEX ON client_deliveries (client_id, created_at);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['client_enrolments','client_devices','client_answers','client_deliveries']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The phone's entry points: an enrolment link or a device credential names
-- its tenant, and nothing else, before any tenant is set.
CREATE FUNCTION koto_enrolment_tenant(p_token_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM client_enrolments WHERE token_hash = p_token_hash
$$;
REVOKE ALL ON FUNCTION koto_enrolment_tenant(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_enrolment_tenant(bytea) TO koto_app;

CREATE FUNCTION koto_client_device_tenant(p_credential_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM client_devices WHERE credential_hash = p_credential_hash AND revoked_at IS NULL
$$;
REVOKE ALL ON FUNCTION koto_client_device_tenant(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_client_device_tenant(bytea) TO koto_app;

-- The municipalities with an open appointment of a client within the next
-- day: the reminder check visits only those. It reveals ids only.
CREATE FUNCTION koto_reminder_tenants() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT DISTINCT municipality_id FROM appointments
  WHERE status IN ('booked','confirmed') AND client_id IS NOT NULL AND starts_at > now() AND starts_at <= now() + interval '24 hours'
$$;
REVOKE ALL ON FUNCTION koto_reminder_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_reminder_tenants() TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
