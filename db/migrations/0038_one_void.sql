-- One way for a certificate to be void (已作废). 0033 (更正) marked a certificate replaced by a corrected one with
-- superseded_by and voided_at; 0034 (企业注销) marked an organisation's certificates no longer in force with void_on
-- and void_reason: two mechanisms, and every reader had to test both. From now on a certificate is void when
-- voided_at is set, always with the reason shown to whoever reads or checks it (void_reason), and with the certificate
-- that replaced it (superseded_by) when a correction did; "in force" is `voided_at IS NULL` (app/certificates/store.py:
-- _CURRENT).

-- 0033's rule (void exactly when superseded) no longer holds: an organisation's 注销 voids without a successor.
ALTER TABLE e_certificates DROP CONSTRAINT e_certificates_void_has_successor;

-- The reason a correction gives (app/certificates/service.py: CORRECTED), for the certificates corrected so far.
UPDATE e_certificates SET void_reason = '更正并换发新证照' WHERE superseded_by IS NOT NULL AND void_reason IS NULL;
-- An organisation's 注销 voided on a day: from the start of that day in Beijing.
UPDATE e_certificates SET voided_at = void_on::timestamp AT TIME ZONE 'Asia/Shanghai'
    WHERE void_on IS NOT NULL AND voided_at IS NULL;
UPDATE e_certificates SET void_reason = '已作废' WHERE voided_at IS NOT NULL AND void_reason IS NULL;

ALTER TABLE e_certificates
    DROP COLUMN void_on,
    ADD CONSTRAINT e_certificates_void_has_reason CHECK ((voided_at IS NULL) = (void_reason IS NULL)),
    ADD CONSTRAINT e_certificates_successor_voids CHECK (superseded_by IS NULL OR voided_at IS NOT NULL);
