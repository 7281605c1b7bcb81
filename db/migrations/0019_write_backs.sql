-- What a completed task writes back (issue 15, 记录 → 基础库). A 户口注销 closes the deceased person's account:
-- it can no longer sign in, and every session it had ends (sessions_valid_after alone would let a new sign-in
-- through). It ends their delegations too, saying why, so the helper's roster can tell "revoked by the elder" from
-- "the elder has died".
ALTER TABLE accounts
    ADD COLUMN closed_at     timestamptz,
    ADD COLUMN closed_reason text,
    ADD CONSTRAINT accounts_closed_with_reason CHECK ((closed_at IS NULL) = (closed_reason IS NULL));

ALTER TABLE delegations ADD COLUMN revoked_reason text;

-- A parent files for their minor child without a delegation (issue 15): the case is the child's, filed by the
-- parent's account.
ALTER TABLE cases DROP CONSTRAINT cases_filed_as_check;
ALTER TABLE cases ADD CONSTRAINT cases_filed_as_check CHECK (filed_as IN ('self', 'helper', 'clerk', 'parent'));
