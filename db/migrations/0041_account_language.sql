-- The language an account chose (i18n): its pages on any device it signs in to, and its notices (push, SMS).
-- NULL: never chosen, so each device's choice or the browser's languages apply, and notices are in Chinese.
ALTER TABLE accounts ADD COLUMN language text CHECK (language IN ('zh', 'en'));
