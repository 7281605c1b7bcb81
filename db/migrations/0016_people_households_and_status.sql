-- The population register (人口基础库) knows who lives on one 户口簿, who is whose parent, and who has died:
-- the facts issue 15's rules stand on (a relative may use a deceased person's documents; a parent files for a
-- minor child; a completed 出生户口登记 adds the child, a completed 户口注销 marks the person 已注销).
ALTER TABLE people
    ADD COLUMN household_no text,            -- 户号, as printed on the 户口簿; NULL when the register has none
    ADD COLUMN mother_id    bigint REFERENCES people (id),
    ADD COLUMN father_id    bigint REFERENCES people (id),
    ADD COLUMN status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deceased')),
    ADD COLUMN died_on      date,
    ADD CONSTRAINT people_death_dated CHECK ((status = 'deceased') = (died_on IS NOT NULL));

CREATE INDEX people_household_idx ON people (household_no) WHERE household_no IS NOT NULL;
CREATE INDEX people_mother_idx ON people (mother_id) WHERE mother_id IS NOT NULL;
CREATE INDEX people_father_idx ON people (father_id) WHERE father_id IS NOT NULL;
