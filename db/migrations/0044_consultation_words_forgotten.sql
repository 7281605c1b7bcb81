-- A consultation's words (the question and the answer) are personal data of the case like its notes: `purge` forgets
-- them with the case's other data once its retention has passed (app/purge.py). The consultation stays — who asked
-- whom, when, by which date, whether and when it was answered — and `words_forgotten_on` says the words are gone.
-- `answered_at` (not the answer) now says whether it was answered.
ALTER TABLE consultations ADD COLUMN words_forgotten_on date;
ALTER TABLE consultations ALTER COLUMN question DROP NOT NULL;
ALTER TABLE consultations DROP CONSTRAINT consultations_check;
ALTER TABLE consultations ADD CONSTRAINT consultations_answered_check
    CHECK ((answered_at IS NULL) = (answered_by_account_id IS NULL));
ALTER TABLE consultations ADD CONSTRAINT consultations_words_check CHECK (
    CASE WHEN words_forgotten_on IS NULL
         THEN question IS NOT NULL AND (answer IS NULL) = (answered_at IS NULL)
         ELSE question IS NULL AND answer IS NULL
    END
);
