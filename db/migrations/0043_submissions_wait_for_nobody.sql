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

-- A job queued (pgqueuer) no longer NOTIFYs its workers: a transaction that has sent a NOTIFY takes a lock on the
-- whole database at its commit and holds it until its commit record is flushed, so every transaction that queued a
-- push, a text or a webhook (each submission, each step of a case) committed one at a time, each waiting for the
-- others' disk flushes (measured: ~500 commits/s with a NOTIFY against ~1,700 without, on the bench machine). The
-- workers look at the queue every `--idle-poll-seconds` instead (push/worker.py: a fraction of a second) and go on
-- while there are jobs. Their own updates (a job taken, done) still notify: they come from the workers, not from the
-- residents' and clerks' transactions, and pgqueuer's LISTEN still brings cancellations and health checks.
DROP TRIGGER tg_pgqueuer_changed ON pgqueuer;
CREATE TRIGGER tg_pgqueuer_changed
AFTER UPDATE OR DELETE OR TRUNCATE ON pgqueuer
EXECUTE FUNCTION fn_pgqueuer_changed();
