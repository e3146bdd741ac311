-- +goose Up
-- The client search could not use its indexes. Row-level security makes
-- PostgreSQL apply the tenant policy before any condition of a query that is
-- not leakproof, and LIKE (the trigram index's operator) and @> (the array
-- index's) are not: so under the application role every search read the
-- whole register and tested each row, 4 s a search at a million clients.
-- Marking the operators leakproof would take a superuser and change them
-- for every query.
--
-- Two changes follow. Whole words and word starts are looked up as keys of
-- their own (search_terms: "hassan" and "h*", "ha*" … "hassan*"), an exact
-- lookup in a GIN index, where a trigram index has to intersect the long
-- lists of common trigrams; trigrams stay for a part found only inside a
-- word. And koto_search_clients reads the indexes past the policy, safely:
-- it runs as the tables' owner, but only over the tenant the transaction
-- has set (the setting the policy reads; none set, no rows) and within the
-- caller's filters. It returns ids only: the search then reads those
-- clients through row-level security as before, so the policy still holds
-- for every row shown. Its SQL is built from the values, each entering as a
-- literal (format %L), so every call is planned for its own keys: a rare
-- name by its index, never a scan of the register hoping to stop early.

-- koto_name_terms: the keys a client is found by. Each folded word of the
-- name, in Latin letters and as the client writes it; every start of each
-- word, with a "*" after it; and each word's transliteration skeleton
-- (koto_name_skeleton), with a "#" before it. It is a generated column's
-- expression, computed for every row a bulk load writes: one pass over the
-- words, one fold, is 2.4 times faster than folding again for the skeletons
-- (koto_name_skeletons). A query part is letters and digits only, so the
-- three kinds cannot be confused, and one GIN index answers every part of a
-- query in one scan: "every part a whole word or a variant" is an AND of
-- overlaps (&&) on this one column.
-- +goose StatementBegin
CREATE FUNCTION koto_name_terms(latin text, native text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT t), '{}')
  FROM unnest(string_to_array(koto_fold(latin || ' ' || native), ' ')) AS w,
    LATERAL (SELECT w UNION ALL SELECT left(w, n) || '*' FROM generate_series(1, length(w)) AS n
      -- A word of no Latin letter has no skeleton.
      UNION ALL SELECT '#' || koto_name_skeleton(w) WHERE w ~ '[a-z]') AS x(t)
  WHERE w <> '' AND t <> '#'
$$;
-- +goose StatementEnd

-- Adding a stored column rewrites the table: about four minutes for a
-- million clients on a busy machine of two cores. The skeletons' own
-- column goes: its keys are among the terms now, and the skeleton
-- functions stay for what else uses them.
ALTER TABLE clients DROP COLUMN search_skeletons,
  ADD COLUMN search_terms text[]
  GENERATED ALWAYS AS (koto_name_terms(first_names || ' ' || last_name, native_name)) STORED;
CREATE INDEX clients_search_terms ON clients USING gin (search_terms);

-- koto_search_clients: at most about p_limit ids of the current tenant's
-- clients matching a search, the better kinds of match first. p_parts are
-- the query's name parts folded by koto_fold, p_skeletons their skeletons
-- ('' where too short to compare); or p_phone is a phone key, and the
-- parts are ignored. Every part must match, and the passes ask for better
-- matches first:
--   1: each part a whole word;
--   2: each a whole word or a word of the same skeleton (a spelling variant);
--   3: each the start of a word, or a variant;
--   4: each anywhere in the name (three letters or more), or as in pass 3.
-- Each pass's matches include the previous one's. A pass stops after
-- p_limit rows, and the next runs only while fewer than p_limit have been
-- found: the result holds every match of the better kinds and as many of
-- the last kind as fill it. Pass 4, the costly trigram search, runs only
-- when the others found nobody.
-- +goose StatementBegin
CREATE FUNCTION koto_search_clients(p_parts text[], p_skeletons text[], p_phone text,
    p_all boolean, p_points bigint[], p_status text, p_expert bigint, p_point bigint, p_limit int)
RETURNS SETOF bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public ROWS 200 AS $$
DECLARE
  base  text := 'SELECT id FROM clients WHERE municipality_id = $1 AND erased_at IS NULL'
    || ' AND ($2 OR service_point_id = ANY($3)) AND ($4 = '''' OR status = $4)'
    || ' AND ($5 = 0 OR responsible_staff_id = $5) AND ($6 = 0 OR service_point_id = $6)';
  q     text;
  prev  text := '';
  cond  text;
  part  text;
  skel  text;
  keys  text[];
  found bigint[] := '{}';
  ids   bigint[];
BEGIN
  IF koto_tenant() IS NULL THEN
    RETURN;
  END IF;
  IF coalesce(p_phone, '') <> '' THEN
    -- The phone index leaves out clients with no phone; saying so lets
    -- the planner use it.
    RETURN QUERY EXECUTE base || format(' AND phone_key <> %L AND phone_key LIKE %L', '',
        '%' || replace(replace(replace(p_phone, '\', '\\'), '%', '\%'), '_', '\_') || '%') || ' LIMIT $7'
      USING koto_tenant(), p_all, p_points, coalesce(p_status, ''), coalesce(p_expert, 0), coalesce(p_point, 0), p_limit;
    RETURN;
  END IF;
  IF coalesce(cardinality(p_parts), 0) = 0 THEN
    RETURN;
  END IF;
  FOR pass IN 1..4 LOOP
    q := base;
    FOR i IN 1..cardinality(p_parts) LOOP
      part := p_parts[i];
      skel := coalesce(p_skeletons[i], '');
      IF coalesce(part, '') = '' THEN
        RETURN;
      END IF;
      keys := ARRAY[CASE WHEN pass < 3 THEN part ELSE part || '*' END];
      IF pass >= 2 AND skel <> '' THEN
        keys := keys || ('#' || skel);
      END IF;
      cond := format('search_terms && %L::text[]', keys);
      IF pass = 4 AND length(part) >= 3 THEN
        cond := format('(%s OR search_name LIKE %L)', cond,
          '%' || replace(replace(replace(part, '\', '\\'), '%', '\%'), '_', '\_') || '%');
      END IF;
      q := q || ' AND ' || cond;
    END LOOP;
    -- A pass that asks what the last one asked adds nothing.
    CONTINUE WHEN q = prev;
    prev := q;
    EXECUTE 'SELECT array_agg(id) FROM (' || q || ' LIMIT $7) s' INTO ids
      USING koto_tenant(), p_all, p_points, coalesce(p_status, ''), coalesce(p_expert, 0), coalesce(p_point, 0), p_limit;
    found := ARRAY(SELECT DISTINCT x FROM unnest(found || coalesce(ids, '{}')) AS x);
    EXIT WHEN cardinality(found) >= p_limit OR (pass = 3 AND cardinality(found) > 0);
  END LOOP;
  RETURN QUERY SELECT unnest(found);
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION koto_search_clients(text[], text[], text, boolean, bigint[], text, bigint, bigint, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_search_clients(text[], text[], text, boolean, bigint[], text, bigint, bigint, int) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
