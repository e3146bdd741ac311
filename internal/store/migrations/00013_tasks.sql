-- +goose Up
-- The experts' task queue: what a client's answer, an outreach that could not
-- reach anyone, a checked-in appointment or a walk-in that needs following up
-- asks of an expert, with a history of every change.

CREATE TABLE tasks (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id     bigint NOT NULL REFERENCES municipalities(id),
  -- Whose pool the task falls back to, and whose experts may work it.
  service_point_id    bigint NOT NULL REFERENCES service_points(id),
  kind                text NOT NULL CHECK (kind IN ('call_me','cannot_come','interpreter','unreachable',
                                                    'checked_in','walk_in','manual')),
  -- Free text: a hand-written task's title; for the other kinds the title
  -- is drawn from the kind in each reader's language and this stays empty.
  title               text NOT NULL DEFAULT '' CHECK (length(title) <= 200),
  details             text NOT NULL DEFAULT '' CHECK (length(details) <= 4000),
  -- The facts a localized title and details are drawn from (a time, a
  -- language code, a queue number): values, never sentences.
  facts               jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(facts) = 'object'),
  client_id           bigint REFERENCES clients(id),
  ticket_id           bigint REFERENCES tickets(id),
  -- NULL: in the service point's pool.
  assignee_id         bigint REFERENCES staff(id),
  priority            text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low','normal','high')),
  status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open','in_progress','done','cancelled')),
  due_at              timestamptz,
  -- The event that caused the task, as its source names it: one task per
  -- event however often the source retries.
  source_key          text CHECK (source_key IS NULL OR length(source_key) BETWEEN 1 AND 200),
  created_at          timestamptz NOT NULL DEFAULT now(),
  created_by          bigint REFERENCES staff(id),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  closed_at           timestamptz,
  -- When the assignee was told that it is overdue (once per assignee and due time).
  overdue_notified_at timestamptz,
  CHECK ((status IN ('done','cancelled')) = (closed_at IS NOT NULL))
);
CREATE UNIQUE INDEX tasks_source_key ON tasks (municipality_id, source_key) WHERE source_key IS NOT NULL;
CREATE INDEX tasks_mine ON tasks (assignee_id, due_at NULLS LAST, id) WHERE status IN ('open','in_progress');
CREATE INDEX tasks_point ON tasks (service_point_id, due_at NULLS LAST, id) WHERE status IN ('open','in_progress');
CREATE INDEX tasks_client ON tasks (client_id, created_at) WHERE client_id IS NOT NULL;
CREATE INDEX tasks_overdue ON tasks (due_at)
  WHERE status IN ('open','in_progress') AND assignee_id IS NOT NULL AND overdue_notified_at IS NULL;

-- Every change of a task: who, what, when, and a comment where there is one.
CREATE TABLE task_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  task_id         bigint NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  at              timestamptz NOT NULL DEFAULT now(),
  -- NULL: the portal itself (a client's answer, outreach, the kiosk).
  staff_id        bigint REFERENCES staff(id),
  action          text NOT NULL CHECK (action IN ('created','claimed','assigned','released','commented',
                                                  'done','cancelled')),
  -- For assigned: the new assignee (NULL: the pool).
  to_staff_id     bigint REFERENCES staff(id),
  comment         text NOT NULL DEFAULT '' CHECK (length(comment) <= 4000)
);
CREATE INDEX ON task_events (task_id, id);

-- A staff member's browsers that take Web Push for their tasks.
CREATE TABLE staff_push (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  staff_id        bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  -- The endpoint's hash tells one browser's subscription from another's
  -- without an index over the endpoint itself.
  endpoint_hash   bytea NOT NULL,
  subscription    jsonb NOT NULL,
  -- What the staff member sees in their list of devices ("Firefox, Linux").
  label           text NOT NULL DEFAULT '' CHECK (length(label) <= 100),
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, endpoint_hash)
);
CREATE INDEX ON staff_push (staff_id);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tasks','task_events','staff_push']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The municipalities that have a task overdue whose assignee has not been
-- told yet: the periodic overdue check visits only those, each under its
-- own tenant. It reveals ids only.
CREATE FUNCTION koto_tasks_overdue_tenants() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT DISTINCT municipality_id FROM tasks
  WHERE status IN ('open','in_progress') AND assignee_id IS NOT NULL AND overdue_notified_at IS NULL AND due_at < now()
$$;
REVOKE ALL ON FUNCTION koto_tasks_overdue_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_tasks_overdue_tenants() TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
