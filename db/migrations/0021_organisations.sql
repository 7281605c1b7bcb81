-- The legal-person register (法人基础库), beside the population register: one row per organisation by its
-- 统一社会信用代码 (GB 32100). Its e-certificates live in e_certificates by org_credit_code (0002, sealed by 0012).
CREATE TABLE organisations (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    credit_code         text NOT NULL UNIQUE CHECK (credit_code ~ '^[0-9A-HJ-NP-RT-UW-Y]{18}$'),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    org_type            text NOT NULL,          -- 有限责任公司, 股份有限公司, 个体工商户 …
    legal_rep_person_id bigint NOT NULL REFERENCES people (id),
    address             text NOT NULL,
    region_code         text NOT NULL REFERENCES regions (code),  -- the district it is registered in
    established_on      date NOT NULL,
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deregistered', 'revoked')),
    -- Set when the code passed GB 32100 but its organisation part failed GB 11714 (legal for some early codes).
    code_warning        text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_legal_rep_idx ON organisations (legal_rep_person_id);
CREATE INDEX organisations_region_idx ON organisations (region_code);
