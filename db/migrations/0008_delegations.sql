-- 代办授权: an elder authorises a village helper, with how identity was checked and the elder's consent.
CREATE TABLE delegations (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    helper_account_id  bigint NOT NULL REFERENCES accounts (id),
    client_person_id   bigint NOT NULL REFERENCES people (id),
    scope              text[],  -- NULL: every life event; else the life-event codes
    expires_on         date NOT NULL,
    identity_check     text NOT NULL,
    consent_method     text NOT NULL CHECK (consent_method IN ('signature', 'passkey')),
    consent_signature  bytea,   -- the PNG the elder drew on the tablet
    consent_account_id bigint REFERENCES accounts (id),  -- the elder's own account, when consent was a passkey
    region_code        text NOT NULL REFERENCES regions (code),  -- where it was recorded: the helper's village
    created_at         timestamptz NOT NULL DEFAULT now(),
    revoked_at         timestamptz,
    revoked_by         text,
    CHECK (consent_method <> 'signature' OR consent_signature IS NOT NULL),
    CHECK (consent_method <> 'passkey' OR consent_account_id IS NOT NULL)
);
CREATE INDEX delegations_helper_idx ON delegations (helper_account_id) WHERE revoked_at IS NULL;
CREATE INDEX delegations_client_idx ON delegations (client_person_id);

-- An elder with a passkey consents with it on the helper's tablet: a third kind of ceremony.
ALTER TABLE webauthn_challenges DROP CONSTRAINT webauthn_challenges_purpose_check;
ALTER TABLE webauthn_challenges ADD CONSTRAINT webauthn_challenges_purpose_check
    CHECK (purpose IN ('register', 'login', 'consent'));
