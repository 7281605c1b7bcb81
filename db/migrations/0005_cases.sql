-- Cases (办件): one submission of one life event, one task per service item, an append-only timeline.

-- Admin-loaded holiday schedules (python -m app load-holidays), taking precedence over chinesecalendar.
CREATE TABLE holiday_years (
    year      integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2100),
    holidays  date[] NOT NULL,
    workdays  date[] NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);

-- Case numbers are a per-day sequence: CZ + yyyymmdd + 6 digits, readable over the phone.
CREATE TABLE case_number_days (
    day      date PRIMARY KEY,
    last_seq integer NOT NULL
);

CREATE TABLE cases (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_no             text NOT NULL UNIQUE,
    tracking_token      text NOT NULL UNIQUE,
    life_event_code     text NOT NULL REFERENCES life_events (code),
    applicant_person_id bigint NOT NULL REFERENCES people (id),
    filed_by_account_id bigint NOT NULL REFERENCES accounts (id),
    filed_as            text NOT NULL CHECK (filed_as IN ('self', 'helper', 'clerk')),
    channel             text NOT NULL CHECK (channel IN ('online', 'window', 'helper')),
    -- The form's answers hold names, ID numbers and addresses: encrypted as one blob (AES-GCM).
    data_enc            bytea NOT NULL,
    form_checksum       text NOT NULL,
    idempotency_key     text NOT NULL,
    scan_count          integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (filed_by_account_id, idempotency_key)
);
CREATE INDEX cases_applicant_idx ON cases (applicant_person_id, created_at DESC);

CREATE TABLE tasks (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    item_code       text NOT NULL REFERENCES service_items (code),
    department_code text NOT NULL REFERENCES departments (code),
    position        integer NOT NULL,
    status          text NOT NULL DEFAULT 'submitted' CHECK (status IN (
                        'submitted', 'accepted', 'rejected', 'supplement_requested', 'resubmitted',
                        'in_review', 'approved', 'denied', 'completed', 'delivered')),
    due_on          date,
    due_provisional boolean NOT NULL DEFAULT false,
    version         integer NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, item_code)
);
CREATE INDEX tasks_case_idx ON tasks (case_id);
CREATE INDEX tasks_department_status_idx ON tasks (department_code, status, due_on);

-- Append-only: what happened, when, by which department. `title` is public (shown on the tracking
-- page, no personal data); `note` is for the resident and staff only.
CREATE TABLE timeline_events (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    task_id         bigint REFERENCES tasks (id) ON DELETE CASCADE,
    status          text NOT NULL,
    title           text NOT NULL,
    department_code text REFERENCES departments (code),
    actor_account_id bigint REFERENCES accounts (id),
    note            text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX timeline_events_case_idx ON timeline_events (case_id, at, id);

-- Server drafts of the merged form, per (account, life event, person filed for).
CREATE TABLE drafts (
    account_id        bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    life_event_code   text NOT NULL REFERENCES life_events (code),
    subject_person_id bigint NOT NULL REFERENCES people (id),
    data_enc          bytea NOT NULL,
    version           integer NOT NULL,
    form_checksum     text NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, life_event_code, subject_person_id)
);

-- Uploaded materials (PDF, JPEG, PNG; ≤ 10 MB), readable only by the applicant and the staff on the case.
CREATE TABLE uploads (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token             text NOT NULL UNIQUE,
    account_id        bigint NOT NULL REFERENCES accounts (id),
    subject_person_id bigint NOT NULL REFERENCES people (id),
    life_event_code   text NOT NULL REFERENCES life_events (code),
    material_code     text NOT NULL,
    case_id           bigint REFERENCES cases (id),
    filename          text NOT NULL,
    content_type      text NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size              integer NOT NULL CHECK (size > 0 AND size <= 10485760),
    sha256            bytea NOT NULL,
    content           bytea NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX uploads_owner_idx ON uploads (account_id, life_event_code, subject_person_id);
CREATE INDEX uploads_case_idx ON uploads (case_id);
