-- +goose Up
-- A service point's lead chooses when its appointments' two reminders go
-- (hours before the start) and whether each goes at all. A service point
-- without a settings row keeps the defaults written here, which the Go side
-- repeats: a day before and two hours before, both on. The first reminder
-- must come before the second when both are on, else the later, urgent one
-- would be sent first and the earlier never.
ALTER TABLE appointment_settings
  ADD COLUMN first_reminder_hours  integer NOT NULL DEFAULT 24 CHECK (first_reminder_hours BETWEEN 1 AND 168),
  ADD COLUMN first_reminder_on     boolean NOT NULL DEFAULT true,
  ADD COLUMN second_reminder_hours integer NOT NULL DEFAULT 2 CHECK (second_reminder_hours BETWEEN 1 AND 168),
  ADD COLUMN second_reminder_on    boolean NOT NULL DEFAULT true,
  ADD CONSTRAINT reminders_in_order CHECK (NOT (first_reminder_on AND second_reminder_on)
                                           OR first_reminder_hours > second_reminder_hours);

-- The reminder check asks which municipalities have an appointment a
-- reminder may be due for: now as far ahead as each service point's own
-- reminders reach, and at least the two hours before an appointment at
-- which a client nobody can reach becomes a task. It passes its own clock,
-- as the check that follows in each municipality does.
DROP FUNCTION koto_reminder_tenants();
-- +goose StatementBegin
CREATE FUNCTION koto_reminder_tenants(at timestamptz) RETURNS SETOF bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT DISTINCT a.municipality_id FROM appointments a
  LEFT JOIN appointment_settings s ON s.service_point_id = a.service_point_id
  WHERE a.status IN ('booked','confirmed') AND a.client_id IS NOT NULL AND a.starts_at > at
    AND a.starts_at <= at + interval '1 hour' * greatest(2,
          CASE WHEN coalesce(s.first_reminder_on, true) THEN coalesce(s.first_reminder_hours, 24) ELSE 0 END,
          CASE WHEN coalesce(s.second_reminder_on, true) THEN coalesce(s.second_reminder_hours, 2) ELSE 0 END)
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION koto_reminder_tenants(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION koto_reminder_tenants(timestamptz) TO koto_app;

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
