"""更正: correcting a certificate a case issued, after the decision.

Who asks: the resident, for a certificate in their own library or their minor child's (a parent holds those), on a
case that is theirs (or that they filed for the child); or a window clerk, for the resident whose ID card and papers
they have just checked in person (auth.walk_in: the case's applicant, or a parent of a minor applicant). Anyone else
learns nothing: someone else's case or certificate is NotFound, a clerk without that live check Forbidden (audited).
An organisation's certificates are not corrected here: its 营业执照 changes by 变更登记 at the market regulator.

What they ask: one field of the certificate (`child.name`) — the fields its correction item lists (db/seed/items.json:
an item with `corrects`, which is also what sets the SLA and the department) —, the right value, checked by the same
rules as the merged form's field (app.forms.service.validate), different from what the certificate says now, and why;
evidence files optional (at a window the clerk sees the originals).

What happens: a correction task on the case, routed to the office that issued the certificate, moved through the
ordinary task state machine (受理, 审核, 批准 or 不予批准 with a reason, 办结); its 办结 issues the corrected
certificate and voids the old one (app.cases.workflow._issue_correction). Each step is on the case's timeline and
audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import asyncpg
import msgspec

from app.calendar.service import today_in_china
from app.cases import corrections_store, offices, store, workflow
from app.cases.models import (
    CaseHead,
    CheckedFile,
    CorrectableField,
    CorrectionCreated,
    CorrectionRequest,
    CorrectionRow,
    CorrectionView,
    StaffUpload,
    TaskRow,
)
from app.cases.timeline import record_event
from app.catalogue import service as catalogue
from app.catalogue.models import ServiceItem
from app.certificates import service as certificates
from app.certificates.models import ECertificate, Holder
from app.errors import Conflict, FieldErrors, NotFound
from app.filing.service import files_for_as_parent, own_person_id
from app.forms import service as forms
from app.forms.models import FormField, MergedForm
from app.notifications import titles
from app.people import service as people
from app.web.types import Connection
from auth import walk_in
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from db.pool import DB
from i18n import N_, _

REASON_MAX = 500
EVIDENCE_MAX = 20
FILED_AS_LABELS = {"self": N_("本人申请"), "parent": N_("监护人（父母）申请"), "clerk": N_("窗口当面申请")}
_NOT_HERE = N_("这份证照不能在线申请更正，请到签发部门的窗口咨询")
_ORGANISATIONS = N_("企业办件的证照不在这里更正：营业执照等企业证照上的信息有变，请以企业身份办理企业变更登记")
_FINISHED = frozenset({"completed", "delivered"})


def may_be_asked(task_statuses: Iterable[str]) -> bool:
    """The case page offers 申请更正 (who may ask, and for which certificate, is decided when they do): a task of the
    case has issued its result."""
    return any(status in _FINISHED for status in task_statuses)


class Requester(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks, checked: the case, the person whose library is searched (the resident, or the one at the window),
    and how (self: a resident online; clerk: at a window)."""

    case: CaseHead
    person_id: int
    channel: str  # self | clerk


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A certificate of the case the requester may correct, with its correction item, that item's fields as a form,
    and what the certificate says now for each of them."""

    holder: Holder
    certificate: ECertificate
    item: ServiceItem
    form: MergedForm
    current: dict[str, Any]
    office_region: str | None

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.form.fields() if f.key == key), None)

    def rows(self) -> list[CorrectableField]:
        return [
            CorrectableField(key=f.key, label=f.label, shown=shown(f, self.current.get(f.key)))
            for f in self.form.fields()
        ]


def shown(field: FormField, value: Any) -> str:
    """A value as a person reads it: an option's label (女), not its code (F)."""
    if value is None or value == "":
        return N_("（未填写）")
    if field.options:
        return next((o.label for o in field.options if o.value == str(value)), str(value))
    return str(value)


# --- who asks -----------------------------------------------------------------------------------------------------


async def requester(db: asyncpg.Pool, conn: Connection | None, user: CurrentUser, case_no: str) -> Requester:
    """The case and the person a correction is asked for, or NotFound (someone else's case is no case) / Forbidden (a
    clerk without a live in-person check of the applicant or a parent of theirs: audited by auth.walk_in)."""
    number = case_no.strip().upper()
    if "clerk" in user.roles:
        case = await store.case_by_number(db, number)
        if case is None:
            raise NotFound(N_("没有找到该办件，请核对办件编号"))
        if case.subject_org_credit_code is not None:
            raise NotFound(_ORGANISATIONS)
        return Requester(case=case, person_id=await _at_window(db, conn, user, case), channel="clerk")
    person_id = own_person_id(user)
    case = await store.case_for_reader(db, number, person_id)
    # Only a case the resident acts on (their own, or their minor child's they filed): a linked party reads it only.
    if (
        case is None
        or workflow.resident_relation(
            user,
            applicant_person_id=case.applicant_person_id,
            parent_account_id=case.parent_account_id,
            linked_as=case.linked_as,
        )
        != "own"
    ):
        raise NotFound(N_("没有找到该办件"))
    if case.subject_org_credit_code is not None:
        raise NotFound(_ORGANISATIONS)
    return Requester(case=case, person_id=person_id, channel="self")


