-- +goose Up
-- A visitor's place in line counts only the waiting tickets of their topic,
-- and the wait estimate counts the experts who called lately: both read
-- through these instead of every ticket the service point ever had.
CREATE INDEX tickets_waiting_topic ON tickets (service_point_id, topic_id, created_at, id) WHERE state = 'waiting';
CREATE INDEX tickets_called ON tickets (service_point_id, called_at) WHERE staff_id IS NOT NULL;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
