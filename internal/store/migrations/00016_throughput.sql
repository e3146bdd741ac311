-- +goose Up
-- How many wait for each topic on each service day (not counting tickets
-- kept for one desk): the people ahead of a new ticket. Taking a ticket
-- reads this one row instead of counting the waiting tickets, which grow
-- through the day. A trigger on tickets keeps it, so no way a ticket
-- changes (taken, called, transferred, returned, cancelled, closed with the
-- day, deleted) can forget it.
CREATE TABLE topic_waiting (
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  service_point_id bigint NOT NULL REFERENCES service_points(id),
  topic_id         bigint NOT NULL REFERENCES topics(id),
  service_day      date NOT NULL,
  waiting          integer NOT NULL DEFAULT 0,
  PRIMARY KEY (municipality_id, service_point_id, topic_id, service_day)
);
ALTER TABLE topic_waiting ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON topic_waiting USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant());

INSERT INTO topic_waiting (municipality_id, service_point_id, topic_id, service_day, waiting)
SELECT municipality_id, service_point_id, topic_id, service_day, count(*)
FROM tickets WHERE state = 'waiting' AND for_desk_id IS NULL
GROUP BY 1, 2, 3, 4;

-- Once per statement, over the rows it changed: a statement that closes a
-- whole day updates each count once, and the counts are locked in one order
-- (by key), so two statements never wait on each other's counts crosswise.
-- +goose StatementBegin
CREATE FUNCTION koto_topic_waiting() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Each event has only its own transition tables, hence three statements
  -- that differ in where the counted rows come from: +1 for each row that
  -- now waits, -1 for each that waited before.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO topic_waiting AS w (municipality_id, service_point_id, topic_id, service_day, waiting)
    SELECT municipality_id, service_point_id, topic_id, service_day, count(*)
    FROM new_rows WHERE state = 'waiting' AND for_desk_id IS NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (municipality_id, service_point_id, topic_id, service_day)
    DO UPDATE SET waiting = w.waiting + excluded.waiting;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO topic_waiting AS w (municipality_id, service_point_id, topic_id, service_day, waiting)
    SELECT municipality_id, service_point_id, topic_id, service_day, -count(*)
    FROM old_rows WHERE state = 'waiting' AND for_desk_id IS NULL
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (municipality_id, service_point_id, topic_id, service_day)
    DO UPDATE SET waiting = w.waiting + excluded.waiting;
  ELSE
    INSERT INTO topic_waiting AS w (municipality_id, service_point_id, topic_id, service_day, waiting)
    SELECT municipality_id, service_point_id, topic_id, service_day, sum(d)
    FROM (
      SELECT municipality_id, service_point_id, topic_id, service_day, -1 AS d
      FROM old_rows WHERE state = 'waiting' AND for_desk_id IS NULL
      UNION ALL
      SELECT municipality_id, service_point_id, topic_id, service_day, 1
      FROM new_rows WHERE state = 'waiting' AND for_desk_id IS NULL
    ) c
    GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4
    ON CONFLICT (municipality_id, service_point_id, topic_id, service_day)
    DO UPDATE SET waiting = w.waiting + excluded.waiting;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER topic_waiting_insert AFTER INSERT ON tickets
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION koto_topic_waiting();
CREATE TRIGGER topic_waiting_update AFTER UPDATE ON tickets
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION koto_topic_waiting();
CREATE TRIGGER topic_waiting_delete AFTER DELETE ON tickets
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION koto_topic_waiting();

-- The wait estimate reads the latest finished services of the topic as well
-- as of the whole service point (tickets_done, migration 00003).
CREATE INDEX tickets_done_topic ON tickets (service_point_id, topic_id, finished_at) WHERE state = 'done';

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