async def _at_window(db: asyncpg.Pool, conn: Connection | None, clerk: CurrentUser, case: CaseHead) -> int:
    """The resident at the clerk's window, when they may ask on this case: its applicant, or the registered parent
    of a minor applicant. Anyone else (no live check, a check of someone else) is Forbidden, audited."""
    applicant = await people.get_person(db, case.applicant_person_id)
    started = walk_in.peek(conn) if conn is not None else None
    if (
        started is not None
        and applicant is not None
        and started.person_id != applicant.id
        and files_for_as_parent(started.person_id, applicant, today_in_china())
    ):
        return started.person_id
    checked = await walk_in.require_walk_in(
        db, conn, clerk, applicant.id if applicant else None, applicant.region_code if applicant else None
    )
    return checked.person_id


# --- what may be corrected ----------------------------------------------------------------------------------------


async def target(db: asyncpg.Pool, cipher: PiiCipher, who: Requester, certificate_id: int) -> Target:
    """A certificate this case issued, in the library of the requester or their minor child, with its correction
    item: NotFound for any other certificate (someone else's looks like none), FieldErrors when it is not one that
    can be corrected here, Conflict when it was corrected already (void)."""
    holder, certificate = await certificates.viewable(db, who.person_id, certificate_id, today_in_china())
    if certificate.case_no != who.case.case_no:
        raise NotFound(N_("本办件没有签发这份证照"))
    if certificate.superseded_by is not None:
        raise Conflict(N_("这份证照已更正并作废，请对更正后的新证照申请"))
    if certificate.void:
        raise Conflict(N_("这份证照已作废，不能申请更正"))
    issuing = _issuing_task(await store.tasks_of_case(db, who.case.id), certificate)
    item = await catalogue.correction_item_of(db, issuing.item_code) if issuing else None
    if issuing is None or item is None:
        raise FieldErrors({"certificate_id": _NOT_HERE})
    form = await forms.item_form(db, item)
    contents = await certificates.contents_of(db, cipher, certificate.id)
    record = await store.staff_case_record(db, who.case.case_no)
    # A case past its retention has no answers left: a certificate then shows only what it carries itself.
    answers = cipher.decrypt_document(record.data_enc) if record and record.data_enc is not None else {}
    # What the certificate says: its own contents (a corrected one carries them), else the answers it was issued from.
    current = {f.key: contents.get(f.key, answers.get(f.key)) for f in form.fields()}
    office = issuing.office_region or offices.office_for(
        item.level, item.citywide, record.applicant_region if record else None
    )
    return Target(holder=holder, certificate=certificate, item=item, form=form, current=current, office_region=office)


def _issuing_task(tasks: Sequence[TaskRow], certificate: ECertificate) -> TaskRow | None:
    """The task of the case whose 办结 issued this kind of certificate (not a correction of it)."""
    return next(
        (
            t
            for t in tasks
            if t.corrects_certificate_id is None
            and t.result_certificate is not None
            and t.result_certificate.kind == certificate.kind
            and t.status in _FINISHED
        ),
        None,
    )


async def correctable_of_case(db: asyncpg.Pool, who: Requester) -> list[ECertificate]:
    """The current certificates this case issued into the requester's library or their minor children's, of a kind a
    correction item corrects: what the page offers to correct."""
    return [c for c in await correctable_of_person(db, who.person_id) if c.case_no == who.case.case_no]


async def correctable_of_person(db: DB, person_id: int) -> list[ECertificate]:
    """The current certificates a case issued into the person's library or their minor children's, of a kind a
    correction item corrects (the window's 窗口收件 page lists them for the resident at the window)."""
    kinds = await catalogue.correctable_kinds(db)
    return [
        c
        for wallet in await certificates.wallet_of(db, person_id, today_in_china())
        for c in wallet.certificates
        if c.case_no is not None and c.kind in kinds
    ]


