-- 网上预约 (issue 16): halls with opening hours, places per half-day per hall and item group, bookings of a visit;
-- and reminders sent at a set time (the day before a booking) through the inbox and push.

-- A service hall (办事大厅). `region_code`: the staff of that region work at it (a clerk's hall is their region), one
-- hall per region. Open on working days only (app/calendar), mornings and afternoons.
CREATE TABLE halls (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{1,30}$'),
    name        text NOT NULL,
    region_code text NOT NULL UNIQUE REFERENCES regions (code),
    address     text NOT NULL,
    phone       text,
    am_opens    time NOT NULL,
    am_closes   time NOT NULL,
    pm_opens    time NOT NULL,
    pm_closes   time NOT NULL,
    position    integer NOT NULL DEFAULT 0,
    CHECK (am_opens < am_closes AND am_closes <= pm_opens AND pm_opens < pm_closes)
);

-- Windows serving a kind of matter (居民身份证, 民政综合): what a hall's places are counted in.
CREATE TABLE appointment_groups (
    code            text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,30}$'),
    name            text NOT NULL,
    department_code text NOT NULL REFERENCES departments (code)
);

-- The group whose places booking an item takes (db/seed/items.json → appointment_group); NULL: not booked. No foreign
-- key: the catalogue is loaded before the halls that define the groups (app/seed.py checks every one exists).
ALTER TABLE service_items ADD COLUMN appointment_group text;

-- Places a hall offers per half-day for a group (python -m app hall-capacity, db/seed/halls.json). Bookings lock this
-- row (SELECT … FOR UPDATE) before counting, so concurrent bookings of one half-day never exceed it.
CREATE TABLE appointment_capacity (
    hall_id    text NOT NULL REFERENCES halls (id),
    group_code text NOT NULL REFERENCES appointment_groups (code),
    half       text NOT NULL CHECK (half IN ('am', 'pm')),
    places     integer NOT NULL CHECK (places BETWEEN 0 AND 1000),
    PRIMARY KEY (hall_id, group_code, half)
);

-- A booked visit. `booked` until the clerk's 签到 (`arrived`), a cancellation (`cancelled`), or — a day gone by
-- without arrival — `missed` (written when the person books that item again; shown as 未到 meanwhile).
CREATE TABLE appointments (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code                     text NOT NULL UNIQUE CHECK (code ~ '^[2-9A-HJKMNP-Z]{8}$'),
    person_id                bigint NOT NULL REFERENCES people (id),
    item_code                text NOT NULL REFERENCES service_items (code),
    group_code               text NOT NULL REFERENCES appointment_groups (code),
    hall_id                  text NOT NULL REFERENCES halls (id),
    day                      date NOT NULL,
    half                     text NOT NULL CHECK (half IN ('am', 'pm')),
    status                   text NOT NULL DEFAULT 'booked'
                             CHECK (status IN ('booked', 'arrived', 'cancelled', 'missed')),
    booked_by_account_id     bigint REFERENCES accounts (id) ON DELETE SET NULL,
    booked_as                text NOT NULL CHECK (booked_as IN ('self', 'parent', 'helper', 'clerk')),
    created_at               timestamptz NOT NULL DEFAULT now(),
    rescheduled_at           timestamptz,
    cancelled_at             timestamptz,
    arrived_at               timestamptz,
    checked_in_by_account_id bigint REFERENCES accounts (id) ON DELETE SET NULL
);
-- One live booking per person and item.
CREATE UNIQUE INDEX appointments_one_live_per_item ON appointments (person_id, item_code) WHERE status = 'booked';
-- What a half-day's places are counted from.
CREATE INDEX appointments_slot_idx ON appointments (hall_id, group_code, day, half) WHERE status IN ('booked', 'arrived');
CREATE INDEX appointments_person_idx ON appointments (person_id, day);
CREATE INDEX appointments_hall_day_idx ON appointments (hall_id, day);

-- A notice to send at a set time (an appointment's reminder the day before): the worker's job (pgqueuer, delayed
-- until `due_at`) releases it into the inbox and the devices in one transaction, once — `sent_at` set in that same
-- transaction, so a job run twice (a worker killed after the commit, two hosts) sends nothing the second time.
-- Replacing or cancelling it names its `key` (appointment:42).
CREATE TABLE scheduled_notices (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key            text NOT NULL,
    title          text NOT NULL,
    body           text NOT NULL,
    url            text NOT NULL,
    due_at         timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    cancelled_at   timestamptz,
    inbox_entry_id bigint REFERENCES inbox_entries (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX scheduled_notices_one_pending ON scheduled_notices (account_id, key)
    WHERE sent_at IS NULL AND cancelled_at IS NULL;

-- The inbox gains reminders (预约提醒): like an account notice, no case and no timeline event.
ALTER TABLE inbox_entries DROP CONSTRAINT inbox_entries_case_step_or_notice;
DO $$
DECLARE
    name text;
BEGIN
    SELECT conname INTO name FROM pg_constraint
     WHERE conrelid = 'inbox_entries'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%kind = ANY%';
    EXECUTE format('ALTER TABLE inbox_entries DROP CONSTRAINT %I', name);
END;
$$;
ALTER TABLE inbox_entries
    ADD CONSTRAINT inbox_entries_kind_known CHECK (kind IN ('case', 'account', 'reminder')),
    ADD CONSTRAINT inbox_entries_case_step_or_notice
        CHECK ((kind = 'case' AND event_id IS NOT NULL AND case_id IS NOT NULL)
               OR (kind IN ('account', 'reminder') AND event_id IS NULL AND case_id IS NULL));
