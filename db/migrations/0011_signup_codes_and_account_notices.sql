-- Sign-up proves possession of the phone on the population register (issue 13, finding 1), limits that
-- hold across app processes, and notices about an account itself (not a case step) in the inbox.

-- One row per well-formed sign-up start, whatever the pair was: the same work for a right pair, a wrong one,
-- an existing account and a person with no phone, so neither the answer nor its timing tells them apart.
-- Only a row with person_id was texted its code; the others hold a hash of a code nobody was sent.
CREATE TABLE signup_codes (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- HMAC of (ID number, name) as typed: the next step finds the code only with the same pair.
    pair_hash    bytea NOT NULL,
    person_id    bigint REFERENCES people (id) ON DELETE CASCADE,
    code_hash    bytea NOT NULL,  -- HMAC of the 6 digits, keyed with SECRET_KEY
    tries        integer NOT NULL DEFAULT 0,  -- at most 5 per code, the right one included
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX signup_codes_pair_idx ON signup_codes (pair_hash, created_at DESC);
CREATE INDEX signup_codes_expiry_idx ON signup_codes (expires_at);

-- Attempts counted whether or not they fail (sign-up starts per address and per ID number), in PostgreSQL so
-- that every app process on one database counts the same. Failures stay in auth_failures.
CREATE TABLE rate_limit_attempts (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject text NOT NULL,  -- 'signup-ip:…', 'signup-number:<lookup hash, hex>'
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rate_limit_attempts_subject_idx ON rate_limit_attempts (subject, at);

-- Account notices: a passkey added, an enrollment code issued, a delegation recorded. They sit in the same
-- inbox and go to the same devices as case steps, but belong to no case and no timeline event.
ALTER TABLE inbox_entries
    ADD COLUMN kind text NOT NULL DEFAULT 'case' CHECK (kind IN ('case', 'account')),
    ALTER COLUMN event_id DROP NOT NULL,
    ALTER COLUMN case_id DROP NOT NULL,
    ADD CONSTRAINT inbox_entries_case_step_or_notice
        CHECK ((kind = 'case' AND event_id IS NOT NULL AND case_id IS NOT NULL)
               OR (kind = 'account' AND event_id IS NULL AND case_id IS NULL));
