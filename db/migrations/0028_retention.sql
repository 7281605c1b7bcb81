-- 个人信息保存期限 (PIPL 第十九条: no longer than the purpose needs; issue 23). Each service item declares how long its
-- cases' personal data is kept after the case ends, with where that figure comes from (db/seed/items.json). NULL: the
-- item declares none, and its cases are kept (`python -m app purge` lists such items rather than guess a period).
ALTER TABLE service_items
    ADD COLUMN retention_years  integer CHECK (retention_years BETWEEN 1 AND 100),
    ADD COLUMN retention_source text,
    ADD CONSTRAINT service_items_retention_sourced CHECK ((retention_years IS NULL) = (retention_source IS NULL));

-- A case past its retention keeps its skeleton (number, life event, items, dates, outcome, public step titles) and
-- loses its answers: data_enc becomes NULL exactly when purged_at is set.
ALTER TABLE cases
    ALTER COLUMN data_enc DROP NOT NULL,
    ADD COLUMN purged_at timestamptz,
    ADD CONSTRAINT cases_answers_until_purged CHECK ((purged_at IS NULL) = (data_enc IS NOT NULL));

-- The nightly purge walks the cases not yet purged, oldest first, in batches (a city has millions of cases).
CREATE INDEX cases_unpurged_idx ON cases (created_at, id) WHERE purged_at IS NULL;
-- Forms never sent: drafts by when they were last saved, uploads attached to no case by when they arrived.
CREATE INDEX drafts_updated_idx ON drafts (updated_at);
CREATE INDEX uploads_unattached_idx ON uploads (created_at) WHERE case_id IS NULL;
