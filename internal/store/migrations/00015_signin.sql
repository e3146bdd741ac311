-- +goose Up
-- Staff sign-in as municipalities need it: a second factor for password
-- accounts, the municipality's own OpenID Connect provider, and an access
-- log that says from where.

-- The access log names the client address of sign-in events and every
-- other access a person made: an information security officer asks "from
-- where" before anything else.
ALTER TABLE access_log ADD COLUMN client_addr inet;

-- A session is full, or half-way through sign-in: the password was right
-- but the second factor is still to be given ('verify') or, where the
-- municipality requires one, still to be enrolled ('enrol'). A half-way
-- session opens nothing but its next step.
ALTER TABLE sessions
  ADD COLUMN stage text NOT NULL DEFAULT 'full' CHECK (stage IN ('full', 'verify', 'enrol')),
  -- A WebAuthn ceremony's challenge, between its two requests.
  ADD COLUMN ceremony jsonb,
  -- What the account page shows to tell one's sessions apart.
  ADD COLUMN user_agent text NOT NULL DEFAULT '';

-- Accounts signed in through the municipality's provider carry the
-- provider's subject; they have no password of their own.
ALTER TABLE staff ADD COLUMN oidc_subject text;
CREATE UNIQUE INDEX staff_oidc_subject ON staff (municipality_id, oidc_subject) WHERE oidc_subject IS NOT NULL;

-- A municipality's sign-in rules and its provider.
CREATE TABLE signin_settings (
  municipality_id       bigint PRIMARY KEY REFERENCES municipalities(id),
  -- Everyone holding a role (every role sees personal data) must use a
  -- second factor with their password.
  second_factor_required boolean NOT NULL DEFAULT false,
  oidc_enabled           boolean NOT NULL DEFAULT false,
  oidc_name              text NOT NULL DEFAULT '',
  oidc_issuer            text NOT NULL DEFAULT '',
  oidc_client_id         text NOT NULL DEFAULT '',
  -- Read only to talk to the provider; never shown back or logged.
  oidc_client_secret     text NOT NULL DEFAULT '',
  oidc_groups_claim      text NOT NULL DEFAULT 'groups',
  -- Off: the municipality's staff sign in through the provider only.
  password_signin        boolean NOT NULL DEFAULT true,
  CHECK (password_signin OR oidc_enabled)
);

-- A group (or other claim value) of the provider gives a role, in the
-- whole municipality or in one service point.
CREATE TABLE oidc_role_mappings (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  claim_value      text NOT NULL,
  role             text NOT NULL CHECK (role IN ('expert', 'lead', 'admin')),
  service_point_id bigint REFERENCES service_points(id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX oidc_role_mappings_unique ON oidc_role_mappings (municipality_id, claim_value, role, coalesce(service_point_id, 0));

-- A sign-in started at the provider: what the callback must match. The
-- state's hash is the key; the row is deleted when the callback uses it.
CREATE TABLE oidc_states (
  state_hash      bytea PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  nonce           text NOT NULL,
  verifier        text NOT NULL,
  next            text NOT NULL DEFAULT '/staff',
  expires_at      timestamptz NOT NULL
);

-- TOTP: one authenticator app per account. Unconfirmed until a first code
-- from it is right; last_step stops a code from being used twice.
CREATE TABLE totp_factors (
  staff_id        bigint PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  secret          text NOT NULL,
  confirmed_at    timestamptz,
  last_step       bigint NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- WebAuthn passkeys and security keys.
CREATE TABLE webauthn_credentials (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  staff_id        bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  credential_id   bytea NOT NULL,
  name            text NOT NULL,
  credential      jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_used_at    timestamptz
);
CREATE UNIQUE INDEX webauthn_credentials_id ON webauthn_credentials (municipality_id, credential_id);
CREATE INDEX ON webauthn_credentials (staff_id);

-- Recovery codes, shown once; only their SHA-256 is kept.
CREATE TABLE recovery_codes (
  code_hash       bytea PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  staff_id        bigint NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
  used_at         timestamptz
);
CREATE INDEX ON recovery_codes (staff_id);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['signin_settings','oidc_role_mappings','oidc_states','totp_factors','webauthn_credentials','recovery_codes']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- The login page lists the providers of every municipality that turned
-- one on, before anyone is known: only names, never the settings.
CREATE FUNCTION koto_oidc_providers() RETURNS TABLE (slug text, name text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT m.slug, s.oidc_name FROM signin_settings s JOIN municipalities m ON m.id = s.municipality_id
  WHERE s.oidc_enabled ORDER BY s.oidc_name, m.slug
$$;

-- A provider's sign-in starts from a municipality's public name.
CREATE FUNCTION koto_municipality_by_slug(p_slug text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT id FROM municipalities WHERE slug = p_slug
$$;

-- The callback names no municipality: find it from the state's hash.
CREATE FUNCTION koto_oidc_state_tenant(p_state_hash bytea) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT municipality_id FROM oidc_states WHERE state_hash = p_state_hash
$$;

-- Password sign-in must know, before the tenant is set, whether the
-- account's municipality still allows it.
DROP FUNCTION koto_staff_by_email(text);
CREATE FUNCTION koto_staff_by_email(p_email text)
RETURNS TABLE (id bigint, municipality_id bigint, password_hash text, active boolean, password_signin boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT s.id, s.municipality_id, s.password_hash, s.active, coalesce(g.password_signin, true)
  FROM staff s LEFT JOIN signin_settings g ON g.municipality_id = s.municipality_id
  WHERE s.email = lower(p_email)
$$;

REVOKE ALL ON FUNCTION koto_oidc_providers(), koto_municipality_by_slug(text), koto_oidc_state_tenant(bytea),
  koto_staff_by_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_oidc_providers(), koto_municipality_by_slug(text), koto_oidc_state_tenant(bytea),
  koto_staff_by_email(text) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
