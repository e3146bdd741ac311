-- +goose Up
-- The JSON API: keys that municipal systems call with, the counters that
-- limit them, the answers kept for Idempotency-Key, and webhooks.

-- A key acts for its municipality, within its scopes and, when set, one
-- service point. Only the SHA-256 of the secret is stored; prefix is the
-- start of it, shown so an admin can tell keys apart.
CREATE TABLE api_keys (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  token_hash       bytea NOT NULL UNIQUE,
  prefix           text NOT NULL,
  scopes           text[] NOT NULL,
  service_point_id bigint REFERENCES service_points(id),
  expires_at       timestamptz,
  -- Requests per minute; shared by every instance through api_rate.
  rate_per_minute  integer NOT NULL DEFAULT 600 CHECK (rate_per_minute BETWEEN 1 AND 100000),
  created_by       bigint REFERENCES staff(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  revoked_at       timestamptz,
  revoked_by       bigint REFERENCES staff(id),
  last_used_at     timestamptz,
  UNIQUE (municipality_id, id)
);

-- A key is an actor of the access log, as a staff member is.
ALTER TABLE access_log ADD COLUMN api_key_id bigint REFERENCES api_keys(id);

-- Requests per key per minute window. Old windows are deleted as new ones
-- start.
CREATE TABLE api_rate (
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  api_key_id      bigint NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  window_start    timestamptz NOT NULL,
  hits            integer NOT NULL,
  PRIMARY KEY (api_key_id, window_start)
);

-- The first answer to a POST with an Idempotency-Key, replayed to every
-- repeat for a day. status is NULL while the first request is still being
-- worked on.
CREATE TABLE api_idempotency (
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  api_key_id      bigint NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  request_hash    bytea NOT NULL,
  status          integer,
  content_type    text NOT NULL DEFAULT '',
  headers         jsonb NOT NULL DEFAULT '{}',
  body            bytea NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (api_key_id, key)
);
CREATE INDEX ON api_idempotency (created_at);

-- An add-on's https endpoint and the events it wants. The secret signs
-- deliveries (Standard Webhooks), so it is kept readable by the portal; it
-- is shown to the admin once.
CREATE TABLE webhook_endpoints (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  url             text NOT NULL CHECK (url ~ '^https://' AND length(url) <= 2000),
  description     text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
  events          text[] NOT NULL,
  secret          text NOT NULL,
  active          boolean NOT NULL DEFAULT true,
  -- Set when the portal switched the endpoint off after failing for a day.
  disabled_at     timestamptz,
  version         integer NOT NULL DEFAULT 1,
  created_by      bigint REFERENCES staff(id),
  created_by_key  bigint REFERENCES api_keys(id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, id)
);

-- An event as it was sent: its type and the ids it names, never personal
-- data (the add-on fetches details with its key).
CREATE TABLE webhook_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  type            text NOT NULL,
  data            jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, id)
);

-- Every attempt to deliver an event to an endpoint, with the answer.
CREATE TABLE webhook_deliveries (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  endpoint_id     bigint NOT NULL,
  event_id        bigint NOT NULL,
  attempt         integer NOT NULL,
  at              timestamptz NOT NULL DEFAULT now(),
  status_code     integer,
  response        text NOT NULL DEFAULT '' CHECK (length(response) <= 1000),
  error           text NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
  duration_ms     integer NOT NULL DEFAULT 0,
  FOREIGN KEY (municipality_id, endpoint_id) REFERENCES webhook_endpoints(municipality_id, id) ON DELETE CASCADE,
  FOREIGN KEY (municipality_id, event_id) REFERENCES webhook_events(municipality_id, id) ON DELETE CASCADE
);
CREATE INDEX ON webhook_deliveries (endpoint_id, at DESC);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys','api_rate','api_idempotency','webhook_endpoints','webhook_events','webhook_deliveries']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- A request names no municipality: find it from the key's secret. A
-- revoked or expired key names none.
CREATE FUNCTION koto_api_key_tenant(p_token_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM api_keys
  WHERE token_hash = p_token_hash AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
$$;
REVOKE ALL ON FUNCTION koto_api_key_tenant(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_api_key_tenant(bytea) TO koto_app;

-- Idempotency answers are kept a day and rate windows a few minutes; a
-- periodic job forgets older ones for every municipality at once, so this
-- runs as the owner, with the clock of the caller, who owns both rules.
-- +goose StatementBegin
CREATE FUNCTION koto_sweep_api(p_answers_before timestamptz, p_windows_before timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH a AS (DELETE FROM api_idempotency WHERE created_at < p_answers_before RETURNING 1),
       r AS (DELETE FROM api_rate WHERE window_start < p_windows_before RETURNING 1)
  SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM r)
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION koto_sweep_api(timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_sweep_api(timestamptz, timestamptz) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
