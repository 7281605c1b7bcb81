"""The data-exchange platform's rules (共享交换平台): what a department's system may read and do with its tasks, what a
hospital files, and a client's webhooks. The caller is an API client (auth.clients), never a person.

- Reach: a department's system sees its department's tasks routed to an office within its region (全城通办: any
  office's until one takes it), as its approvers do;
  any other task is NotFound (it cannot tell another department's task from none).
- Data minimisation: a task carries only the answers and materials its own item asks for (the police system never
  receives the bank account asked for 生育津贴), whatever else the resident put in the same case.
- Moves go through the console's state machine (app/cases/workflow.py), with a 409 naming the allowed actions.
- Writes are idempotent: the answer is kept under the call's Idempotency-Key in the write's own transaction, so a
  retry gets the same answer and has no second effect.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
import msgspec

from app.calendar.service import CHINA, today_in_china
from app.cases import consent_flow, corrections, workflow
from app.cases import service as cases
from app.cases.models import IssuedResult, StaffUpload, TaskRow
from app.cases.states import TASK_STATUS_LABELS
from app.cases.transitions import STATES, allowed_actions
from app.certificates import service as certificates
from app.certificates.models import ECertificate
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.exchange import store
from app.exchange.models import (
    RECORD_KINDS,
    CertificateRequest,
    DeliveryPage,
    DeliveryView,
    ExchangeTask,
    HeldCertificate,
    MaterialFile,
    RecordFiled,
    RecordRequest,
    RecoverAnswer,
    RecoverRequest,
    TaskCorrection,
    TaskField,
    TaskMaterial,
    TaskPage,
    TransitionRequest,
    WebhookCreated,
    WebhookList,
    WebhookRequest,
    WebhookView,
)
from app.forms import service as forms
from app.forms.models import MaterialNeed
from app.people import service as people
from app.people.identity import id_number_problem, mask_id_number, normalize_id_number
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentClient
from auth.pii import PiiCipher
from auth.scope import region_prefix
from db.pool import DB, Tx
from hooks import subscriptions as webhooks
from i18n import N_, gettext

API = "/api/exchange/v1"
PAGE_DEFAULT = 50
PAGE_MAX = 200
# A file is read from the database and sent this much at a time.
CHUNK_BYTES = 256 * 1024
NUMBER_MAX = 64
DATA_MAX_BYTES = 16 * 1024
# How long the answer to a write is kept under its idempotency key (a retry after that is a new request).
IDEMPOTENCY_DAYS = 7
# As for a case's submission (app/cases/service.py): what a client may use as an Idempotency-Key.
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
T = TypeVar("T", bound=msgspec.Struct)


# --- reach ----------------------------------------------------------------------------------------------------------


def _department(client: CurrentClient) -> str:
    if client.department_code is None:
        raise Forbidden(N_("该客户端不是部门业务系统，不能办理事项"))
    return client.department_code


async def _reachable_task(db: DB, client: CurrentClient, task_id: int) -> TaskRow:
    task = await cases.task_by_id(db, task_id)
    if task is None or not workflow.reached_by_department_system(client.department_code, client.region_code, task):
        raise NotFound(N_("没有找到该事项，或它不属于本部门、本区域"))
    return task


# --- a task as the system sees it -----------------------------------------------------------------------------------


def _file(task_id: int, code: str, upload: StaffUpload) -> MaterialFile:
    return MaterialFile(
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        url=f"{API}/tasks/{task_id}/materials/{code}",
    )


def _held(certificate: ECertificate) -> HeldCertificate:
    return HeldCertificate(
        kind=certificate.kind,
        title=certificate.title,
        number_masked=certificate.number_masked,
        issued_by=certificate.issued_by,
        issued_on=certificate.issued_on,
    )


def _material(task: TaskRow, need: MaterialNeed, upload: StaffUpload | None, held: ECertificate | None) -> TaskMaterial:
    """How one material of the task's item was provided: a file the applicant sent first, else the library's."""
    if upload is not None:
        return TaskMaterial(
            code=need.code,
            name=need.name,
            required=need.required,
            provided="upload",
            file=_file(task.id, need.code, upload),
        )
    return TaskMaterial(
        code=need.code,
        name=need.name,
        required=need.required,
        provided="e_certificate" if held else "issued_by_item" if need.issued_by_item else "missing",
        certificate=_held(held) if held else None,
    )


async def _view(db: DB, cipher: PiiCipher, task: TaskRow) -> ExchangeTask:
    """The task with its own item's answers and materials only (forms.part_for_items with this one item)."""
    head = await cases.staff_case_record(db, task.case_no)
    assert head is not None  # a task always has its case
    if head.data_enc is None:  # past its retention: the skeleton only, and when the rest was removed
        return _task_of(task, fields=[], materials=[], purged_at=head.purged_at)
    form, items = await forms.merged_form_of(db, task.life_event_code)
    part = forms.part_for_items(form, items, {task.item_code})
    answers = cipher.decrypt_document(head.data_enc)
    fields = [
        TaskField(key=f.key, label=f.label, value=answers[f.key])
        for f in form.fields()
        if f.key in part.field_keys and f.key in answers
    ]
    # The first file of each material (the one the download streams).
    uploads = {u.material_code: u for u in reversed(await cases.uploads_of_case(db, task.case_id))}
    held = await consent_flow.held_materials(
        db, cipher, form, task.applicant_person_id, answers, task.case_id, head.subject_org_credit_code
    )
    materials = [
        _material(task, need, uploads.get(need.code), held.get(need.code))
        for need in form.materials
        if need.code in part.material_codes
    ]
    supplement = workflow.supplement_material(task.id)
    if supplement in uploads:
        materials.append(
            TaskMaterial(
                code=supplement,
                name=N_("补正材料"),
                required=False,
                provided="supplement",
                file=_file(task.id, supplement, uploads[supplement]),
            )
        )
    correction = await _correction(db, cipher, task)
    evidence = workflow.correction_material(task.id)
    if correction is not None and evidence in uploads:
        materials.append(
            TaskMaterial(
                code=evidence,
                name=N_("更正依据"),
                required=False,
                provided="evidence",
                file=_file(task.id, evidence, uploads[evidence]),
            )
        )
    return _task_of(task, fields=fields, materials=materials, purged_at=None, correction=correction)


