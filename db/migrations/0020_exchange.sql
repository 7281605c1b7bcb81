-- The data-exchange platform (共享交换平台): department and hospital systems as API clients (OAuth 2.0 client
-- credentials), the answers to their writes kept under their idempotency keys, and their webhooks.

-- A registered system. A department's sees its department's tasks of residents within its region; a hospital's
-- files birth and death records. Revoked: no token is issued and no token it holds is accepted any more.
CREATE TABLE api_clients (
    client_id       text PRIMARY KEY,
    name            text NOT NULL,
    department_code text REFERENCES departments (code),
    hospital        text,
    region_code     text NOT NULL,
    scopes          text[] NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    CHECK ((department_code IS NULL) <> (hospital IS NULL))
);

-- Its secrets, only as SHA-256 (a secret is 256 random bits: nothing to guess, so no slow hash is needed). A rotation
-- gives the old ones an end (expires_at), so the system can switch over without an outage.
CREATE TABLE api_client_secrets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   text NOT NULL REFERENCES api_clients (client_id) ON DELETE CASCADE,
    secret_hash bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);
CREATE INDEX api_client_secrets_client_idx ON api_client_secrets (client_id);

-- The answer to each write a client made under an Idempotency-Key, written in the write's own transaction: the
-- same key again gets the same answer and changes nothing; the same key with another request is refused.
CREATE TABLE exchange_writes (
    client_id       text NOT NULL REFERENCES api_clients (client_id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    status_code     integer NOT NULL,
    response        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, idempotency_key)
);

-- Webhooks (hooks/): a client's subscriptions, and one delivery per (subscription, event), sent by the worker
-- through pgqueuer and signed per Standard Webhooks. The department and region are the client's, copied so the
-- timeline can find whom an event concerns without reading api_clients (hooks/ knows nothing of auth/).
CREATE TABLE webhook_subscriptions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id       text NOT NULL REFERENCES api_clients (client_id) ON DELETE CASCADE,
    department_code text NOT NULL REFERENCES departments (code),
    region_prefix   text NOT NULL,
    url             text NOT NULL,
    events          text[] NOT NULL,
    -- whsec_…, the key both sides sign with: kept as the receiver keeps it (it signs; it opens nothing).
    secret          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz
);
CREATE INDEX webhook_subscriptions_department_idx ON webhook_subscriptions (department_code) WHERE disabled_at IS NULL;

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    -- The Standard Webhooks webhook-id: the same on every try, so a receiver can drop a repeat.
    message_id      text NOT NULL UNIQUE,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_subscription_idx ON webhook_deliveries (subscription_id, id);
