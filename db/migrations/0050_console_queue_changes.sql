-- The back office's queue page /console (issue 20): a page of a queue, as drawn, is kept by each web worker and sent
-- again while nothing it shows can have changed (app/console/queue.py). Whether anything did is this table's count:
-- of the changes to the tasks of a district (the office a task is routed to, or the hall its case was received at:
-- the first six digits of the region), to the tasks no office has taken yet (`untaken`: every clerk's queue holds
-- those of their departments), and to what a queue row shows of a case besides its tasks (`facts`: the case's
-- applicant, channel and receiving hall, the applicant's name and district, the organisation's name, a possible
-- duplicate flagged or decided). A queue of a region reads the sum of its districts', `untaken` and `facts`: it
-- only grows, so a page kept under one sum is never sent under a later one.
--
-- Counted by the database in the transaction of the change, whoever makes it, once per transaction and scope, and
-- when it commits (deferred triggers): the count is seen with the change, never before it, and a row of the count
-- is held only while its transaction commits, not while it goes on (two submissions filed at once for one district
-- never wait for each other's whole transaction: tests/test_performance.py). Each scope's count is spread over
-- eight rows (`shard`: the committing connection's server process), so that transactions committing at once seldom
-- wait for each other at all.
CREATE TABLE console_queue_changes (
    scope text NOT NULL CHECK (char_length(scope) <= 12),
    shard smallint NOT NULL CHECK (shard BETWEEN 0 AND 7),
    changes bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, shard)
);

CREATE FUNCTION count_queue_change() RETURNS trigger AS $$
DECLARE
    counted text := coalesce(current_setting('console.queue_counted', true), '');
    scopes text[];
    changed text;
    fresh text[] := '{}';
BEGIN
    -- A task routed from one office to another leaves one district's queue and joins another's: both count.
    IF TG_TABLE_NAME = 'tasks' THEN
        scopes := ARRAY[
            CASE WHEN TG_OP <> 'INSERT' THEN coalesce(left(OLD.office_region, 6), 'untaken') END,
            CASE WHEN TG_OP <> 'INSERT' THEN left(OLD.receiving_region, 6) END,
            CASE WHEN TG_OP <> 'DELETE' THEN coalesce(left(NEW.office_region, 6), 'untaken') END,
            CASE WHEN TG_OP <> 'DELETE' THEN left(NEW.receiving_region, 6) END
        ];
    ELSE
        scopes := ARRAY['facts'];
    END IF;
    -- Only those this transaction has not counted yet (a statement moving many tasks counts each district once),
    -- found without a query: this runs for every row changed.
    FOREACH changed IN ARRAY scopes LOOP
        IF changed IS NOT NULL AND strpos(counted, ' ' || changed || ' ') = 0 AND NOT changed = ANY(fresh) THEN
            fresh := fresh || changed;
        END IF;
    END LOOP;
    IF cardinality(fresh) = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO console_queue_changes AS count (scope, shard, changes)
    SELECT s, pg_backend_pid() % 8, 1 FROM unnest(fresh) s ORDER BY s
    ON CONFLICT (scope, shard) DO UPDATE SET changes = count.changes + 1;
    PERFORM set_config('console.queue_counted', counted || ' ' || array_to_string(fresh, '  ') || ' ', true);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tasks_queue_counted AFTER INSERT OR UPDATE OR DELETE ON tasks
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_queue_change();

-- What a row shows besides its tasks changes seldom (a register imported, an organisation renamed, a duplicate
-- flagged or decided): counted once for every queue.
CREATE CONSTRAINT TRIGGER cases_queue_counted AFTER UPDATE ON cases DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
WHEN ((OLD.applicant_person_id, OLD.filed_as, OLD.channel, OLD.received_region, OLD.subject_org_credit_code,
       OLD.case_no, OLD.created_at, OLD.life_event_code)
      IS DISTINCT FROM (NEW.applicant_person_id, NEW.filed_as, NEW.channel, NEW.received_region,
                        NEW.subject_org_credit_code, NEW.case_no, NEW.created_at, NEW.life_event_code))
EXECUTE FUNCTION count_queue_change();
CREATE CONSTRAINT TRIGGER people_queue_counted AFTER UPDATE ON people DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
WHEN ((OLD.name, OLD.region_code) IS DISTINCT FROM (NEW.name, NEW.region_code))
EXECUTE FUNCTION count_queue_change();
CREATE CONSTRAINT TRIGGER organisations_queue_counted AFTER UPDATE ON organisations
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
EXECUTE FUNCTION count_queue_change();
CREATE CONSTRAINT TRIGGER case_duplicates_queue_counted AFTER INSERT OR UPDATE OR DELETE ON case_duplicates
DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_queue_change();
