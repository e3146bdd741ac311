-- +goose Up
-- One-time links with which a staff member sets their own password: the
-- first admin of a new municipality, later anyone an admin sends one. Only
-- the SHA-256 of the link's secret is stored; a used link stays, marked, so
-- that opening it again says so instead of "unknown link".
CREATE TABLE password_links (
  id_hash         bytea PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  staff_id        bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL,
  used_at         timestamptz
);
CREATE INDEX ON password_links (staff_id);
ALTER TABLE password_links ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON password_links USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant());

-- The link names no municipality: find it from the secret, as sessions do.
-- Expired and used links are found too, so the page can tell which it is.
CREATE FUNCTION koto_password_link_tenant(p_id_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM password_links WHERE id_hash = p_id_hash
$$;
REVOKE ALL ON FUNCTION koto_password_link_tenant(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_password_link_tenant(bytea) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
