-- +goose Up
-- The client register: the part of a client record the national integration
-- client information system keeps (basic information, clientship,
-- responsible expert), the log of meetings and contacts, and what search
-- needs. Appointments, tasks and outreach refer to clients(id).

-- Trusted extensions: a database owner may create them without superuser.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Search keys. unaccent() is only STABLE (its dictionary could be changed),
-- so generated columns and indexes need these IMMUTABLE wrappers, which
-- name the dictionary and schema outright so no search path can swap them.

-- koto_fold: lower case, no accents, punctuation as spaces, one space
-- between words ("Nguyễn  Văn-Anh" → "nguyen van anh"). Accents go first:
-- the database may run under the C locale, whose lower() folds only ASCII.
-- +goose StatementBegin
CREATE FUNCTION koto_fold(s text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT btrim(regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, s)), '[[:space:][:punct:]’‘´]+', ' ', 'g'))
$$;
-- +goose StatementEnd

-- koto_name_skeleton: one folded word reduced to the consonants that
-- survive transliteration. Arabic, Cyrillic and other scripts reach Latin
-- letters by several conventions (Mohammed, Muhammad, Mohamed; Oleksandr,
-- Aleksandr, Alexander; Hussein, Husain): the vowels and doubled letters
-- differ, the consonant skeleton rarely does (mhmd, lksndr, hsn). Digraphs
-- first become the letter other conventions use (ch as in Ševčenko, kh as
-- in Haled, ph, sh, th…), then c, q and x become k and ks.
-- +goose StatementBegin
CREATE FUNCTION koto_name_skeleton(word text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT regexp_replace(regexp_replace(
    replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
      regexp_replace(koto_fold(word), '[^a-z]', '', 'g'),
      'ch', 'c'), 'ph', 'f'), 'x', 'ks'), 'q', 'k'), 'w', 'v'), 'kh', 'h'), 'gh', 'g'), 'th', 't'), 'dh', 'd'), 'sh', 's'), 'zh', 'z'), 'c', 'k'),
    '[aeiouy]', '', 'g'), '(.)\1+', '\1', 'g')
$$;
-- +goose StatementEnd

-- koto_name_skeletons: the skeletons of every word of a name.
-- +goose StatementBegin
CREATE FUNCTION koto_name_skeletons(name text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT k) FILTER (WHERE k <> ''), '{}')
  FROM unnest(string_to_array(koto_fold(name), ' ')) AS w, koto_name_skeleton(w) AS k
$$;
-- +goose StatementEnd

-- koto_phone_key: a phone number's digits in national form, however it
-- was typed: "+358 40 123 4567", "00358401234567" and "040-123 4567" all
-- give 0401234567.
-- +goose StatementBegin
CREATE FUNCTION koto_phone_key(phone text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT CASE
    WHEN d LIKE '00358%' THEN '0' || substr(d, 6)
    WHEN btrim(phone) LIKE '+358%' THEN '0' || substr(d, 4)
    ELSE d END
  FROM regexp_replace(phone, '[^0-9]', '', 'g') AS d
$$;
-- +goose StatementEnd

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
  -- The Finnish personal identity code, checked by the application. It is
  -- in no index and no search key, and never written to a log.
  identity_code        text NOT NULL DEFAULT ''
                       CHECK (identity_code = '' OR identity_code ~ '^[0-9]{6}[-+A-FU-Y][0-9]{3}[0-9A-Y]$'),
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
  erased_at            timestamptz,
  -- Search keys, kept by PostgreSQL itself so that every writer (forms,
  -- import, API) leaves them right.
  search_name          text GENERATED ALWAYS AS (koto_fold(first_names || ' ' || last_name || ' ' || native_name)) STORED,
  search_skeletons     text[] GENERATED ALWAYS AS (koto_name_skeletons(first_names || ' ' || last_name)) STORED,
  phone_key            text GENERATED ALWAYS AS (koto_phone_key(phone)) STORED
);
CREATE INDEX ON clients (municipality_id, service_point_id);
CREATE INDEX ON clients (responsible_staff_id) WHERE responsible_staff_id IS NOT NULL;
CREATE UNIQUE INDEX clients_external_id ON clients (municipality_id, external_id) WHERE external_id IS NOT NULL;
-- The list without a search, in name order.
CREATE INDEX clients_by_name ON clients (municipality_id, last_name, first_names, id);
-- Search: name parts by trigram (any order, typos, accents folded), by
-- transliteration skeleton, and phone numbers by any run of digits.
CREATE INDEX clients_search_name ON clients USING gin (search_name gin_trgm_ops);
CREATE INDEX clients_search_skeletons ON clients USING gin (search_skeletons);
CREATE INDEX clients_phone_key ON clients USING gin (phone_key gin_trgm_ops) WHERE phone_key <> '';

-- Clientship history: every start, end and continuation is kept.
CREATE TABLE clientship_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  client_id       bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('started','ended','continued')),
  on_date         date NOT NULL,
  -- For an end, a reason from the application's list.
  reason          text NOT NULL DEFAULT '' CHECK (reason ~ '^[a-z_]{0,40}$'),
  staff_id        bigint REFERENCES staff(id),
  at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON clientship_events (client_id, at);

-- The log of meetings and contacts. A line is never changed in place: a
-- correction adds the line's next version and marks the one before it as
-- no longer current, so every version stays readable.
CREATE TABLE client_contacts (
  id                   bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  municipality_id      bigint NOT NULL REFERENCES municipalities(id),
  client_id            bigint NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  -- The line this version belongs to: the id of its first version.
  entry_id             bigint NOT NULL,
  version              integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  current              boolean NOT NULL DEFAULT true,
  occurred_at          timestamptz NOT NULL,
  channel              text NOT NULL CHECK (channel IN ('meeting','phone','message','home_visit','outreach','group_event')),
  interpreter_used     boolean NOT NULL DEFAULT false,
  interpreter_language text NOT NULL DEFAULT ''
                       CHECK (interpreter_language = '' OR interpreter_language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
  summary              text NOT NULL CHECK (length(summary) <= 2000),
  staff_id             bigint REFERENCES staff(id),
  recorded_by          bigint REFERENCES staff(id),
  recorded_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (entry_id, version)
);
CREATE INDEX ON client_contacts (client_id, occurred_at);
CREATE UNIQUE INDEX client_contacts_current ON client_contacts (entry_id) WHERE current;

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['clients','clientship_events','client_contacts']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
