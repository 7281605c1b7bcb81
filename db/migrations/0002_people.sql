-- The population register (人口基础库, demo data here) and the e-certificate library (电子证照).
-- ID numbers are never stored in clear: AES-GCM ciphertext, an HMAC for lookup, and the masked form.

CREATE TABLE people (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_number_hash   bytea NOT NULL UNIQUE,
    id_number_enc    bytea NOT NULL,
    id_number_masked text NOT NULL,
    name             text NOT NULL,
    phone            text,
    region_code      text REFERENCES regions (code),
    birth_date       date NOT NULL,
    sex              text NOT NULL CHECK (sex IN ('M', 'F')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_region_idx ON people (region_code);

CREATE TABLE e_certificates (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id       bigint REFERENCES people (id),
    org_credit_code text,
    kind            text NOT NULL,
    title           text NOT NULL,
    number          text NOT NULL,
    issued_by       text NOT NULL,
    issued_on       date NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (person_id IS NOT NULL OR org_credit_code IS NOT NULL),
    UNIQUE (kind, number)
);
CREATE INDEX e_certificates_person_idx ON e_certificates (person_id, kind);
