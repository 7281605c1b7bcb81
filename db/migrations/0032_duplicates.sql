-- data step: key_case_subjects
-- 一事不二办 (issue 23): before a case is made, look for an open or recent one about the same subject — a birth (the
-- mother), a death (the deceased), a retirement (the person retiring), an enterprise registration (its name in the
-- district). The answers are one encrypted document, so each case carries a searchable key of its subject: an HMAC,
-- with a key derived from SECRET_KEY, of the rule's kind and the normalised subject (app/cases/duplicates.py). No
-- number or name in clear; without SECRET_KEY the column says nothing. NULL: no rule applies to the case's items.
-- Cases made before this file get theirs from the data step named above (app/cases/duplicate_flow.py:
-- key_existing_cases), right after it.
ALTER TABLE cases ADD COLUMN subject_key bytea;
CREATE INDEX cases_subject_key_idx ON cases (subject_key, created_at DESC) WHERE subject_key IS NOT NULL;

-- A duplicate merged into another case is withdrawn (撤回): its tasks end as `withdrawn`.
ALTER TABLE tasks DROP CONSTRAINT tasks_status_check;
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check CHECK (status IN (
    'awaiting_consent', 'submitted', 'accepted', 'rejected', 'supplement_requested', 'resubmitted',
    'in_review', 'approved', 'denied', 'completed', 'delivered', 'withdrawn'));

-- A party of a case (the other parent it names, a spouse, a relative of the deceased) whose own filing of the same
-- matter was refused as a duplicate, or merged into it: they read the case in 我的办件 (read only: acting on it stays
-- with its applicant). `role` says how they are a party, as the resident reads it (父亲, 配偶, 逝者亲属).
CREATE TABLE case_links (
    case_id   bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    person_id bigint NOT NULL REFERENCES people (id),
    role      text NOT NULL,
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, person_id)
);
CREATE INDEX case_links_person_idx ON case_links (person_id);

-- A case flagged to the window clerk as perhaps the same matter as an earlier one: a near match (a birth date within
-- two days, a similar name, some items already being handled), or an exact one from somebody who is no party of the
-- earlier case (they are not told: app/cases/duplicate_flow.py). The clerk merges them (one withdrawn, its materials
-- moved to the other) or keeps both; either is on both cases' timelines and in the audit log. `reason` holds no
-- personal data (出生日期相差1天；姓名相近).
CREATE TABLE case_duplicates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    earlier_case_id bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    match           text NOT NULL CHECK (match IN ('exact', 'near')),
    reason          text NOT NULL,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'merged', 'kept')),
    kept_case_id    bigint REFERENCES cases (id),
    decided_by      bigint REFERENCES accounts (id),
    decided_at      timestamptz,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, earlier_case_id),
    CHECK (case_id <> earlier_case_id),
    CHECK ((state = 'open') = (decided_at IS NULL))
);
CREATE INDEX case_duplicates_earlier_idx ON case_duplicates (earlier_case_id);
CREATE INDEX case_duplicates_open_idx ON case_duplicates (case_id) WHERE state = 'open';