def checked_change(target_: Target, asked: CorrectionRequest, today: date) -> tuple[FormField, Any, str]:
    """(the field, its new value, the reason) once every rule holds, else FieldErrors naming each problem beside its
    field: a field the certificate cannot have corrected, a value the form would refuse or the same as now, no
    reason."""
    errors: dict[str, str] = {}
    key = asked.field.strip()
    field = target_.field(key)
    value: Any = None
    if field is None:
        choices = "、".join(f.label for f in target_.form.fields())
        errors["field"] = (
            N_("请选择要更正的项目")
            if not key
            else _("这份证照没有可更正的“%(key)s”项，可以更正：%(choices)s") % {"key": key[:40], "choices": choices}
        )
    else:
        clean, problems = forms.validate(target_.form, {key: asked.value}, today)
        value = clean.get(key)
        if key in problems:
            errors["value"] = problems[key]
        elif value is None or value == "":
            errors["value"] = _("请填写更正后的%(label)s") % {"label": field.label}
        elif str(value) == str(target_.current.get(key) or ""):
            errors["value"] = _("与证照上现在的%(label)s（%(shown)s）相同，请填写正确的内容") % {
                "label": field.label,
                "shown": shown(field, value),
            }
    reason = asked.reason.strip().replace("\r\n", "\n")
    if not reason:
        errors["reason"] = N_("请写明更正原因，例如：助产机构录入时把姓名写错了")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("更正原因最多%(reason_max)s个字，您写了%(len)s个字，请精简") % {
            "reason_max": REASON_MAX,
            "len": len(reason),
        }
    if errors:
        raise FieldErrors(errors)
    assert field is not None
    return field, value, reason


# --- asking -------------------------------------------------------------------------------------------------------


async def request_correction(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection | None,
    user: CurrentUser,
    case_no: str,
    asked: CorrectionRequest,
    files: Sequence[CheckedFile] = (),
) -> CorrectionCreated:
    """A correction asked for: its task opened on the case (申办, routed to the office that issued the certificate,
    due by the correction item's promised limit), what was asked kept sealed, the evidence attached (upload tokens,
    or files posted with the page), a step on the timeline and an audit entry — in one transaction."""
    who = await requester(db, conn, user, case_no)
    found = await target(db, cipher, who, asked.certificate_id)
    field, value, reason = checked_change(found, asked, today_in_china())
    tokens = list(dict.fromkeys(asked.evidence))
    if len(tokens) + len(files) > EVIDENCE_MAX:
        raise FieldErrors(
            {
                "evidence": _("更正依据最多%(evidence_max)s个文件，请把多页材料合并成一个PDF")
                % {"evidence_max": EVIDENCE_MAX}
            }
        )
    filed_as = "clerk" if who.channel == "clerk" else "self" if found.holder.own else "parent"
    before = found.current[field.key]
    async with db.acquire() as tx, tx.transaction():
        # Personal evidence only: a correction is never asked for an organisation (its 营业执照 changes by 变更登记).
        uploads = await store.pending_uploads(
            tx, user.account_id, who.person_id, None, who.case.life_event_code, tokens
        )
        if len(uploads) != len(tokens) or any(u.material_code != workflow.CORRECTION_EVIDENCE for u in uploads):
            raise FieldErrors({"evidence": N_("有更正依据文件未找到或已被使用，请重新上传")})
        task_id = await workflow.open_correction_task(
            tx,
            case_id=who.case.id,
            item=found.item,
            certificate_id=found.certificate.id,
            office_region=found.office_region,
            today=today_in_china(),
        )
        if task_id is None:
            raise Conflict(N_("这份证照已有一项更正申请正在办理，请等待办理结果；查看办件了解进度"))
        await corrections_store.insert_correction(
            tx,
            task_id=task_id,
            field=field.key,
            request_enc=cipher.encrypt_document({"before": found.current, "value": value, "reason": reason}),
            requested_by_account_id=user.account_id,
            filed_as=filed_as,
        )
        material = workflow.correction_material(task_id)
        await store.attach_uploads_as(tx, who.case.id, tokens, material)
        await workflow.store_case_files(
            tx,
            user,
            case_id=who.case.id,
            person_id=who.case.applicant_person_id,
            life_event_code=who.case.life_event_code,
            material_code=material,
            files=files,
        )
        note = N_("申请将“%(label)s”由“%(shown)s”更正为“%(shown2)s”。原因：%(reason)s") % {
            "label": field.label,
            "shown": shown(field, before),
            "shown2": shown(field, value),
            "reason": reason,
        }
        if who.channel == "clerk":
            note += N_("（综合窗口%(name)s当面收件，已核验原件）") % {"name": user.name}
        await record_event(
            tx,
            case_id=who.case.id,
            task_id=task_id,
            status="submitted",
            title=titles.CORRECTION_APPLIED % {"name": found.item.name},
            department_code=found.item.department_code,
            actor_account_id=user.account_id,
            note=note,
        )
        await audit(
            tx,
            conn,
            "correction.request",
            "ok",
            subject=f"certificate:{found.certificate.id}",
            case=who.case.case_no,
            task=task_id,
            field=field.key,
            filed_as=filed_as,
            evidence=len(tokens) + len(files),
            hall=user.region_code if who.channel == "clerk" else None,
        )
        task = await store.get_task(tx, task_id)
    assert task is not None
    return CorrectionCreated(
        task_id=task.id,
        case_no=task.case_no,
        item_code=task.item_code,
        item_name=task.item_name,
        department=task.department_code,
        status=task.status,
        due_on=task.due_on,
    )


