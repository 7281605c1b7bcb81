-- 经营范围 is part of the legal-person register (市场主体登记管理条例 第八条), not only of the 营业执照 issued from it:
-- 企业设立登记 writes it, 企业变更登记 changes it with the other registered fields, and its history keeps the value
-- before and after. NULL: not known to this register (organisations imported from the register's file carry none).
ALTER TABLE organisations ADD COLUMN business_scope text CHECK (char_length(business_scope) BETWEEN 1 AND 2000);
ALTER TABLE organisation_changes DROP CONSTRAINT organisation_changes_field_check;
ALTER TABLE organisation_changes ADD CONSTRAINT organisation_changes_field_check
    CHECK (field IN ('name', 'address', 'legal_rep_person_id', 'status', 'business_scope'));
