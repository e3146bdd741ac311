-- +goose Up
-- Login and pairing throttles: one row per key (an account, an account from
-- one client, a client, a client pairing), with its recent failures and the
-- time before which the next try is refused. An attempt locks its rows,
-- checks them and counts itself before the password is even compared, so
-- parallel attempts queue on the rows instead of all reading one count.
CREATE TABLE login_throttle (
  key           text PRIMARY KEY,
  failures      integer NOT NULL DEFAULT 0,
  last_failure  timestamptz,
  blocked_until timestamptz
);
CREATE INDEX ON login_throttle (last_failure);
DROP TABLE login_failures;

-- A live socket lives on what let it open: a staff session, the staff
-- member's account and roles, or a paired device's credential. When one of
-- them ends or changes, every instance is told on the live channel, by the
-- database itself, so no path that ends one (logout, an expired session, a
-- lead's change, an operator's SQL) can forget to: the hubs close the
-- sockets resting on it, and those that may still connect reconnect.
-- +goose StatementBegin
CREATE FUNCTION koto_live_end() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  k text;
BEGIN
  CASE TG_TABLE_NAME
  WHEN 'sessions' THEN
    k := 'session:' || encode(OLD.id_hash, 'hex');
  WHEN 'staff' THEN
    k := 'staff:' || OLD.id;
  WHEN 'staff_roles' THEN
    k := 'staff:' || CASE WHEN TG_OP = 'INSERT' THEN NEW.staff_id ELSE OLD.staff_id END;
  WHEN 'devices' THEN
    k := 'device:' || OLD.id;
  END CASE;
  PERFORM pg_notify('koto_live', json_build_object('end', k)::text);
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER live_end AFTER DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION koto_live_end();
CREATE TRIGGER live_end AFTER UPDATE OF active ON staff FOR EACH ROW
  WHEN (OLD.active IS DISTINCT FROM NEW.active) EXECUTE FUNCTION koto_live_end();
CREATE TRIGGER live_end_deleted AFTER DELETE ON staff FOR EACH ROW EXECUTE FUNCTION koto_live_end();
CREATE TRIGGER live_end AFTER INSERT OR UPDATE OR DELETE ON staff_roles FOR EACH ROW EXECUTE FUNCTION koto_live_end();
-- A device's credential ends when it is revoked or replaced (paired anew).
CREATE TRIGGER live_end AFTER UPDATE ON devices FOR EACH ROW
  WHEN (OLD.token_hash IS NOT NULL AND OLD.token_hash IS DISTINCT FROM NEW.token_hash) EXECUTE FUNCTION koto_live_end();
CREATE TRIGGER live_end_deleted AFTER DELETE ON devices FOR EACH ROW EXECUTE FUNCTION koto_live_end();

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
