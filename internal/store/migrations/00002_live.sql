-- +goose Up
-- Per-channel sequence numbers for live events. The number is taken in the
-- same transaction as the change it announces, so every portal instance
-- hands out the same numbers and a screen can tell when it missed one.
CREATE TABLE live_channels (
  channel text PRIMARY KEY,
  seq     bigint NOT NULL DEFAULT 0
);

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
