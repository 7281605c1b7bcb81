-- 更正 (issue 23): a resident, or the window clerk after checking their papers, asks to correct one field of a
-- certificate a case issued. The request is a task of that case, of a correction item (a 政务服务事项 of its own with
-- its own promised time, db/seed/items.json: `corrects` names the item whose result it corrects), handled by the
-- office that issued the certificate. Its 办结 issues a corrected certificate under a new number and voids the old
-- one: a 亮证 code of the old one then says 已作废, and no form uses it for 免提交 any more.

-- A correction item names the item whose result certificate it corrects; it is never applied for on its own.
ALTER TABLE service_items ADD COLUMN corrects text REFERENCES service_items (code);

-- A certificate replaced by a corrected one is kept (its 亮证 code must say why it no longer holds), void: the
-- certificate that replaced it and when. `revision` counts the corrections behind a certificate (0: as first issued).
ALTER TABLE e_certificates
    ADD COLUMN revision integer NOT NULL DEFAULT 0 CHECK (revision >= 0),
    ADD COLUMN superseded_by bigint REFERENCES e_certificates (id),
    ADD COLUMN voided_at timestamptz,
    ADD CONSTRAINT e_certificates_void_has_successor CHECK ((superseded_by IS NULL) = (voided_at IS NULL));
CREATE UNIQUE INDEX e_certificates_superseded_by ON e_certificates (superseded_by) WHERE superseded_by IS NOT NULL;

-- A correction task names the certificate it corrects. One task per item of a case still holds for the items filed;
-- a certificate may be corrected more than once (each time its newest version), but has one open correction at most.
ALTER TABLE tasks ADD COLUMN corrects_certificate_id bigint REFERENCES e_certificates (id);
ALTER TABLE tasks DROP CONSTRAINT tasks_case_id_item_code_key;
CREATE UNIQUE INDEX tasks_case_item_once ON tasks (case_id, item_code) WHERE corrects_certificate_id IS NULL;
CREATE UNIQUE INDEX tasks_one_open_correction ON tasks (corrects_certificate_id)
    WHERE corrects_certificate_id IS NOT NULL AND status NOT IN ('rejected', 'denied', 'completed', 'delivered');

-- What was asked: the field (a canonical form key, `child.name`), and sealed like a case's answers (AES-GCM) the
-- certificate's correctable contents when it was asked (what the approver compares), the value asked for and why.
CREATE TABLE certificate_corrections (
    task_id                 bigint PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    field                   text NOT NULL,
    request_enc             bytea NOT NULL,
    requested_by_account_id bigint NOT NULL REFERENCES accounts (id),
    filed_as                text NOT NULL CHECK (filed_as IN ('self', 'parent', 'clerk')),
    -- The corrected certificate, once issued (办结).
    corrected_certificate_id bigint REFERENCES e_certificates (id),
    created_at              timestamptz NOT NULL DEFAULT now()
);
