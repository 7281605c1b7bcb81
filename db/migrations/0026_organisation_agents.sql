-- 法人办事 (issue 18): the people an organisation's legal representative authorises to act for it (经办人), with a
-- scope and an expiry like delegations (0008), revocable and audited; and a case whose subject is an organisation.
CREATE TABLE organisation_agents (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id      bigint NOT NULL REFERENCES organisations (id),
    person_id            bigint NOT NULL REFERENCES people (id),
    scope                text[],  -- NULL: every matter; else life-event codes
    expires_on           date NOT NULL,
    granted_by_account_id bigint NOT NULL REFERENCES accounts (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    revoked_at           timestamptz,
    revoked_by           text,
    revoked_reason       text
);
CREATE INDEX organisation_agents_person_idx ON organisation_agents (person_id) WHERE revoked_at IS NULL;
CREATE INDEX organisation_agents_organisation_idx ON organisation_agents (organisation_id);

-- The organisation a case is filed for (its 经办人 is the applicant person and the account that filed it).
ALTER TABLE cases ADD COLUMN subject_org_credit_code text REFERENCES organisations (credit_code);
CREATE INDEX cases_subject_org_idx ON cases (subject_org_credit_code) WHERE subject_org_credit_code IS NOT NULL;
