-- 全城通办 and 马上办 (issue 16): any hall receives any resident of Changzhou, and tasks go to the department
-- office competent for them, not to the hall that received them.

-- The hall (region code of the receiving clerk) where a case was received at a window; NULL for online and
-- helper filings.
ALTER TABLE cases ADD COLUMN received_region text REFERENCES regions (code);
UPDATE cases c SET received_region = a.region_code
  FROM accounts a
 WHERE a.id = c.filed_by_account_id AND c.filed_as = 'clerk'
   AND a.region_code IN (SELECT code FROM regions);

-- An item any office of its department may take (全城通办): its task has no office until one accepts it.
ALTER TABLE service_items ADD COLUMN citywide boolean NOT NULL DEFAULT false;

-- The department office (its region) that handles a task: 市级 items the city, 区级 the applicant's registered
-- district, 镇级 the applicant's town (else district). NULL: a 全城通办 task no office has taken yet.
ALTER TABLE tasks ADD COLUMN office_region text REFERENCES regions (code);
UPDATE tasks t SET office_region = CASE
        WHEN i.level = '市级' OR p.region_code IS NULL OR length(p.region_code) < 6 THEN '320400'
        WHEN i.level = '镇级' AND length(p.region_code) >= 9
             AND EXISTS (SELECT 1 FROM regions r WHERE r.code = left(p.region_code, 9)) THEN left(p.region_code, 9)
        WHEN EXISTS (SELECT 1 FROM regions r WHERE r.code = left(p.region_code, 6)) THEN left(p.region_code, 6)
        ELSE '320400'
    END
  FROM cases c, people p, service_items i
 WHERE c.id = t.case_id AND p.id = c.applicant_person_id AND i.code = t.item_code
   AND EXISTS (SELECT 1 FROM regions r WHERE r.code = '320400');
CREATE INDEX tasks_office_idx ON tasks (department_code, office_region, status);

-- Which departments' 即办件 a window clerk may complete on the spot (马上办): a clerk may hold several.
CREATE TABLE staff_window_authorisations (
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    department_code text NOT NULL REFERENCES departments (code),
    granted_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, department_code)
);
