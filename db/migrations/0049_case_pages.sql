-- The signed-in resident's case page /cases/{no} (issue 20), kept like the tracking page (0047): the case's own part of
-- it, as drawn for every reader of one kind in one language, sent again while its tag stands. The page's layout (the
-- account's menu, its device key, a banner of the session) is drawn on each view, around what is kept, so nothing
-- of any account is kept; the part kept is what case.html's blocks draw (title, head, main, scripts), with a slot
-- where the reader's CSRF token goes (app/web/shared_pages.py). One row per case, language and kind of reader (the
-- applicant, or a party linked to the case in one role: `linked_as` changes what the page offers), overwritten when
-- its tag changes; `etag` is the tag it was drawn under (the case's versions below, its head, the reader, the
-- language, the release) and is compared on every read, so a row left behind by a newer change is never served.
-- A case with consent requests (their state moves with the clock) and a purged case are drawn on each view, never
-- kept. Removed with the case's personal data by `python -m app purge`.
CREATE TABLE case_pages (
    case_id bigint NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    variant text NOT NULL CHECK (char_length(variant) <= 80),
    etag text NOT NULL,
    blocks bytea NOT NULL,
    -- The case's counts below as the page was drawn: while they are the case's, the read that finds the page reads
    -- none of the tasks and steps; once either moved on, the same read brings them, to draw the page again.
    page_version bigint NOT NULL,
    notices_version bigint NOT NULL,
    PRIMARY KEY (case_id, variant)
);

-- What the page shows of its tasks and steps changes with no change to the case's row: `page_version` counts every
-- change to them (the notices that must arrive have their own count, notices_version: 0048), so one indexed read of
-- the case tells whether the page kept still stands. Moved by the database in the transaction of the change, whoever
-- makes it (a clerk's decision, a withdrawal, the purge clearing notes), once per statement and case: a statement
-- moving many tasks (a holiday calendar published) writes each of their cases once. Every change counts, whatever
-- the page shows of it: a change it does not show only draws the page once more.
ALTER TABLE cases ADD COLUMN page_version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION count_case_page_change() RETURNS trigger AS $$
BEGIN
    UPDATE cases SET page_version = page_version + 1 WHERE id IN (SELECT case_id FROM changed);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tasks_added_counted AFTER INSERT ON tasks
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_case_page_change();
CREATE TRIGGER tasks_changed_counted AFTER UPDATE ON tasks
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_case_page_change();
CREATE TRIGGER tasks_removed_counted AFTER DELETE ON tasks
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_case_page_change();

CREATE TRIGGER timeline_events_added_counted AFTER INSERT ON timeline_events
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_case_page_change();
CREATE TRIGGER timeline_events_changed_counted AFTER UPDATE ON timeline_events
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_case_page_change();
CREATE TRIGGER timeline_events_removed_counted AFTER DELETE ON timeline_events
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_case_page_change();
