-- 征求意见 with files (issue 23): the asking approver attaches files to the question, the asked department's to its
-- answer (PDF, JPEG, PNG; ≤ 10 MB each, checked by content as residents' uploads are). Kept as the resident's files
-- are (the content in the row), but in a table of their own: `uploads` are the resident's materials — shown to the
-- applicant, exported to the departments' systems, moved with a merged duplicate — and these are staff-to-staff words
-- that only the asking task's staff and the asked office read. `python -m app purge` deletes them with the case's
-- other files once its retention has passed (app/consultations/store.py: delete_attachments_of_cases).
CREATE TABLE consultation_attachments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consultation_id bigint NOT NULL REFERENCES consultations (id) ON DELETE CASCADE,
    side            text NOT NULL CHECK (side IN ('question', 'answer')),
    account_id      bigint NOT NULL REFERENCES accounts (id),
    filename        text NOT NULL,
    content_type    text NOT NULL CHECK (content_type IN ('application/pdf', 'image/jpeg', 'image/png')),
    size            integer NOT NULL CHECK (size > 0 AND size <= 10485760),
    sha256          bytea NOT NULL,
    content         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consultation_attachments_consultation_idx ON consultation_attachments (consultation_id, id);
