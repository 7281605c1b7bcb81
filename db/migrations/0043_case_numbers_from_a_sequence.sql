-- A case's number is taken from a sequence, not by updating the day's counter row: every submission wrote that one
-- row in a statement of its own, so each waited for the one before it to commit (and its WAL to be flushed) before it
-- could write it. nextval waits for nobody and needs no commit. The day's numbers are the sequence's values less the
-- day's `base`, set once by the first submission of the day (app/cases/store.py next_case_sequence); numbers taken
-- and then not used are skipped, as before.
CREATE SEQUENCE case_numbers AS bigint;
-- Handed out once, so that a day opened now (base = the last value handed out) starts at 1.
SELECT nextval('case_numbers');
-- NULL on the days numbered by the counter: today's row, if any, gets its base above the numbers it handed out.
ALTER TABLE case_number_days ADD COLUMN base bigint;
COMMENT ON COLUMN case_number_days.last_seq IS 'The day''s last number while they were counted here (before 0043).';
