-- A household's 户口簿 and a couple's 结婚证 carry one number for several holders: each holder
-- has their own row, so uniqueness is per holder, not per number.
ALTER TABLE e_certificates DROP CONSTRAINT e_certificates_kind_number_key;
CREATE UNIQUE INDEX e_certificates_person_kind_number ON e_certificates (person_id, kind, number)
    WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX e_certificates_org_kind_number ON e_certificates (org_credit_code, kind, number)
    WHERE person_id IS NULL;

-- The merged form shows fields in the catalogue's order within each section.
ALTER TABLE form_fields ADD COLUMN position integer NOT NULL DEFAULT 0;
