-- The public tracking view of a case, kept ready as JSON: rebuilt whenever a timeline event is recorded,
-- so a receipt scan (the hottest read) is one indexed row, not a join. NULL = not built yet (built on read).
ALTER TABLE cases ADD COLUMN tracking_json bytea;
