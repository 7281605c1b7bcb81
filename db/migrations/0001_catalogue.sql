-- The catalogue: regions, departments, the canonical form fields, service items and life events.
-- Life events and items are configuration read by the code, not code paths.

CREATE TABLE regions (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{6}([0-9]{3}){0,2}$'),
    name        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('city', 'district', 'town', 'village')),
    parent_code text REFERENCES regions (code),
    is_demo     boolean NOT NULL DEFAULT false
);
CREATE INDEX regions_parent_idx ON regions (parent_code);

CREATE TABLE departments (
    code       text PRIMARY KEY,
    name       text NOT NULL,
    short_name text NOT NULL
);

CREATE TABLE form_sections (
    key      text PRIMARY KEY,
    title    text NOT NULL,
    position integer NOT NULL
);

CREATE TABLE form_fields (
    key         text PRIMARY KEY,
    label       text NOT NULL,
    type        text NOT NULL CHECK (type IN ('text', 'id_number', 'mobile', 'date', 'past_date', 'select',
                                              'textarea', 'bank_account', 'credit_code', 'number', 'checkbox')),
    section_key text NOT NULL REFERENCES form_sections (key),
    options     jsonb,
    prefill     text,
    help        text,
    max_length  integer
);

CREATE TABLE service_items (
    code                 text PRIMARY KEY,
    name                 text NOT NULL,
    item_type            text NOT NULL,
    department_code      text NOT NULL REFERENCES departments (code),
    level                text NOT NULL,
    subject              text NOT NULL,
    -- 办事指南 time limits keep their unit: 工作日 or 日历日.
    legal_limit_value    integer NOT NULL CHECK (legal_limit_value >= 0),
    legal_limit_unit     text NOT NULL CHECK (legal_limit_unit IN ('工作日', '日历日')),
    promised_limit_value integer NOT NULL CHECK (promised_limit_value >= 0),
    promised_limit_unit  text NOT NULL CHECK (promised_limit_unit IN ('工作日', '日历日')),
    kind                 text NOT NULL CHECK (kind IN ('即办件', '承诺件')),
    visits               integer NOT NULL DEFAULT 0,
    guide                jsonb NOT NULL,  -- conditions, process, channels, fee, location, hours, contact, complaint
    fields               jsonb NOT NULL,  -- [{key, required}] referencing form_fields
    materials            jsonb NOT NULL,  -- [{code, name, required, certificate_kind?, note?}]
    result_certificate   jsonb            -- {kind, title}: what completing the item issues into the library
);
CREATE INDEX service_items_department_idx ON service_items (department_code);

CREATE TABLE life_events (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9-]*$'),
    name     text NOT NULL,
    summary  text NOT NULL,
    promise  text NOT NULL,
    icon     text NOT NULL,
    position integer NOT NULL
);

CREATE TABLE life_event_items (
    life_event_code text NOT NULL REFERENCES life_events (code) ON DELETE CASCADE,
    item_code       text NOT NULL REFERENCES service_items (code),
    position        integer NOT NULL,
    PRIMARY KEY (life_event_code, item_code)
);
