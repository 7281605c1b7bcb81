-- Accounts, passkeys, ceremonies, enrollment codes, server-side sessions, failed-attempt limits and
-- the append-only audit log.

CREATE TABLE accounts (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind                 text NOT NULL CHECK (kind IN ('resident', 'staff')),
    person_id            bigint REFERENCES people (id),
    name                 text NOT NULL,
    roles                text[] NOT NULL,
    department_code      text REFERENCES departments (code),
    region_code          text REFERENCES regions (code),
    -- The WebAuthn user handle: random, never the ID number.
    user_handle          bytea NOT NULL UNIQUE,
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- "Sign out on every device": sessions signed in before this instant are void.
    sessions_valid_after timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'staff' OR person_id IS NOT NULL),
    CHECK (roles <@ ARRAY['resident', 'clerk', 'approver', 'helper', 'admin']::text[] AND cardinality(roles) > 0)
);
-- One account per ID number.
CREATE UNIQUE INDEX accounts_one_per_person ON accounts (person_id) WHERE kind = 'resident';

CREATE TABLE credentials (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    credential_id bytea NOT NULL UNIQUE,
    public_key    bytea NOT NULL,
    sign_count    bigint NOT NULL DEFAULT 0,
    transports    text[] NOT NULL DEFAULT '{}',
    aaguid        text,
    device_type   text,
    backed_up     boolean NOT NULL DEFAULT false,
    name          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz
);
CREATE INDEX credentials_account_idx ON credentials (account_id);

-- A challenge belongs to the session that asked for it, is used once and expires.
CREATE TABLE webauthn_challenges (
    challenge  bytea PRIMARY KEY,
    owner      text NOT NULL,
    purpose    text NOT NULL CHECK (purpose IN ('register', 'login')),
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX webauthn_challenges_expiry_idx ON webauthn_challenges (expires_at);

CREATE TABLE enrollment_codes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code_hash  bytea NOT NULL UNIQUE,
    -- Either a resident's person (sign-up / new phone) or a staff account created by staff-add.
    person_id  bigint REFERENCES people (id),
    account_id bigint REFERENCES accounts (id) ON DELETE CASCADE,
    issued_by  text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (person_id IS NOT NULL OR account_id IS NOT NULL)
);

-- Litestar's session store, kept in PostgreSQL so every worker sees the same sessions.
CREATE TABLE sessions (
    key        text PRIMARY KEY,
    value      bytea NOT NULL,
    expires_at timestamptz
);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE auth_failures (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject text NOT NULL,  -- 'ip:…' or 'credential:…'
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_subject_idx ON auth_failures (subject, at);

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    subject    text,
    outcome    text NOT NULL,
    ip         text,
    user_agent text,
    detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Append-only: no UPDATE ever; DELETE only for rows past retention, and only by the purge,
-- which announces itself with SET LOCAL ywtb.audit_purge = 'on'.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('ywtb.audit_purge', true) = 'on'
       AND OLD.at < now() - make_interval(days => coalesce(nullif(current_setting('ywtb.audit_retention_days', true), '')::int, 184)) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (TRUNCATE refused)' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate();
