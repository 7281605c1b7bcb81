-- 未送达 notices written before a resident the register places nowhere had anyone to follow them up were stored with
-- an empty region (notice_arrivals.region_code = ''): within no hall's region, so on no clerk's list, and no clerk
-- could record a phone call or paper notice for them. Each is given the region the code gives a new one
-- (app.cases.offices.follow_up_region): the resident's own region as the register has it now, else the hall that
-- received the case at its window, else the office its task is routed to, else the city's (a notice of no task, for a
-- resident of no region). Few rows: the ones whose resident had no region when their notice went out.
UPDATE notice_arrivals n
SET region_code = coalesce(
    nullif((SELECT p.region_code FROM cases c JOIN people p ON p.id = c.applicant_person_id WHERE c.id = n.case_id), ''),
    nullif((SELECT c.received_region FROM cases c WHERE c.id = n.case_id), ''),
    nullif((SELECT t.office_region FROM tasks t WHERE t.id = n.task_id), ''),
    '320400'
)
WHERE n.region_code = '';
