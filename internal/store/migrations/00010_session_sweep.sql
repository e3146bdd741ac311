-- +goose Up
-- Sessions that ran past their idle or absolute limit are ended when their
-- cookie next comes back; one that never comes back must still end, since
-- deleting the row is what closes the live sockets resting on it (the
-- live_end trigger). A periodic job sweeps them for every municipality at
-- once, so this runs as the owner; it takes the clock and the idle limit
-- from the caller, who owns both rules.
-- +goose StatementBegin
CREATE FUNCTION koto_sweep_sessions(p_now timestamptz, p_idle interval) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public AS $$
  WITH gone AS (
    DELETE FROM sessions WHERE expires_at <= p_now OR last_seen_at < p_now - p_idle RETURNING 1
  )
  SELECT count(*) FROM gone
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION koto_sweep_sessions(timestamptz, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_sweep_sessions(timestamptz, interval) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
