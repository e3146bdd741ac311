-- +goose Up
-- Walk-in visits. Nothing here identifies a visitor: no name, no identity
-- code, no contact detail, no address.

-- One counter row per service point, ticket prefix and service day: taking a
-- number updates this row in the same transaction as the ticket insert, so
-- numbers are unique and, over committed tickets, gapless.
CREATE TABLE ticket_counters (
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  prefix           text NOT NULL,
  service_day      date NOT NULL,
  last_number      integer NOT NULL DEFAULT 0,
  PRIMARY KEY (service_point_id, prefix, service_day)
);

CREATE TABLE tickets (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  topic_id         bigint NOT NULL REFERENCES topics(id),
  -- The topic a ticket was taken for; a transfer changes topic_id only.
  original_topic_id bigint NOT NULL REFERENCES topics(id),
  prefix           text NOT NULL CHECK (prefix ~ '^[A-Z]$'),
  number           integer NOT NULL CHECK (number > 0),
  service_day      date NOT NULL,
  language         text NOT NULL CHECK (language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$' AND length(language) <= 35),
  interpreter      boolean NOT NULL DEFAULT false,
  state            text NOT NULL DEFAULT 'waiting'
                   CHECK (state IN ('waiting','called','serving','done','no_show','cancelled','not_served')),
  desk_id          bigint REFERENCES desks(id),
  -- A transfer to a desk: only that desk calls it.
  for_desk_id      bigint REFERENCES desks(id),
  staff_id         bigint REFERENCES staff(id),
  recalls          integer NOT NULL DEFAULT 0,
  transfers        integer NOT NULL DEFAULT 0,
  device_id        bigint REFERENCES devices(id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  -- called_at is the call that started the current round (wait time ends
  -- there); last_called_at moves with every recall, for the display's order.
  called_at        timestamptz,
  last_called_at   timestamptz,
  serving_at       timestamptz,
  finished_at      timestamptz,
  -- The phone follows the ticket through a capability token, stored hashed,
  -- valid until the end of the service day.
  token_hash       bytea UNIQUE,
  token_expires_at timestamptz,
  UNIQUE (service_point_id, service_day, prefix, number)
);
CREATE INDEX tickets_waiting ON tickets (service_point_id, created_at) WHERE state = 'waiting';
CREATE INDEX ON tickets (service_point_id, service_day);
-- Wait estimates read the latest finished services of a service point.
CREATE INDEX tickets_done ON tickets (service_point_id, finished_at) WHERE state = 'done';

-- A ticket's push subscription belongs to it alone and goes with it.
CREATE TABLE ticket_push (
  ticket_id        bigint PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  subscription     jsonb NOT NULL,
  near_sent        boolean NOT NULL DEFAULT false,
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- The anonymous visit record.
CREATE TABLE visits (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  ticket_id        bigint UNIQUE REFERENCES tickets(id) ON DELETE SET NULL,
  channel          text NOT NULL CHECK (channel IN ('walk_in','desk','phone','chat')),
  topic_ids        bigint[] NOT NULL CHECK (cardinality(topic_ids) > 0),
  language         text NOT NULL,
  interpreter      text NOT NULL DEFAULT 'none' CHECK (interpreter IN ('none','on_site','phone','video')),
  outcomes         text[] NOT NULL DEFAULT '{}',
  referral_id      bigint REFERENCES referral_services(id),
  age_group        text NOT NULL DEFAULT 'not_asked',
  gender           text NOT NULL DEFAULT 'not_asked',
  wait_seconds     integer,
  service_seconds  integer,
  no_show          boolean NOT NULL DEFAULT false,
  visited_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON visits (municipality_id, visited_at);
CREATE INDEX ON visits (service_point_id, visited_at);

-- Kiosk rate limiting: recent ticket times per device.
CREATE INDEX ON tickets (device_id, created_at);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['ticket_counters','tickets','ticket_push','visits']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The phone's entry point: the ticket token names the tenant.
CREATE FUNCTION koto_ticket_tenant(p_token_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM tickets WHERE token_hash = p_token_hash AND token_expires_at > now()
$$;
REVOKE ALL ON FUNCTION koto_ticket_tenant(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_ticket_tenant(bytea) TO koto_app;

-- The day-closing job visits every service point of every tenant; it learns
-- only ids, then works on each inside that tenant.
CREATE FUNCTION koto_service_points_all() RETURNS TABLE (id bigint, municipality_id bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT id, municipality_id FROM service_points ORDER BY id
$$;
REVOKE ALL ON FUNCTION koto_service_points_all() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_service_points_all() TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
