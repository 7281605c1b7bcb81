-- 必达通知 (issue 23): a notice the resident must receive — 补正告知, 不予受理, 不予批准, 办结 with a result waiting at
-- the window — is followed until it is known to have reached them: by push to a device of theirs; when every push
-- fails (or they have none) by text; when that fails too (or there is no number) it is 未送达 on the console until
-- a clerk phones them or posts a paper notice and records it. One row per such notice (timeline event), written in
-- the event's transaction and moved on by the worker as the pushes and the text end (push/arrival.py).
CREATE TABLE notice_arrivals (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id           bigint NOT NULL UNIQUE REFERENCES timeline_events (id) ON DELETE CASCADE,
    case_id            bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    case_no            text NOT NULL,
    task_id            bigint REFERENCES tasks (id) ON DELETE CASCADE,
    -- The applicant's region: which halls' clerks follow an undelivered notice up.
    region_code        text NOT NULL,
    -- The public step title (as the tracking page shows it) and when the notice went out.
    title              text NOT NULL,
    issued_at          timestamptz NOT NULL DEFAULT now(),
    -- The applicant's inbox entry (站内信): its pushes are the ones that count. NULL: the applicant has no account.
    inbox_entry_id     bigint REFERENCES inbox_entries (id) ON DELETE SET NULL,
    -- The text (sms.models.CaseText) to queue once every push has failed; NULL when one was queued with the step or
    -- there is no number. Holds a phone number: cleared once the notice is settled.
    fallback_text      jsonb,
    sms_message_id     bigint REFERENCES sms_messages (id) ON DELETE SET NULL,
    -- sending: a channel is still trying; delivered: one reached them (or a clerk did); undelivered: 未送达.
    state              text NOT NULL DEFAULT 'sending' CHECK (state IN ('sending', 'delivered', 'undelivered')),
    pushed_at          timestamptz,  -- a push service took it for a device of theirs
    texted_at          timestamptz,  -- the SMS gateway took it
    failure            text,         -- why it has not arrived, for the clerk
    undelivered_at     timestamptz,
    -- A clerk's phone call or paper notice, recorded (on the timeline and in the audit log too).
    by_hand            text CHECK (by_hand IN ('phone', 'paper')),
    by_hand_at         timestamptz,
    by_hand_account_id bigint REFERENCES accounts (id),
    by_hand_note       text CHECK (char_length(by_hand_note) <= 200)
);
CREATE INDEX notice_arrivals_case_idx ON notice_arrivals (case_id, event_id);
CREATE INDEX notice_arrivals_inbox_entry_idx ON notice_arrivals (inbox_entry_id) WHERE inbox_entry_id IS NOT NULL;
CREATE INDEX notice_arrivals_sms_idx ON notice_arrivals (sms_message_id) WHERE sms_message_id IS NOT NULL;
-- The console's 未送达 list: few rows, read by region.
CREATE INDEX notice_arrivals_undelivered_idx ON notice_arrivals (undelivered_at) WHERE state = 'undelivered';