def _task_of(
    task: TaskRow,
    *,
    fields: list[TaskField],
    materials: list[TaskMaterial],
    purged_at: datetime | None,
    correction: TaskCorrection | None = None,
) -> ExchangeTask:
    return ExchangeTask(
        id=task.id,
        case_no=task.case_no,
        life_event=task.life_event_code,
        life_event_name=task.life_event_name,
        item_code=task.item_code,
        item_name=task.item_name,
        status=task.status,
        status_label=TASK_STATUS_LABELS[task.status],
        allowed_actions=allowed_actions(task.status, workflow.SYSTEM_ROLES),
        due_on=task.due_on,
        due_provisional=task.due_provisional,
        submitted_at=task.submitted_at,
        updated_at=task.updated_at,
        fields=fields,
        materials=materials,
        purged_at=purged_at,
        correction=correction,
    )


async def _correction(db: DB, cipher: PiiCipher, task: TaskRow) -> TaskCorrection | None:
    """What a correction task asks (更正), as the console's approver reads it; None for any other task."""
    if task.corrects_certificate_id is None:
        return None
    found = (await corrections.views_of_case(db, cipher, task.case_id, frozenset({task.id}), [])).get(task.id)
    if found is None:
        return None
    return TaskCorrection(
        certificate_title=found.certificate_title,
        certificate_number_masked=found.certificate_number_masked,
        field=found.field,
        field_label=found.field_label,
        current=found.current,
        requested=found.requested,
        reason=found.reason,
    )


# --- reading --------------------------------------------------------------------------------------------------------


