-- 好差评 (five-level ratings), their follow-ups (整改), the window tablet's one-time rating links, and the
-- supervisor role (督办: a department's supervisor of an office, or the city's).

-- Staff may now be supervisors: the roles check of 0003 allowed the first five only.
DO $$
DECLARE
    name text;
BEGIN
    SELECT conname INTO name FROM pg_constraint
     WHERE conrelid = 'accounts'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%roles <@%';
    EXECUTE format('ALTER TABLE accounts DROP CONSTRAINT %I', name);
END;
$$;
ALTER TABLE accounts ADD CONSTRAINT accounts_roles_known CHECK (
    roles <@ ARRAY['resident', 'clerk', 'approver', 'helper', 'admin', 'supervisor']::text[] AND cardinality(roles) > 0
);

-- One rating per task of a case (task_id) and one for the case as a whole (task_id NULL). Level 5 = 非常满意 …
-- 1 = 非常不满意. Never a copy of who the resident is: the case says that, and only to those who may read it.
CREATE TABLE reviews (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id             bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    task_id             bigint REFERENCES tasks (id) ON DELETE CASCADE,
    -- The office rated: the task's department (NULL for the case as a whole) and the applicant's district.
    department_code     text REFERENCES departments (code),
    region_code         text NOT NULL,
    level               smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
    tags                text[] NOT NULL DEFAULT '{}',
    text                text CHECK (char_length(text) <= 500),
    channel             text NOT NULL CHECK (channel IN ('online', 'window', 'helper')),
    rated_by_account_id bigint REFERENCES accounts (id),
    client_present      boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Seven days after the rating, or after a follow-up's result (the resident may rate again).
    editable_until      timestamptz NOT NULL,
    CHECK (channel <> 'helper' OR client_present)
);
CREATE UNIQUE INDEX reviews_one_per_task ON reviews (task_id) WHERE task_id IS NOT NULL;
CREATE UNIQUE INDEX reviews_one_per_case ON reviews (case_id) WHERE task_id IS NULL;
-- What the statistics count: ratings by level, per office and month.
CREATE INDEX reviews_office_idx ON reviews (department_code, region_code, created_at);

-- A bad rating (1 or 2) opens one 整改 item for the supervisor of the office rated: 回访 within 1 working day,
-- the result within 5. Overdue ones escalate to the city's supervisor, worked out when read (no job).
CREATE TABLE review_followups (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    review_id          bigint NOT NULL UNIQUE REFERENCES reviews (id) ON DELETE CASCADE,
    case_id            bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    department_code    text REFERENCES departments (code),
    region_code        text NOT NULL,
    opened_at          timestamptz NOT NULL DEFAULT now(),
    contact_due_on     date NOT NULL,
    result_due_on      date NOT NULL,
    contacted_at       timestamptz,
    contact_note       text CHECK (char_length(contact_note) <= 1000),
    resolved_at        timestamptz,
    result_text        text CHECK (char_length(result_text) <= 1000),
    handled_by_account_id bigint REFERENCES accounts (id)
);
CREATE INDEX review_followups_open_idx ON review_followups (region_code, result_due_on) WHERE resolved_at IS NULL;

-- The window tablet: a clerk opens a one-time rating link for a case; the tablet shows the rating screen bound to
-- it (and nothing else), the resident taps, the link is spent. Only the token's hash is kept.
CREATE TABLE review_kiosk_links (
    token_hash          bytea PRIMARY KEY,
    case_id             bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    task_id             bigint REFERENCES tasks (id) ON DELETE CASCADE,  -- NULL: the case as a whole
    opened_by_account_id bigint NOT NULL REFERENCES accounts (id),
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz
);
