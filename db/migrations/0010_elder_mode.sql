-- 长辈版 remembered per account. NULL: never chosen while signed in, so the device's own choice applies.
ALTER TABLE accounts ADD COLUMN elder_mode boolean;