def _cursor_of(task: TaskRow) -> str:
    return base64.urlsafe_b64encode(f"{task.updated_at.isoformat()}|{task.id}".encode()).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        at, _, task_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        return datetime.fromisoformat(at), int(task_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise FieldErrors({"cursor": N_("cursor 无效：请原样使用上一页返回的 next_cursor")}) from None


def _limit(limit: int | None) -> int:
    if limit is None:
        return PAGE_DEFAULT
    if not 1 <= limit <= PAGE_MAX:
        raise FieldErrors({"limit": gettext("limit 应在 1 到 %(page_max)s 之间") % {"page_max": PAGE_MAX}})
    return limit


async def task_page(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    client: CurrentClient,
    *,
    status: str | None,
    since: datetime | None,
    cursor: str | None,
    limit: int | None,
) -> TaskPage:
    """A page of the department's tasks within the client's region, in the order they last changed: a system that
    keeps the last `updated_at` it saw and asks again with `since` gets every change, none twice per page walk."""
    if status is not None and status not in STATES:
        raise FieldErrors({"status": gettext("status 应为以下之一：%(join)s") % {"join": ", ".join(sorted(STATES))}})
    size = _limit(limit)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=CHINA)  # a time without a zone is Beijing time, as everywhere in the service
    rows = await cases.department_tasks(
        db,
        department=_department(client),
        region_prefix=region_prefix(client.region_code),
        status=status,
        since=since,
        after=_after(cursor),
        limit=size + 1,
    )
    page = rows[:size]
    return TaskPage(
        items=[await _view(db, cipher, task) for task in page],
        next_cursor=_cursor_of(page[-1]) if len(rows) > size else None,
    )


async def task_for_client(db: asyncpg.Pool, cipher: PiiCipher, client: CurrentClient, task_id: int) -> ExchangeTask:
    _department(client)
    return await _view(db, cipher, await _reachable_task(db, client, task_id))


