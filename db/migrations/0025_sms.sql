-- 短信提醒 (issue 19): text messages as a channel beside push and the inbox.

-- When a resident is texted about their cases: `fallback` only when no device of theirs receives push (and always
-- for 补正告知 and 办结), `always` for every step.
ALTER TABLE accounts ADD COLUMN sms_preference text NOT NULL DEFAULT 'fallback'
    CHECK (sms_preference IN ('always', 'fallback'));

-- The number a case's steps are texted to: the 申请人手机号码 given on its form (by the resident, the helper or the
-- clerk who filed it). A case without one is texted at the register's phone.
CREATE TABLE case_sms_phones (
    case_id bigint PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    phone   text NOT NULL
);

-- One text per (timeline event, number), written in the event's transaction and sent by the worker (sms/): created →
-- sending → delivered (the gateway took it) | temporary-failure (a retry is due) | permanent-failure (the number
-- cannot be texted: invalid, or its daily cap reached) | technical-failure (retries spent, or the gateway refused).
-- No personal data but the number: the params are the case number, the step and the tracking link's path.
CREATE TABLE sms_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone         text NOT NULL,
    template      text NOT NULL,
    params        jsonb NOT NULL,
    case_id       bigint REFERENCES cases (id) ON DELETE CASCADE,
    event_id      bigint REFERENCES timeline_events (id) ON DELETE CASCADE,
    -- Several events of one step in one transaction (办结 and its write-back) text once.
    once_key      text UNIQUE,
    status        text NOT NULL DEFAULT 'created' CHECK (status IN (
                      'created', 'sending', 'delivered',
                      'temporary-failure', 'permanent-failure', 'technical-failure')),
    attempts      integer NOT NULL DEFAULT 0,
    provider_id   text,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    sent_at       timestamptz
);
CREATE INDEX sms_messages_case_idx ON sms_messages (case_id);

-- Texts handed to the gateway per number and day (Beijing time), sign-up codes included: SMS_DAILY_CAP_PER_NUMBER
-- stops a flood to one phone, however many hosts send.
CREATE TABLE sms_daily_counts (
    phone text NOT NULL,
    day   date NOT NULL,
    sent  integer NOT NULL,
    PRIMARY KEY (phone, day)
);
