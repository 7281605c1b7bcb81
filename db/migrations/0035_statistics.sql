-- data step: rebuild_statistics
-- Public statistics (/stats, issue 17): aggregates kept as the work happens, so no request ever counts cases.
--
-- Each event that changes a figure (a case filed, a task taken by an office, completed or delivered, a rating given
-- or changed, a follow-up opened or answered) appends signed increments to stats_deltas in its own transaction:
-- insert-only, so a busy office's submissions never queue on one counter row. A fold (app/stats/service.py, every few
-- seconds in each web worker, one at a time under an advisory lock) moves them into the two rollups in one statement
-- and deletes them: idempotent and safe to stop anywhere.
--
-- The figures count 办件 per service item (a task: one 一件事 filed with four items counts four), each on the day
-- of its own event (received on the filing day, completed on the day of 办结 …), by the office that handles it
-- (tasks.office_region; a 全城通办 task not taken yet: the applicant's district). '' stands for "none": a rating of
-- the case as a whole has no department nor item; a follow-up is counted by its office only.
-- The data step fills both rollups from the data there is (app/stats/service.py: rebuild).

CREATE TABLE stats_deltas (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day                 date NOT NULL,
    department_code     text NOT NULL,
    office_region       text NOT NULL,
    item_code           text NOT NULL,
    channel             text NOT NULL,
    received            integer NOT NULL DEFAULT 0,
    received_instant    integer NOT NULL DEFAULT 0,
    completed           integer NOT NULL DEFAULT 0,
    completed_on_time   integer NOT NULL DEFAULT 0,
    working_days        integer NOT NULL DEFAULT 0,
    delivered           integer NOT NULL DEFAULT 0,
    delivered_no_visit  integer NOT NULL DEFAULT 0,
    certificates_due    integer NOT NULL DEFAULT 0,
    certificates_issued integer NOT NULL DEFAULT 0,
    ratings             integer NOT NULL DEFAULT 0,
    ratings_good        integer NOT NULL DEFAULT 0,
    follow_ups          integer NOT NULL DEFAULT 0,
    follow_ups_on_time  integer NOT NULL DEFAULT 0
);

-- By day, per (department, office, item, channel): the grain everything is kept at. A follow-up is kept on the day its
-- result is due, so "due so far" is a range of days.
CREATE TABLE stats_daily (
    day                 date NOT NULL,
    department_code     text NOT NULL,
    office_region       text NOT NULL,
    item_code           text NOT NULL,
    channel             text NOT NULL,
    received            integer NOT NULL DEFAULT 0,
    received_instant    integer NOT NULL DEFAULT 0,
    completed           integer NOT NULL DEFAULT 0,
    completed_on_time   integer NOT NULL DEFAULT 0,
    working_days        integer NOT NULL DEFAULT 0,
    delivered           integer NOT NULL DEFAULT 0,
    delivered_no_visit  integer NOT NULL DEFAULT 0,
    certificates_due    integer NOT NULL DEFAULT 0,
    certificates_issued integer NOT NULL DEFAULT 0,
    ratings             integer NOT NULL DEFAULT 0,
    ratings_good        integer NOT NULL DEFAULT 0,
    follow_ups          integer NOT NULL DEFAULT 0,
    follow_ups_on_time  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (day, department_code, office_region, item_code, channel)
);
-- Follow-ups are few (bad ratings): the public figure reads only the rows that have some.
CREATE INDEX stats_daily_follow_ups_idx ON stats_daily (day) WHERE follow_ups <> 0;

-- By month, per (department, district of the office): what /stats, its API and the home page read — a year of the
-- whole city is a few hundred rows. The channel is in columns.
CREATE TABLE stats_monthly (
    month               date NOT NULL CHECK (extract(day FROM month) = 1),
    department_code     text NOT NULL,
    district            text NOT NULL,
    received            integer NOT NULL DEFAULT 0,
    received_online     integer NOT NULL DEFAULT 0,
    received_window     integer NOT NULL DEFAULT 0,
    received_helper     integer NOT NULL DEFAULT 0,
    received_instant    integer NOT NULL DEFAULT 0,
    completed           integer NOT NULL DEFAULT 0,
    completed_on_time   integer NOT NULL DEFAULT 0,
    working_days        bigint NOT NULL DEFAULT 0,
    delivered           integer NOT NULL DEFAULT 0,
    delivered_no_visit  integer NOT NULL DEFAULT 0,
    certificates_due    integer NOT NULL DEFAULT 0,
    certificates_issued integer NOT NULL DEFAULT 0,
    ratings             integer NOT NULL DEFAULT 0,
    ratings_good        integer NOT NULL DEFAULT 0,
    PRIMARY KEY (month, department_code, district)
);
