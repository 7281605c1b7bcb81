-- 一次采集、多方使用 with the consent of the person a document is about (issue 15): a case that would use another
-- living person's e-certificates asks that person first, and the task waits (待授权, awaiting_consent) until they
-- decide or three days pass.
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check CHECK (status IN (
    'awaiting_consent', 'submitted', 'accepted', 'rejected', 'supplement_requested', 'resubmitted',
    'in_review', 'approved', 'denied', 'completed', 'delivered'));

-- One request per case and person asked. The person is named by the keyed hash of the number the applicant typed,
-- whether or not the register knows it or they have an account: the applicant's view is the same either way, and
-- someone who signs up within the deadline finds the request waiting. What the request said (who asks, for which
-- event and documents) is kept as it was asked.
CREATE TABLE consents (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id             bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    requester_person_id bigint NOT NULL REFERENCES people (id),
    requester_name      text NOT NULL,
    subject_number_hash bytea NOT NULL,
    about               text NOT NULL,           -- the party of the event: mother, father, spouse …
    life_event_code     text NOT NULL REFERENCES life_events (code),
    life_event_name     text NOT NULL,
    certificate_kinds   text[] NOT NULL,
    certificate_titles  text[] NOT NULL,
    material_codes      text[] NOT NULL,         -- the merged form's materials it would stand for
    item_codes          text[] NOT NULL,         -- the items (tasks) that wait for it
    state               text NOT NULL DEFAULT 'requested'
                        CHECK (state IN ('requested', 'granted', 'refused', 'expired')),
    deadline            timestamptz NOT NULL,
    decided_at          timestamptz,
    decided_by_person_id bigint REFERENCES people (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT consents_decided CHECK ((state = 'requested') = (decided_at IS NULL)),
    UNIQUE (case_id, subject_number_hash)
);
CREATE INDEX consents_subject_idx ON consents (subject_number_hash, created_at DESC);
CREATE INDEX consents_due_idx ON consents (deadline) WHERE state = 'requested';

-- 允许配偶在以下事项中使用我的证照: a person lets the spouse their 结婚证 names use their documents for these life
-- events without asking each time.
CREATE TABLE consent_preauthorisations (
    person_id       bigint NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    life_event_code text NOT NULL REFERENCES life_events (code) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, life_event_code)
);