# --- reading it back ----------------------------------------------------------------------------------------------


async def views_of_case(
    db: DB, cipher: PiiCipher, case_id: int, task_ids: frozenset[int] | None, uploads: Sequence[StaffUpload]
) -> dict[int, CorrectionView]:
    """The corrections of a case by task id, side by side (the certificate as it was asked about, the change, why,
    the evidence); only those of `task_ids` when given (an approver's own department's)."""
    rows = [
        r for r in await corrections_store.corrections_of_case(db, case_id) if task_ids is None or r.task_id in task_ids
    ]
    return {row.task_id: await _view(db, cipher, row, uploads) for row in rows}


async def _view(db: DB, cipher: PiiCipher, row: CorrectionRow, uploads: Sequence[StaffUpload]) -> CorrectionView:
    held = await certificates.held_certificate(db, row.certificate_id)
    assert held is not None  # a correction names a person's certificate, which is never deleted
    certificate = held[1]
    fields = await _fields_of(db, row.task_id)
    field = next((f for f in fields if f.key == row.field), None)
    asked = cipher.decrypt_document(row.request_enc)
    before: dict[str, Any] = asked.get("before", {})
    label = field.label if field else row.field
    material = workflow.correction_material(row.task_id)
    return CorrectionView(
        task_id=row.task_id,
        certificate_id=certificate.id,
        certificate_title=certificate.title,
        certificate_number_masked=certificate.number_masked,
        certificate_issued_by=certificate.issued_by,
        certificate_issued_on=certificate.issued_on,
        field=row.field,
        field_label=label,
        current=shown(field, before.get(row.field)) if field else str(before.get(row.field)),
        requested=shown(field, asked.get("value")) if field else str(asked.get("value")),
        reason=str(asked.get("reason", "")),
        filed_as=row.filed_as,
        filed_as_label=FILED_AS_LABELS.get(row.filed_as, row.filed_as),
        requested_by_name=row.requested_by_name,
        requested_at=row.created_at,
        rows=[CorrectableField(key=f.key, label=f.label, shown=shown(f, before.get(f.key))) for f in fields],
        evidence=[u for u in uploads if u.material_code == material],
        corrected_certificate_id=row.corrected_certificate_id,
    )


async def what_corrected(db: DB, cipher: PiiCipher, certificate_id: int) -> tuple[str, str] | None:
    """(the field's label, its new value as read) of the correction that issued this certificate; None for a
    certificate issued as it is. For its holder's page."""
    rows = await corrections_store.corrections_issuing(db, [certificate_id])
    if not rows:
        return None
    row = rows[0]
    field = next((f for f in await _fields_of(db, row.task_id) if f.key == row.field), None)
    value = cipher.decrypt_document(row.request_enc).get("value")
    return (field.label, shown(field, value)) if field else (row.field, str(value))


async def _fields_of(db: DB, task_id: int) -> list[FormField]:
    """The correctable fields of a correction task's item (its label, type and options), as the request was checked."""
    task = await store.get_task(db, task_id)
    item = await catalogue.service_item(db, task.item_code) if task else None
    return (await forms.item_form(db, item)).fields() if item else []


# --- the page -----------------------------------------------------------------------------------------------------


class CorrectionPage(msgspec.Struct, frozen=True, kw_only=True):
    """What the 申请更正 page shows, one question at a time (it works without JavaScript): the certificates of the
    case that may be corrected; once one is chosen, what it says now for each correctable field; once a field is
    chosen, that field (its label, type and options) to answer."""

    case_no: str
    life_event_name: str
    channel: str  # self | clerk
    certificates: list[ECertificate]
    target: Target | None = None
    field: FormField | None = None

    @property
    def current(self) -> str:
        if self.target is None or self.field is None:
            return ""
        return shown(self.field, self.target.current.get(self.field.key))


async def page(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection | None,
    user: CurrentUser,
    case_no: str,
    certificate_id: int | None,
    field_key: str | None,
) -> CorrectionPage:
    """The page's content for the caller, checked as a request would be (someone else's case or certificate is
    NotFound, a clerk without a live check Forbidden)."""
    who = await requester(db, conn, user, case_no)
    found = await target(db, cipher, who, certificate_id) if certificate_id is not None else None
    return CorrectionPage(
        case_no=who.case.case_no,
        life_event_name=who.case.life_event_name,
        channel=who.channel,
        certificates=await correctable_of_case(db, who),
        target=found,
        field=found.field(field_key) if found and field_key else None,
    )
