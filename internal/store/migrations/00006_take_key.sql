-- +goose Up
-- A kiosk's tap carries a one-time key, so that the same tap sent twice (the
-- answer to the first was lost, the visitor tapped again, the browser
-- resubmitted) answers with the first ticket instead of taking a second
-- number. Only the key's hash is kept.
ALTER TABLE tickets ADD COLUMN take_key bytea;
CREATE UNIQUE INDEX tickets_take_key ON tickets (municipality_id, service_point_id, take_key) WHERE take_key IS NOT NULL;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
