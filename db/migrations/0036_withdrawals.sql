-- 撤回申请 (issue 19): an applicant withdraws tasks of their case not yet decided; they end as `withdrawn`, the status
-- 0032 added for a duplicate merged into another case (app/cases/withdrawal.py).

-- A withdrawn correction (更正) is no longer open: the certificate may be corrected again.
DROP INDEX tasks_one_open_correction;
CREATE UNIQUE INDEX tasks_one_open_correction ON tasks (corrects_certificate_id)
    WHERE corrects_certificate_id IS NOT NULL
      AND status NOT IN ('rejected', 'denied', 'completed', 'delivered', 'withdrawn');

-- A consent request whose tasks were all withdrawn (by the applicant, or merged as a duplicate) ends: the person asked
-- is asked no more (app/cases/consent_flow.py: release).
ALTER TABLE consents DROP CONSTRAINT consents_state_check;
ALTER TABLE consents ADD CONSTRAINT consents_state_check
    CHECK (state IN ('requested', 'granted', 'refused', 'expired', 'withdrawn'));
