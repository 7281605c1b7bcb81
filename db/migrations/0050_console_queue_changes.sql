-- The back office's queue page /console (issue 20): a page of a queue, as drawn, is kept by each web worker and sent
-- again while nothing it shows can have changed (app/console/queue.py). Whether anything did is this table's count:
-- of the changes to the tasks of a district (the office a task is routed to, or the hall its case was received at:
-- the first six digits of the region), to the tasks no office has taken yet (`untaken`: every clerk's queue holds
-- those of their departments), and to what a queue row shows of a case besides its tasks (`facts`: the case's
-- applicant, channel and receiving hall, the applicant's name and district, the organisation's name, a possible
-- duplicate flagged or decided). A queue of a region reads the sum of its districts', `untaken` and `facts`: it
-- only grows, so a page kept under one sum is never sent under a later one.
--
-- Counted by the database in the transaction of the change, whoever makes it, once per transaction and scope: seen
-- when the change is, never before it. A scope's count is the sum of its rows, and a transaction adds one to a row
-- no other transaction holds (SKIP LOCKED), or makes a row when all are held: no transaction ever waits for another
-- to count (two submissions filed at once for one district do not: tests/test_performance.py), and none deadlocks.
-- A scope has as many rows as transactions ever counted it at once.
CREATE TABLE console_queue_changes (
    scope text NOT NULL CHECK (char_length(scope) <= 12),
    part bigint NOT NULL,  -- one of the scope's rows, numbered when made
    changes bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, part)
);
CREATE SEQUENCE console_queue_change_parts;

CREATE FUNCTION count_queue_changes(scopes text[]) RETURNS void AS $$
DECLARE
    counted text := coalesce(current_setting('console.queue_counted', true), '');
    changed text;
BEGIN
    FOREACH changed IN ARRAY scopes LOOP
        -- Once a transaction: a scope's change is seen with all the transaction's changes, whichever it counts.
        CONTINUE WHEN strpos(counted, ' ' || changed || ' ') > 0;
        UPDATE console_queue_changes SET changes = changes + 1
        WHERE (scope, part) = (SELECT scope, part FROM console_queue_changes WHERE scope = changed
                               LIMIT 1 FOR UPDATE SKIP LOCKED);
        IF NOT FOUND THEN  -- every row of the scope held by others (or none yet): a row of its own, a new number
            INSERT INTO console_queue_changes (scope, part, changes)
            VALUES (changed, nextval('console_queue_change_parts'), 1);
        END IF;
        counted := counted || ' ' || changed || ' ';
    END LOOP;
    PERFORM set_config('console.queue_counted', counted, true);
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION count_queue_task_change() RETURNS trigger AS $$
BEGIN
    PERFORM count_queue_changes(array_agg(DISTINCT scope))
    FROM changed, LATERAL (VALUES (coalesce(left(office_region, 6), 'untaken')), (left(receiving_region, 6))) v(scope)
    WHERE scope IS NOT NULL
    HAVING count(*) > 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A task routed from one office to another leaves one district's queue and joins another's: both are counted.
CREATE TRIGGER tasks_added_queue_counted AFTER INSERT ON tasks
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_task_change();
CREATE TRIGGER tasks_changed_queue_counted AFTER UPDATE ON tasks
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_task_change();
CREATE TRIGGER tasks_left_queue_counted AFTER UPDATE ON tasks
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_task_change();
CREATE TRIGGER tasks_removed_queue_counted AFTER DELETE ON tasks
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_task_change();

-- What a row shows besides its tasks changes seldom (a register imported, an organisation renamed, a duplicate
-- flagged or decided): counted for every queue (`facts`), for each row changed in what a queue shows of it (a
-- trigger on some columns cannot see a statement's rows as a whole).
CREATE FUNCTION count_queue_facts_change() RETURNS trigger AS $$
BEGIN
    PERFORM count_queue_changes(ARRAY['facts']);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION count_queue_flags_change() RETURNS trigger AS $$
BEGIN
    PERFORM count_queue_changes(ARRAY['facts']) FROM changed HAVING count(*) > 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cases_queue_counted AFTER UPDATE ON cases FOR EACH ROW
WHEN ((OLD.applicant_person_id, OLD.filed_as, OLD.channel, OLD.received_region, OLD.subject_org_credit_code,
       OLD.case_no, OLD.created_at, OLD.life_event_code)
      IS DISTINCT FROM (NEW.applicant_person_id, NEW.filed_as, NEW.channel, NEW.received_region,
                        NEW.subject_org_credit_code, NEW.case_no, NEW.created_at, NEW.life_event_code))
EXECUTE FUNCTION count_queue_facts_change();
CREATE TRIGGER people_queue_counted AFTER UPDATE ON people FOR EACH ROW
WHEN ((OLD.name, OLD.region_code) IS DISTINCT FROM (NEW.name, NEW.region_code))
EXECUTE FUNCTION count_queue_facts_change();
CREATE TRIGGER organisations_queue_counted AFTER UPDATE ON organisations FOR EACH ROW
WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION count_queue_facts_change();

CREATE TRIGGER case_duplicates_added_queue_counted AFTER INSERT ON case_duplicates
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_flags_change();
CREATE TRIGGER case_duplicates_changed_queue_counted AFTER UPDATE ON case_duplicates
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_flags_change();
CREATE TRIGGER case_duplicates_removed_queue_counted AFTER DELETE ON case_duplicates
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION count_queue_flags_change();
