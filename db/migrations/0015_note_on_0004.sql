-- A note, and nothing else: migrations are immutable once applied (db/migrate.py refuses an edited file), so a
-- misleading name is corrected here rather than by renaming.
--
-- 0004_certificates_per_holder.sql does more than its name says. Besides making an e-certificate's number unique
-- per holder (a 户口簿 or 结婚证 carries one number for several people), it adds form_fields.position, the order
-- of the fields within each section of the merged form (app/forms/store.py sorts by it). Look there, not for a
-- migration named after form fields, to see where that column comes from.
SELECT 1;
