-- How each notice of a case that must arrive reached the resident is part of its tracking page (issue 20), and it
-- changes without a timeline event: the push worker settles a notice when a push or a text ends, a clerk records a
-- phone call. The page kept for anonymous visitors (tracking_pages, 0047) is tagged with it, so every look at the page
-- read the case's notices (notice_arrivals, push/'s table) beside the snapshot: a second statement each time.
--
-- `notices_version` counts those changes beside the snapshot, so one indexed read of the case tells whether the kept
-- page still stands; the notices themselves are read only when the page is drawn again. It is moved by the database,
-- in the transaction of the change itself, because the push worker that settles notices runs without app/ (a hook
-- handed in by app/main.py would never run there) and push/ knows nothing of cases: the one write to `cases` made
-- outside app/cases/store.py, and it only counts (docs/architecture.md). Every change to a notice's row counts,
-- whatever the page shows of it: a change it does not show only draws the page once more.
ALTER TABLE cases ADD COLUMN notices_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION count_notice_change() RETURNS trigger AS $$
BEGIN
    UPDATE cases SET notices_version = notices_version + 1
     WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.case_id ELSE NEW.case_id END;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER notice_arrivals_counted
AFTER INSERT OR DELETE ON notice_arrivals
FOR EACH ROW EXECUTE FUNCTION count_notice_change();

CREATE TRIGGER notice_arrivals_changes_counted
AFTER UPDATE ON notice_arrivals
FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION count_notice_change();
