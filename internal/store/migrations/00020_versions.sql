-- +goose Up
-- Versions for the API's ETag and If-Match: two systems changing the same
-- client, appointment or task cannot overwrite each other blindly. A
-- trigger bumps the version on every update, so every writer (the staff
-- screens, the import, the API, the jobs) keeps it right without knowing.
ALTER TABLE clients ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE appointments ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN version integer NOT NULL DEFAULT 1;

-- +goose StatementBegin
CREATE FUNCTION koto_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER clients_version BEFORE UPDATE ON clients FOR EACH ROW EXECUTE FUNCTION koto_next_version();
CREATE TRIGGER appointments_version BEFORE UPDATE ON appointments FOR EACH ROW EXECUTE FUNCTION koto_next_version();
CREATE TRIGGER tasks_version BEFORE UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION koto_next_version();

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
