-- data step: seal_certificate_numbers
-- No ID number in clear in the e-certificate library (issue 13, finding 5), sealed as people are (0002).
-- One rule for every kind: a certificate's number (for a 居民身份证 it is the 公民身份号码; a 社会保障卡,
-- 结婚证 or 出生医学证明 number may be or lead to one) is kept as AES-GCM ciphertext, a keyed hash for the
-- uniqueness of 0004, and a masked copy to show; the contents (`data`: a spouse's number, a social security
-- number, names, addresses) are one encrypted document. Encrypting needs SECRET_KEY, so the data step named
-- above (app/certificates/service.py: seal_clear_rows) converts the rows written before, right after this
-- file and before any later one; it empties `number` and `data` and then validates e_certificates_sealed.

ALTER TABLE e_certificates
    ADD COLUMN number_hash   bytea,
    ADD COLUMN number_enc    bytea,
    ADD COLUMN number_masked text,
    ADD COLUMN data_enc      bytea,
    -- The case whose 办结 issued the certificate: until now only inside `data`, which is sealed from here on.
    ADD COLUMN case_id       bigint REFERENCES cases (id),
    ALTER COLUMN number DROP NOT NULL;

UPDATE e_certificates e SET case_id = c.id FROM cases c WHERE c.case_no = e.data ->> 'case_no';
CREATE INDEX e_certificates_case_idx ON e_certificates (case_id) WHERE case_id IS NOT NULL;

-- 0004's rules (one row per holder, kind and number) on the keyed hash. The old indexes go: they held the
-- numbers in clear.
DROP INDEX e_certificates_person_kind_number;
DROP INDEX e_certificates_org_kind_number;
CREATE UNIQUE INDEX e_certificates_person_kind_number_hash ON e_certificates (person_id, kind, number_hash)
    WHERE person_id IS NOT NULL;
CREATE UNIQUE INDEX e_certificates_org_kind_number_hash ON e_certificates (org_credit_code, kind, number_hash)
    WHERE person_id IS NULL;

-- From now on every row written is sealed; the rows from before are held to it once the data step has sealed
-- them (NOT VALID until then). A later migration may drop `number` and `data` once every deployment has run it.
ALTER TABLE e_certificates ADD CONSTRAINT e_certificates_sealed CHECK (
    number IS NULL AND data = '{}'::jsonb
    AND number_hash IS NOT NULL AND number_enc IS NOT NULL AND number_masked IS NOT NULL AND data_enc IS NOT NULL
) NOT VALID;
