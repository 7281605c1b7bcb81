-- Staff notes (for the resident, or internal) and 征求意见 between departments (issue 23).

-- Who reads a timeline event. 'resident': every step so far — its title is public on the tracking page and its note
-- (补正告知, 不予受理 and 不予批准 reasons, a staff note for the resident) is the applicant's to read, on the case page,
-- in the inbox and on the 补正告知书. 'internal': only staff who may read its task (an internal note, a 征求意见 asked
-- or answered) — never on a resident's page, the tracking page, a push, a text or a webhook.
ALTER TABLE timeline_events ADD COLUMN visibility text NOT NULL DEFAULT 'resident'
    CHECK (visibility IN ('resident', 'internal'));

-- 征求意见: the approver of a task asks another department for its opinion, by a date in working days. The asking
-- task's clock keeps running (it is the government's time, not the resident's). `region_code` is the competent region
-- the asked department's staff must serve to answer (app/consultations/service.py: competent_region).
CREATE TABLE consultations (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id                bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    task_id                bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    department_code        text NOT NULL REFERENCES departments (code),
    region_code            text NOT NULL,
    question               text NOT NULL CHECK (char_length(question) BETWEEN 1 AND 1000),
    asked_by_account_id    bigint NOT NULL REFERENCES accounts (id),
    asked_at               timestamptz NOT NULL DEFAULT now(),
    due_on                 date NOT NULL,
    due_provisional        boolean NOT NULL DEFAULT false,
    answer                 text CHECK (char_length(answer) BETWEEN 1 AND 2000),
    answered_by_account_id bigint REFERENCES accounts (id),
    answered_at            timestamptz,
    CHECK ((answer IS NULL) = (answered_at IS NULL) AND (answer IS NULL) = (answered_by_account_id IS NULL))
);
CREATE INDEX consultations_task_idx ON consultations (case_id, task_id);
-- The asked department's queue and the supervisors' overdue list: the open ones, by department and due date.
CREATE INDEX consultations_open_idx ON consultations (department_code, due_on) WHERE answered_at IS NULL;