class MaterialStream(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def material_file(db: asyncpg.Pool, client: CurrentClient, task_id: int, code: str) -> MaterialStream:
    """A file of the task's own item (or answering its 补正告知, or sent as evidence for its correction), streamed from
    the database; any other material of the case is NotFound, as if it did not exist."""
    _department(client)
    task = await _reachable_task(db, client, task_id)
    form, items = await forms.merged_form_of(db, task.life_event_code)
    own = forms.part_for_items(form, items, {task.item_code}).material_codes | {
        workflow.supplement_material(task.id),
        workflow.correction_material(task.id),
    }
    upload = next((u for u in await cases.uploads_of_case(db, task.case_id) if u.material_code == code), None)
    if code not in own or upload is None:
        raise NotFound(N_("该事项没有这份材料的文件"))
    return MaterialStream(
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        chunks=cases.upload_chunks(db, task.case_id, code, CHUNK_BYTES),
    )


# --- writes, once per idempotency key -------------------------------------------------------------------------------


def request_hash(method: str, path: str, body: msgspec.Struct) -> bytes:
    """What makes two writes the same request: the method, the path and the body as decoded (so spacing and key order
    do not matter)."""
    return hashlib.sha256(f"{method} {path}\n".encode() + msgspec.json.encode(body)).digest()


async def _once(
    db: asyncpg.Pool,
    client: CurrentClient,
    key: str | None,
    fingerprint: bytes,
    kind: type[T],
    status_code: int,
    work: Callable[[Tx], Awaitable[T]],
) -> tuple[T, bool]:
    """(the answer, whether it is the stored answer of an earlier call). The work and the stored answer commit together,
    so a write either happened and is remembered, or neither; a refusal (404, 409 …) is not stored, and asking again
    is asked anew."""
    if not _IDEMPOTENCY_KEY.fullmatch(key or ""):
        raise FieldErrors(
            {
                "Idempotency-Key": N_(
                    "每个写请求须带 Idempotency-Key 请求头：8–100 个字母、数字或 _ . : -，重试时原样重发"
                )
            }
        )
    assert key is not None
    async with db.acquire() as tx, tx.transaction():
        await store.lock_key(tx, client.client_id, key)
        earlier = await store.earlier_write(tx, client.client_id, key)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise Conflict(N_("该 Idempotency-Key 已用于另一个请求；新的请求请使用新的键"))
            return msgspec.convert(earlier.response, kind), True
        answer = await work(tx)
        await store.save_write(tx, client.client_id, key, fingerprint, status_code, msgspec.to_builtins(answer))
        return answer, False


async def transition(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    client: CurrentClient,
    task_id: int,
    body: TransitionRequest,
    key: str | None,
    fingerprint: bytes,
) -> tuple[ExchangeTask, bool]:
    department = _department(client)

    async def work(tx: Tx) -> ExchangeTask:
        moved = await workflow.move_task_by_system(
            tx,
            cipher,
            department_code=department,
            region_code=client.region_code,
            task_id=task_id,
            action=body.action,
            note=body.note,
            delivery_method=body.delivery_method,
            delivery_ref=body.delivery_ref,
        )
        return await _view(tx, cipher, moved)

    return await _once(db, client, key, fingerprint, ExchangeTask, 200, work)


def _checked_certificate(number: str, data: dict[str, Any]) -> str:
    errors: dict[str, str] = {}
    number = number.strip()
    if not number or len(number) > NUMBER_MAX:
        errors["number"] = gettext("请填写证照编号（不超过%(number_max)s个字符）") % {"number_max": NUMBER_MAX}
    if len(msgspec.json.encode(data)) > DATA_MAX_BYTES:
        errors["data"] = gettext("证照内容不能超过%(value)s KB") % {"value": DATA_MAX_BYTES // 1024}
    if errors:
        raise FieldErrors(errors)
    return number


async def complete_with_certificate(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    client: CurrentClient,
    task_id: int,
    body: CertificateRequest,
    key: str | None,
    fingerprint: bytes,
) -> tuple[ExchangeTask, bool]:
    """办结 with the result certificate as the department issued it (its number and contents): into the applicant's
    e-certificate library in the transaction that completes the task, so no later form asks for it again."""
    department = _department(client)
    number = _checked_certificate(body.number, body.data)
    if body.issued_on > today_in_china():
        raise FieldErrors({"issued_on": N_("签发日期不能晚于今天")})

    async def work(tx: Tx) -> ExchangeTask:
        moved = await workflow.move_task_by_system(
            tx,
            cipher,
            department_code=department,
            region_code=client.region_code,
            task_id=task_id,
            action="complete",
            note=body.note,
            result=IssuedResult(number=number, issued_on=body.issued_on, data=body.data),
        )
        return await _view(tx, cipher, moved)

    return await _once(db, client, key, fingerprint, ExchangeTask, 201, work)


async def file_record(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    conn: Connection,
    client: CurrentClient,
    body: RecordRequest,
    key: str | None,
    fingerprint: bytes,
) -> tuple[RecordFiled, bool]:
    """A hospital's 分娩记录 or 出生医学证明 (for the mother) or 死亡医学证明 (for the deceased) into that person's
    e-certificate library: the person named by number and name as the register holds them, or nothing is filed."""
    if client.hospital is None:
        raise Forbidden(N_("只有医院系统可以报送出生、死亡医学记录"))
    errors: dict[str, str] = {}
    if body.kind not in RECORD_KINDS:
        errors["kind"] = gettext("kind 应为以下之一：%(join)s") % {"join": ", ".join(RECORD_KINDS)}
    if problem := id_number_problem(body.id_number):
        errors["id_number"] = problem
    if not body.name.strip():
        errors["name"] = N_("请填写姓名")
    if body.issued_on > today_in_china():
        errors["issued_on"] = N_("签发日期不能晚于今天")
    if errors:
        raise FieldErrors(errors)
    number = _checked_certificate(body.number, body.data)
    person = await people.registered_person(db, cipher, body.id_number, body.name)
    masked = mask_id_number(normalize_id_number(body.id_number))
    if person is None:
        await audit(db, conn, "exchange.record", "refused", subject=masked, kind=body.kind)
        raise FieldErrors({"id_number": N_("姓名与公民身份号码不匹配，或未在人口库中登记，请核对后重新报送")})
    title = RECORD_KINDS[body.kind]
    hospital = client.hospital

    async def work(tx: Tx) -> RecordFiled:
        await certificates.issue_to_person(
            tx,
            cipher,
            person_id=person.id,
            kind=body.kind,
            title=title,
            number=number,
            issued_by=hospital,
            issued_on=body.issued_on,
            data=body.data,
        )
        await audit(tx, conn, "exchange.record", "ok", subject=f"person:{person.id}", kind=body.kind)
        return RecordFiled(
            kind=body.kind,
            title=title,
            number_masked=certificates.mask_certificate_number(body.kind, number),
            holder_id_number_masked=person.id_number_masked,
            issued_by=hospital,
            issued_on=body.issued_on,
        )

    return await _once(db, client, key, fingerprint, RecordFiled, 201, work)


async def forget_old_writes(db: DB) -> int:
    """Housekeeping (`python -m app purge`): answers kept past IDEMPOTENCY_DAYS."""
    return await store.forget_writes_before(db, IDEMPOTENCY_DAYS)


# --- webhooks -------------------------------------------------------------------------------------------------------


async def subscribe(
    db: asyncpg.Pool,
    client: CurrentClient,
    allowed_hosts: tuple[str, ...],
    body: WebhookRequest,
    key: str | None,
    fingerprint: bytes,
) -> tuple[WebhookCreated, bool]:
    department = _department(client)

    async def work(tx: Tx) -> WebhookCreated:
        problems = await webhooks.problems(tx, client.client_id, body.url.strip(), body.events, allowed_hosts)
        if problems:
            raise FieldErrors(problems)
        made = await webhooks.subscribe(
            tx,
            client_id=client.client_id,
            department_code=department,
            region_prefix=region_prefix(client.region_code),
            url=body.url.strip(),
            events=body.events,
        )
        return WebhookCreated(
            id=made.id, url=made.url, events=made.events, created_at=made.created_at, secret=made.secret
        )

    return await _once(db, client, key, fingerprint, WebhookCreated, 201, work)


async def webhook_list(db: asyncpg.Pool, client: CurrentClient) -> WebhookList:
    found = await webhooks.subscriptions_of(db, client.client_id)
    return WebhookList(items=[WebhookView(id=s.id, url=s.url, events=s.events, created_at=s.created_at) for s in found])


async def unsubscribe(db: asyncpg.Pool, client: CurrentClient, subscription_id: int) -> None:
    if not await webhooks.unsubscribe(db, client.client_id, subscription_id):
        raise NotFound(N_("没有该订阅"))


async def recover_deliveries(
    db: asyncpg.Pool,
    conn: Connection,
    client: CurrentClient,
    subscription_id: int,
    body: RecoverRequest,
    key: str | None,
    fingerprint: bytes,
) -> tuple[RecoverAnswer, bool]:
    """Send the subscription's failed deliveries again (its receiver is back): each from its first try, with its
    webhook-id unchanged; audited. A retry under the same Idempotency-Key gets the first call's answer."""
    since = body.since or datetime.fromtimestamp(0, CHINA)
    if since.tzinfo is None:
        raise FieldErrors({"since": N_("since 须带时区，例如 2026-11-30T08:00:00+08:00")})

    async def work(tx: Tx) -> RecoverAnswer:
        recovered = await webhooks.recover(tx, client.client_id, subscription_id, since)
        if recovered is None:
            raise NotFound(N_("没有该订阅，或该订阅已删除"))
        await audit(
            tx,
            conn,
            "exchange.webhook.recover",
            "ok",
            subject=f"webhook:{subscription_id}",
            queued=recovered.queued,
            remaining=recovered.remaining,
        )
        return RecoverAnswer(queued=recovered.queued, remaining=recovered.remaining)

    return await _once(db, client, key, fingerprint, RecoverAnswer, 202, work)


async def delivery_page(
    db: asyncpg.Pool, client: CurrentClient, subscription_id: int, cursor: str | None, limit: int | None
) -> DeliveryPage:
    size = _limit(limit)
    after: int | None = None
    if cursor:
        if not cursor.isdigit() or len(cursor) > 18:
            raise FieldErrors({"cursor": N_("cursor 无效：请原样使用上一页返回的 next_cursor")})
        after = int(cursor)
    found = await webhooks.deliveries(db, client.client_id, subscription_id, after, size + 1)
    if found is None:
        raise NotFound(N_("没有该订阅"))
    page = found[:size]
    return DeliveryPage(
        items=[DeliveryView(**msgspec.structs.asdict(d)) for d in page],
        next_cursor=str(page[-1].id) if len(found) > size else None,
    )
