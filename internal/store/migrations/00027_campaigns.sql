-- +goose Up
-- Campaigns: one template to a filtered set of one service point's clients.
-- The recipients are chosen when it starts and wait in a queue table that a
-- periodic job drains at a bounded rate, whichever instance runs it.

CREATE TABLE campaigns (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id     bigint NOT NULL REFERENCES municipalities(id),
  service_point_id    bigint NOT NULL REFERENCES service_points(id),
  template_version_id bigint NOT NULL,
  -- The filter as chosen: {"enrolled": true, "quiet_days": 30}; active
  -- clientship is always required.
  filter              jsonb NOT NULL,
  status              text NOT NULL DEFAULT 'sending' CHECK (status IN ('sending','done','cancelled')),
  recipients          integer NOT NULL DEFAULT 0,
  created_by          bigint REFERENCES staff(id),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (municipality_id, id),
  FOREIGN KEY (municipality_id, template_version_id) REFERENCES message_template_versions(municipality_id, id)
);
CREATE INDEX ON campaigns (municipality_id, created_at);

-- One client of a campaign: waiting until message_id is set.
CREATE TABLE campaign_recipients (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  campaign_id     bigint NOT NULL,
  client_id       bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  message_id      bigint REFERENCES client_messages(id) ON DELETE SET NULL,
  sent_at         timestamptz,
  UNIQUE (municipality_id, campaign_id, client_id),
  FOREIGN KEY (municipality_id, campaign_id) REFERENCES campaigns(municipality_id, id)
);
CREATE INDEX ON campaign_recipients (campaign_id, id) WHERE sent_at IS NULL;

ALTER TABLE client_messages ADD COLUMN campaign_id bigint;
ALTER TABLE client_messages ADD FOREIGN KEY (municipality_id, campaign_id) REFERENCES campaigns(municipality_id, id);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['campaigns','campaign_recipients']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = (SELECT koto_tenant())) WITH CHECK (municipality_id = (SELECT koto_tenant()))', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The municipalities with a campaign still sending: the periodic sender
-- visits only those. It reveals ids only.
CREATE FUNCTION koto_campaign_tenants() RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT DISTINCT municipality_id FROM campaigns WHERE status = 'sending'
$$;
REVOKE ALL ON FUNCTION koto_campaign_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_campaign_tenants() TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
