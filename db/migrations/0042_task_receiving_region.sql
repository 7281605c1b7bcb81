-- The receiving hall on the task row (issue 20): a window clerk's queue holds every task of a case their hall
-- received (app/cases/workflow.py: receiving_hall — the hall that received it at its window, cases.received_region,
-- else the applicant's registered region, whose district hall receives it). The queue read it through the case and
-- the applicant for every open task its walk passed, most of them other offices' (about 20 per task shown at city
-- scale). Kept here, in step with both: set from the case when a task is made (app/cases/store.py: insert_tasks,
-- insert_correction_task), and again for the open tasks of an online or helper case whose applicant the register
-- moves (app/cases/service.py: follow_register_moves, after `import-population`). NULL: no region known (no hall).
ALTER TABLE tasks ADD COLUMN receiving_region text;

-- Only the open tasks, the ones a queue reads (app.cases.states.OPEN_TASK_STATUSES): a task 不予受理, 未予批准,
-- 出件 or 撤回 never opens again, and rewriting a city's years of ended tasks would hold this migration for minutes.
UPDATE tasks t SET receiving_region = coalesce(c.received_region, p.region_code)
FROM cases c JOIN people p ON p.id = c.applicant_person_id
WHERE c.id = t.case_id
  AND t.status IN ('accepted', 'approved', 'awaiting_consent', 'completed', 'in_review', 'resubmitted', 'submitted',
                   'supplement_requested');

-- 0037's queue indexes again, each entry now carrying what the office scope and the states a role sees need (its
-- deadline, state, the routed office, the receiving hall, the department, the case): the walk in queue order turns away
-- another office's task on its index entry, never reading the task, its case or its applicant.
DROP INDEX tasks_queue_idx;
DROP INDEX tasks_department_queue_idx;
CREATE INDEX tasks_queue_scope_idx ON tasks ((coalesce(due_on, 'infinity'::date)), id)
    INCLUDE (due_on, status, office_region, receiving_region, department_code, case_id)
    WHERE status IN ('accepted', 'approved', 'awaiting_consent', 'completed', 'in_review', 'resubmitted', 'submitted',
                     'supplement_requested');
CREATE INDEX tasks_department_queue_scope_idx ON tasks (department_code, (coalesce(due_on, 'infinity'::date)), id)
    INCLUDE (due_on, status, office_region, receiving_region, case_id)
    WHERE status IN ('accepted', 'approved', 'awaiting_consent', 'completed', 'in_review', 'resubmitted', 'submitted',
                     'supplement_requested');
