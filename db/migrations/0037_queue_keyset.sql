-- The back office's queue in pages (issue 20): app/cases/store.py `queue` walks the open tasks soonest due first
-- (a task with no deadline last, then by id) from the last one of the page before, and stops after a page. These
-- indexes hold only the open tasks (app.cases.states.OPEN_TASK_STATUSES; delivered, refused and withdrawn ones are
-- most of a city's tasks and never in a queue), in that order: a window clerk's queue walks the first, an approver's
-- (and a clerk's narrowed to one department) the second.
CREATE INDEX tasks_queue_idx ON tasks ((coalesce(due_on, 'infinity'::date)), id)
    WHERE status IN ('accepted', 'approved', 'awaiting_consent', 'completed', 'in_review', 'resubmitted', 'submitted',
                     'supplement_requested');
CREATE INDEX tasks_department_queue_idx ON tasks (department_code, (coalesce(due_on, 'infinity'::date)), id)
    WHERE status IN ('accepted', 'approved', 'awaiting_consent', 'completed', 'in_review', 'resubmitted', 'submitted',
                     'supplement_requested');
