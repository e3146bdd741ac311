-- +goose Up
-- Appointments with the client register's clients, and their check-in at a
-- service point's kiosk, where an appointment becomes a ticket in the same
-- walk-in queue.

-- Check-in rules of a service point, set by its lead. A service point
-- without a row uses the defaults written here (the Go side repeats them).
CREATE TABLE appointment_settings (
  service_point_id bigint PRIMARY KEY REFERENCES service_points(id),
  municipality_id  bigint NOT NULL REFERENCES municipalities(id),
  -- The letter of checked-in appointments' tickets on the display.
  prefix           text NOT NULL DEFAULT 'V' CHECK (prefix ~ '^[A-Z]$'),
  -- How long before its start an appointment may check in, and after.
  early_minutes    integer NOT NULL DEFAULT 30 CHECK (early_minutes BETWEEN 0 AND 240),
  late_minutes     integer NOT NULL DEFAULT 15 CHECK (late_minutes BETWEEN 0 AND 240),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  updated_by       bigint REFERENCES staff(id)
);

CREATE TABLE appointments (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id      bigint NOT NULL REFERENCES municipalities(id),
  -- NULL once the client has been erased: the anonymous row stays for counts.
  client_id            bigint REFERENCES clients(id),
  service_point_id     bigint NOT NULL REFERENCES service_points(id),
  staff_id             bigint NOT NULL REFERENCES staff(id),
  channel              text NOT NULL CHECK (channel IN ('in_person','phone','video')),
  desk_id              bigint REFERENCES desks(id),
  -- The reason for the visit: a checked-in appointment's ticket carries it.
  topic_id             bigint REFERENCES topics(id),
  starts_at            timestamptz NOT NULL,
  duration_minutes     integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
  interpreter_language text NOT NULL DEFAULT ''
                       CHECK (interpreter_language = '' OR interpreter_language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$'),
  status               text NOT NULL DEFAULT 'booked'
                       CHECK (status IN ('booked','confirmed','cancelled_by_client','cancelled_by_staff',
                                         'checked_in','attended','no_show')),
  -- The check-in code printed on the letter: eight digits, random, unique
  -- among the service point's codes in use. Only an appointment at the
  -- service point has one; it is cleared when the appointment closes.
  code                 text CHECK (code ~ '^[0-9]{8}$'),
  ticket_id            bigint REFERENCES tickets(id) ON DELETE SET NULL,
  checked_in_at        timestamptz,
  created_at           timestamptz NOT NULL DEFAULT now(),
  created_by           bigint REFERENCES staff(id),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  updated_by           bigint REFERENCES staff(id),
  CHECK (channel = 'in_person' OR (desk_id IS NULL AND code IS NULL))
);
CREATE UNIQUE INDEX appointments_code ON appointments (service_point_id, code) WHERE code IS NOT NULL;
CREATE INDEX ON appointments (staff_id, starts_at);
CREATE INDEX ON appointments (service_point_id, starts_at);
CREATE INDEX ON appointments (client_id, starts_at);

-- A checked-in appointment's ticket is for its expert: call-next gives it
-- to them first and to nobody else; booked_for is the appointment's time,
-- for the queue screen. Neither names the client.
ALTER TABLE tickets ADD COLUMN for_staff_id bigint REFERENCES staff(id);
ALTER TABLE tickets ADD COLUMN booked_for timestamptz;

-- Wrong codes typed at a kiosk, counted per kiosk to stop guessing.
CREATE TABLE checkin_failures (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  municipality_id bigint NOT NULL REFERENCES municipalities(id),
  device_id       bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON checkin_failures (device_id, at);

-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['appointment_settings','appointments','checkin_failures']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (municipality_id = koto_tenant()) WITH CHECK (municipality_id = koto_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
SELECT 'down migrations are not supported: restore from a backup';
