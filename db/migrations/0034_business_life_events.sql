-- 企业变更登记 and 企业注销 (issue 18): items filed only for an organisation, drafts and uploads kept per
-- organisation, the register's history, and certificates that an organisation's 注销 makes void.

-- An item that acts on an existing organisation (变更, 注销) is filed only while acting for one (企业办事: its legal
-- representative or a 经办人 in scope, online or at a window); a life event is, when any of its items is.
ALTER TABLE service_items ADD COLUMN for_organisation boolean NOT NULL DEFAULT false;

-- A person's own draft and the one they keep as an organisation's 经办人 are two drafts, not one slot (0005 keyed
-- drafts by account, life event and person only). NULL: filed for no organisation.
ALTER TABLE drafts ADD COLUMN subject_org_credit_code text REFERENCES organisations (credit_code);
ALTER TABLE drafts DROP CONSTRAINT drafts_pkey;
CREATE UNIQUE INDEX drafts_subject_idx
    ON drafts (account_id, life_event_code, subject_person_id, coalesce(subject_org_credit_code, ''));

-- An upload made for an organisation's form is attached only to that organisation's case (and a personal one only to
-- a personal case).
ALTER TABLE uploads ADD COLUMN subject_org_credit_code text REFERENCES organisations (credit_code);

-- A certificate no longer in force (营业执照 of an organisation 注销): kept for the record, never used or shown as held.
ALTER TABLE e_certificates ADD COLUMN void_on date, ADD COLUMN void_reason text;

-- The legal-person register's history: every change a completed case wrote (企业变更登记, 企业注销), with the value
-- before and after. The legal representative by person id (people), never by ID number.
CREATE TABLE organisation_changes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    field           text NOT NULL CHECK (field IN ('name', 'address', 'legal_rep_person_id', 'status')),
    old_value       text NOT NULL,
    new_value       text NOT NULL,
    case_id         bigint REFERENCES cases (id),
    changed_on      date NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisation_changes_organisation_idx ON organisation_changes (organisation_id, id);
