"""Rules for cases: submit once (idempotently), one task per item with its promised date, drafts,
uploads, and the views a resident and the public get."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import asyncpg
import msgspec

from app.calendar.service import today_in_china
from app.cases import consent_flow, counting, duplicate_flow, duplicates, store, tracking, workflow
from app.cases import notice as notices
from app.cases.models import (
    CaseContents,
    CaseCreated,
    CaseHead,
    CaseListed,
    CaseOfPerson,
    CaseOnPage,
    CaseParties,
    CaseSubmission,
    CaseSummary,
    CaseView,
    CheckedFile,
    DeceasedApplicantCase,
    DraftBody,
    DraftView,
    DuplicateFlag,
    FiledCase,
    KeptCasePage,
    KeptPage,
    PendingUpload,
    QueueCaseFacts,
    QueueRows,
    StaffCaseRecord,
    StaffTimelineEntry,
    StaffUpload,
    StoredUpload,
    SupplementNotice,
    TaskCount,
    TaskListing,
    TaskRow,
    TaskView,
    TrackedPage,
    UploadContent,
    UploadView,
)
from app.cases.scans import ScanCounter
from app.cases.states import (
    CASE_STATUS_LABELS,
    FINISHED_CASE_STATUSES,
    INTERNAL,
    OPEN_TASK_STATUSES,
    TASK_STATUS_LABELS,
    derive_case_status,
)
from app.cases.timeline import record_event
from app.catalogue import service as catalogue
from app.catalogue.models import LifeEvent, ServiceItem
from app.certificates.models import ECertificate
from app.consents.models import ConsentRow
from app.delegations import service as delegations
from app.delegations.models import DelegationRow
from app.errors import DomainError, DuplicateCase, FieldErrors, Forbidden, NotFound
from app.filing.models import Filing
from app.filing.service import own_person_id, resolve_filing
from app.forms import choice, parties
from app.forms import service as forms
from app.forms.models import MaterialNeed, MaterialToUpload, MergedForm
from app.notifications import service as notifications
from app.notifications import titles
from app.notifications.models import NoticeDelivery
from app.organisations import service as organisations
from app.organisations.models import ROLE_LABELS, Organisation
from app.people import service as people
from app.people.identity import normalize_id_number
from app.registers import service as registers
from app.sms import service as sms
from app.stats.models import TaskHistory
from app.web.types import Connection
from auth.models import CurrentUser
from auth.pii import PiiCipher
from auth.scope import serves
from config.settings import Settings
from db.pool import DB, Tx
from i18n import N_, gettext

log = logging.getLogger(__name__)
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")
DRAFT_MAX_BYTES = 64 * 1024
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)


def tracking_url(settings: Settings, token: str) -> str:
    return f"{settings.public_url}/t/{token}"


def _applicant_values(applicant: parties.Applicant) -> dict[str, str]:
    """The applicant's own identity comes from the register, never from the page (which shows it masked)."""
    return {"profile.name": applicant.person.name, "profile.id_number": applicant.id_number}


def _with_applicant(form: MergedForm, data: dict[str, Any], applicant: dict[str, str]) -> dict[str, Any]:
    merged = dict(data)
    for field in form.fields():
        if field.prefill_source in applicant:
            merged[field.key] = applicant[field.prefill_source]
    return merged


async def submit_case(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    settings: Settings,
    user: CurrentUser,
    body: CaseSubmission,
    conn: Connection | None = None,
) -> CaseCreated:
    """Submit once (idempotently by the caller's key). What only reads and checks is done before the transaction;
    the transaction holds the key's lock, the subject's (一事不二办) and the case's writes alone."""
    if not _IDEMPOTENCY_KEY.fullmatch(body.idempotency_key or ""):
        raise FieldErrors({"idempotency_key": N_("提交编号格式不正确，请刷新页面后重新提交")})
    code = await _bundle_filed(db, body)
    # Outside the transaction, so a refusal is audited even though nothing else is written.
    filing = await resolve_filing(
        db, cipher, user, body.on_behalf_of, code, conn, on_behalf_of_org=body.on_behalf_of_org
    )
    async with db.acquire() as tx:
        # A retry of a submission that already became a case is checked again like any other (retries are rare: a
        # look for the key here would cost every submission a query) and answered with the case made in the
        # transaction, under the key's lock.
        try:
            checked = await _checked(tx, cipher, user, body, code, filing)
        except DomainError:
            # A repeat whose original has committed: its uploads now belong to the case, so they fail (and the form
            # may have changed since). It is a repeat all the same, answered with the case made.
            if (existing := await _made_already(tx, settings, user, body)) is not None:
                return existing
            raise
        # The day's next case number, from a sequence: it waits for no other submission (a counter row written by
        # each did, until the one before had committed). Taken before the transaction, so the day's first submission
        # does not hold the day's row until its commit. A number taken for a submission that then makes no case (a
        # retry that lost the race, an exact duplicate) is skipped.
        today = today_in_china()
        number = await store.next_case_sequence(tx, today)
        async with tx.transaction():
            made = await _submit_in(
                tx, cipher, settings, user, body, code, filing, conn, checked, _case_number(today, number)
            )
    if isinstance(made, DuplicateCase):
        # 一事不二办: refused once the link to the earlier case (and the audit of it) is committed.
        raise made
    return made


def _case_number(day: date, number: int) -> str:
    """CZ + yyyymmdd + the day's number in six digits (more past 999,999): readable over the phone."""
    return f"CZ{day:%Y%m%d}{number:06d}"


async def _made_already(tx: Tx, settings: Settings, user: CurrentUser, body: CaseSubmission) -> CaseCreated | None:
    """The case a submission with this key already made, as its first answer gave it."""
    existing = await store.case_by_idempotency_key(tx, user.account_id, body.idempotency_key)
    if existing is None:
        return None
    return CaseCreated(
        case_no=existing.case_no,
        tracking_token=existing.tracking_token,
        tracking_url=tracking_url(settings, existing.tracking_token),
    )


class _Checked(NamedTuple):
    """A submission as checked before its transaction: the form as chosen, the answers as validated, whose the
    materials are and which are held, uploaded or awaiting a consent."""

    chosen: choice.ChosenForm
    applicant: parties.Applicant
    clean: dict[str, Any]
    resolved: dict[str, parties.Party]
    held: list[tuple[MaterialNeed, parties.Party, ECertificate]]
    uploads: list[PendingUpload]
    waiting: list[MaterialToUpload]


async def _checked(
    db: DB, cipher: PiiCipher, user: CurrentUser, body: CaseSubmission, code: str, filing: Filing
) -> _Checked:
    """The submission's answers and materials checked, reading only (FieldErrors, on each field, when they fail)."""
    person_id = filing.person_id
    # What the registers say is read once for the submission: the items' choice and the materials ask the same.
    lookups = parties.Lookups()
    # Filed for someone by their number: the register's row as the filing read it by that number (never read twice).
    found = (filing.person, normalize_id_number(body.on_behalf_of)) if filing.person and body.on_behalf_of else None
    applicant = await lookups.applicant(db, cipher, person_id, found=found)
    assert applicant is not None  # resolve_filing found the person
    # The items that apply (按需组合): asked for, or the required ones and those the registers pre-tick.
    chosen = await choice.chosen_form(db, cipher, code, body.items, person_id, body.data, lookups)
    form, items = chosen.form, chosen.items
    data = _with_applicant(form, body.data, _applicant_values(applicant))
    # Filed for an organisation: its name, address and legal representative are the register's, not the page's.
    company = await parties.company_of(db, cipher, filing.org_credit_code)
    if company is not None:
        data |= parties.register_fields(form, company)
    clean, errors = forms.validate(form, data, today_in_china())
    # What a register's write-back will need of the answers (企业变更登记: something to change), beside its field.
    problems = registers.filing_problems([item.code for item in items], clean)
    errors |= {key: message for key, message in problems.items() if key not in errors}
    # Each material from the library of the person it is about, resolved again by the numbers submitted.
    resolved = await parties.resolve(db, cipher, form, applicant, data, company, lookups)
    held, rest = parties.sort_materials(form, resolved)
    uploads = (
        await store.pending_uploads(db, user.account_id, person_id, filing.org_credit_code, code, body.uploads)
        if body.uploads
        else []
    )
    uploaded = {u.material_code for u in uploads}
    # At a window the clerk has checked the paper originals in person: nobody is asked, nothing must be uploaded.
    at_window = filing.channel == "window"
    waiting = [n for n in rest if n.state == "awaiting_consent" and n.code not in uploaded and not at_window]
    for need in rest:
        if need.state == "upload" and not at_window and need.required and need.code not in uploaded:
            errors[f"materials.{need.code}"] = (gettext("请上传“%(name)s”") % {"name": need.name}) + (
                f"（{need.why}）" if need.why else ""
            )
    if errors:
        raise FieldErrors(errors)
    return _Checked(chosen, applicant, clean, resolved, held, uploads, waiting)


async def _submit_in(
    tx: Tx,
    cipher: PiiCipher,
    settings: Settings,
    user: CurrentUser,
    body: CaseSubmission,
    code: str,
    filing: Filing,
    conn: Connection | None,
    checked: _Checked,
    number: str,
) -> CaseCreated | DuplicateCase:
    """The submission in its transaction: the case made (numbered `number`), or the refusal of an exact duplicate
    (returned, not raised, so that what the refusal writes — the party's link to the earlier case, its audit — is
    committed)."""
    person_id = filing.person_id
    form, items, applicant = checked.chosen.form, checked.chosen.items, checked.applicant
    item_codes = frozenset(item.code for item in items)
    subject = duplicate_flow.subject_of(cipher, items=item_codes, answers=checked.clean, applicant=applicant)
    await store.lock_submission(tx, user.account_id, body.idempotency_key, subject.key if subject else None)
    existing = await _made_already(tx, settings, user, body)
    if existing is not None:  # the same submission, sent twice at once: the other one made the case
        return existing
    # 一事不二办: an open or recent case about the same subject (app/cases/duplicate_flow.py).
    screening = await duplicate_flow.screen(
        tx,
        cipher,
        conn,
        subject=subject,
        form=form,
        items=item_codes,
        answers=checked.clean,
        applicant=applicant,
        for_someone=filing.filed_as != "self",
    )
    if screening.refusal is not None:
        # Settled: nothing left to send.
        await store.delete_draft(tx, user.account_id, code, person_id, filing.org_credit_code)
        return screening.refusal
    created = await _create(
        tx,
        cipher,
        settings,
        user,
        filing,
        body,
        form,
        items,
        checked.clean,
        case_no=number,
        event_name=checked.chosen.event_name,
        applicant_region=applicant.person.region_code,
        subject_key=screening.subject_key,
    )
    await duplicate_flow.flag(tx, created[0], screening.flags)
    if checked.uploads:
        await store.attach_uploads(tx, created[0], [u.token for u in checked.uploads])
    await consent_flow.audit_deceased_use(tx, conn, created[1].case_no, checked.held)
    if checked.waiting:
        await consent_flow.ask(
            tx,
            cipher,
            case_id=created[0],
            form=form,
            life_event_name=checked.chosen.event_name,  # the record: in Chinese, drawn in each reader's language
            applicant=applicant,
            resolved=checked.resolved,
            waiting=checked.waiting,
        )
    return created[1]  # (the draft it was filed from went with the case's insert)


async def _bundle_filed(db: DB, body: CaseSubmission) -> str:
    """The life event (or the single item's one-item bundle) a submission files; a 400 on the field it names when
    there is none such, or both are named."""
    if body.item is not None and body.life_event is not None:
        raise FieldErrors({"item": N_("请只填写一项：一件事（life_event）或单个事项（item）")})
    if body.item is not None:
        if body.items is not None:
            raise FieldErrors({"items": N_("单个事项无需勾选事项清单")})
        event = await _life_event_or_none(db, body.item)
        if event is None or event.single_item != body.item:
            raise FieldErrors({"item": N_("该事项不能单独在网上办理，请在办事指南中查看办理方式")})
        return body.item
    event = await _life_event_or_none(db, body.life_event or "")
    if event is None or event.single_item is not None:
        raise FieldErrors({"life_event": N_("没有找到这件事，请返回首页重新选择")})
    return event.code


async def _life_event_or_none(db: DB, code: str) -> LifeEvent | None:
    try:
        return await catalogue.life_event(db, code)
    except NotFound:
        return None


async def _create(
    tx: Tx,
    cipher: PiiCipher,
    settings: Settings,
    user: CurrentUser,
    filing: Filing,
    body: CaseSubmission,
    form: MergedForm,
    items: list[ServiceItem],
    clean: dict[str, Any],
    *,
    case_no: str,
    event_name: str,
    applicant_region: str | None,
    subject_key: bytes | None = None,
) -> tuple[int, CaseCreated]:
    today = today_in_china()
    token = secrets.token_urlsafe(24)  # 192 random bits, the only key to the public tracking page
    # 全城通办: the hall that received it at its window, whatever district the resident lives in.
    received_region = user.region_code if filing.channel == "window" else None
    case_id, tasks = await store.insert_case(
        tx,
        case_no=case_no,
        tracking_token=token,
        life_event_code=body.code,
        applicant_person_id=filing.person_id,
        filed_by_account_id=user.account_id,
        filed_as=filing.filed_as,
        channel=filing.channel,
        data_enc=cipher.encrypt_document(clean),
        form_checksum=form.checksum,
        idempotency_key=body.idempotency_key,
        tasks=await workflow.new_tasks(tx, items, today, applicant_region),
        received_region=received_region,
        subject_org_credit_code=filing.org_credit_code,
        subject_key=subject_key,
    )
    await counting.count_received(tx, tasks)
    # 办理进度将通过短信…发送到此号码, the form promises: the case's steps are texted there (app.sms).
    phone = clean.get("applicant.phone")
    phone = phone if isinstance(phone, str) and phone else None
    await sms.remember_case_phone(tx, case_id, phone)
    title, params, note = _submitted_step(filing, user, len(items))
    # Whose it is, as just written (nobody is linked to it yet: 一事不二办's flags come after its first step).
    parties = CaseParties(
        case_no=case_no,
        life_event_name=event_name,
        applicant_person_id=filing.person_id,
        filed_as=filing.filed_as,
        filed_by_account_id=user.account_id,
        tracking_token=token,
        applicant_region=applicant_region or "",
        life_event_code=body.code,
        subject_org_credit_code=filing.org_credit_code,
        received_region=received_region,
        phone=phone,
    )
    await record_event(
        tx,
        case_id=case_id,
        status="submitted",
        title=title,
        title_params=params,
        actor_account_id=user.account_id,
        note=note,
        new_tasks=tasks,
        parties=parties,
    )
    return case_id, CaseCreated(case_no=case_no, tracking_token=token, tracking_url=tracking_url(settings, token))


def _submitted_step(filing: Filing, user: CurrentUser, item_count: int) -> tuple[str, dict[str, object], str | None]:
    """The first timeline step: a public title (no names: a marked text and its count) and a note the resident
    sees. Both are kept in Chinese, the text of record (a notice draws the title in its reader's language)."""
    count: dict[str, object] = {"count": item_count}
    if filing.channel == "window" and filing.org_credit_code is not None:
        role = ROLE_LABELS.get(filing.org_role or "", N_("经办人"))
        return (
            titles.SUBMITTED_AT_WINDOW_FOR_ORG,
            count,
            N_("由综合窗口 %(name)s 当面收件；经办人身份：%(role)s") % {"name": user.name, "role": role},
        )
    if filing.channel == "window":
        title = titles.SUBMITTED_AT_WINDOW
        return title, count, N_("由综合窗口 %(name)s 当面收件") % {"name": user.name}
    if filing.channel == "helper":
        title = titles.SUBMITTED_BY_HELPER
        return title, count, N_("由帮办员 %(name)s 代办") % {"name": user.name}
    if filing.filed_as == "parent":
        title = titles.SUBMITTED_BY_PARENT
        return title, count, N_("由父母 %(name)s 代为申请") % {"name": user.name}
    if filing.org_credit_code is not None:
        title = titles.SUBMITTED_BY_AGENT
        return title, count, N_("由经办人 %(name)s 代表企业提交") % {"name": user.name}
    return titles.SUBMITTED, count, None


def _task_views(rows: list[TaskListing]) -> list[TaskView]:
    return [
        TaskView(
            id=r.id,
            item_code=r.item_code,
            item_name=r.item_name,
            department=r.department_code,
            department_name=r.department_name,
            status=r.status,
            status_label=TASK_STATUS_LABELS[r.status],
            due_on=r.due_on,
            due_provisional=r.due_provisional,
        )
        for r in rows
    ]


async def case_for_resident(db: asyncpg.Pool, settings: Settings, user: CurrentUser, case_no: str) -> CaseView:
    """A case the resident may read: their own (or their minor child's, filed by them), one they are linked to as a
    party (一事不二办: read only, `linked_as`), or their organisation's. Who may act on it: workflow.in_scope."""
    # The case with its tasks and steps in one round trip; shown only if the resident may read it.
    found = (
        await store.case_for_reader_with_contents(db, case_no, user.person_id) if user.person_id is not None else None
    )
    head = _as_reader(user, found[0]) if found else None
    contents = found[1] if found and head else None
    if head is None and user.person_id is not None:
        head = await _case_of_own_organisation(db, user, case_no)
    if head is None:
        raise NotFound(N_("没有找到该办件"))  # someone else's case looks exactly like no case
    return await _case_view(db, settings, head, contents)


def case_page_variant(language: str, linked_as: str | None) -> str:
    """Which of a case's kept pages a reader is sent (case_pages.variant): their language, and their role if they read
    the case as a linked party (the page offers them less and names their role); the applicant's is the language and
    nothing after it. The store reads it as the language's and appends the link's role (case_on_page_for_reader)."""
    return f"{language}:{linked_as or ''}"


async def case_on_page(db: DB, user: CurrentUser, case_no: str, language: str) -> CaseOnPage | None:
    """The case as the resident's case page first reads it (store.case_on_page_for_reader: the head, the counts of
    changes the page depends on, the page kept for this reader) if they read it as its applicant, the parent who filed
    it or a linked party, `linked_as` decided as case_for_resident decides it. None otherwise (their organisation's
    case, someone else's, none at all): case_for_resident answers those as it always has."""
    if user.person_id is None:
        return None
    found = await store.case_on_page_for_reader(db, case_no, user.person_id, case_page_variant(language, None))
    head = _as_reader(user, found.head) if found else None
    return msgspec.structs.replace(found, head=head) if found and head else None


async def case_view_on_page(db: asyncpg.Pool, settings: Settings, found: CaseOnPage) -> CaseView:
    """The case as its page shows it, to draw the page: its tasks and steps (read with the counts in `found`, else
    now: after them, so the page drawn is never older than the counts it is tagged with), then what they call for."""
    contents = found.contents or await store.case_contents(db, found.head.id)
    return await _case_view(db, settings, found.head, contents)


def case_page_may_be_kept(case: CaseView) -> bool:
    """Whether the page drawn of the case may be kept for its next views: not once purged (drawn on each view, as its
    tracking page is), nor while it may have consent requests (their state moves with the clock, a deadline passing,
    which no count of changes sees: consent_flow.settled_requests_of_case)."""
    return case.purged_at is None and not consent_flow.may_have_requests(step.status for step in case.timeline)


async def keep_case_page(db: asyncpg.Pool, found: CaseOnPage, variant: str, page: KeptCasePage) -> bool:
    """Keep the case page just drawn for its readers of one kind and language (a cache fill: see app.cases.pages), once
    the page is sent, unless the counts it was drawn under have moved on. A refusal (the database out of reach, a
    statement cancelled) is logged, never raised: the next view draws the page again. Whether it was kept."""
    try:
        return await store.keep_case_page(db, found.head.id, variant, found.page_version, found.notices_version, page)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        log.warning("case page of case %s not kept: %s", found.head.id, type(error).__name__)
        return False


async def _readable_case(db: DB, user: CurrentUser, case_no: str, *, own_only: bool = False) -> CaseHead | None:
    """The case if the resident may read it (workflow.resident_relation), with `linked_as` only when they read it as
    a linked party; `own_only`: only if they may act on it too."""
    if user.person_id is None:
        return None
    return _as_reader(user, await store.case_for_reader(db, case_no, user.person_id), own_only=own_only)


def _as_reader(user: CurrentUser, head: CaseHead | None, *, own_only: bool = False) -> CaseHead | None:
    """_readable_case's decision on a case read for this resident (store.case_for_reader)."""
    if head is None:
        return None
    relation = workflow.resident_relation(
        user,
        applicant_person_id=head.applicant_person_id,
        parent_account_id=head.parent_account_id,
        linked_as=head.linked_as,
    )
    if relation is None or (own_only and relation != "own"):
        return None
    return head if relation == "linked" else msgspec.structs.replace(head, linked_as=None)


async def _case_of_own_organisation(db: DB, user: CurrentUser, case_no: str) -> CaseHead | None:
    """A case filed for an organisation the resident may act for now (its legal representative, or a 经办人 whose
    scope covers the case's life event), whoever of them filed it."""
    found = await store.organisation_of_case(db, case_no)
    if found is None:
        return None
    credit_code, life_event = found
    try:
        await organisations.acting_for(db, None, user, credit_code, life_event)
    except Forbidden:
        return None
    return await store.case_by_number(db, case_no)


async def cases_for_organisation(
    db: DB, conn: Connection | None, user: CurrentUser, credit_code: str
) -> tuple[Organisation, list[CaseSummary]]:
    """An organisation's cases, to its legal representative and its 经办人 (each agent: those within their scope)."""
    acting = await organisations.acting_for(db, conn, user, credit_code, None)
    rows = await store.cases_of_organisation(db, acting.organisation.credit_code, acting.scope)
    return acting.organisation, [_summary(row) for row in rows]


async def case_numbers(db: DB, case_ids: list[int]) -> dict[int, str]:
    """The case number of each case id (an organisation's history names the case that made each change)."""
    return await store.case_numbers(db, case_ids) if case_ids else {}


async def case_for_helper(db: asyncpg.Pool, settings: Settings, user: CurrentUser, case_no: str) -> CaseView:
    """A case this helper filed under a delegation from its applicant, so they can print its receipt."""
    head = await store.case_filed_by_helper(db, case_no, user.account_id) if "helper" in user.roles else None
    if head is None or not await delegations.given_before(
        db, user.account_id, head.applicant_person_id, head.created_at
    ):
        raise NotFound(N_("没有找到该办件"))
    return await _case_view(db, settings, head, named=True)


async def case_for_window(db: asyncpg.Pool, settings: Settings, user: CurrentUser, case_no: str) -> CaseView:
    """A case this clerk filed at the window, so they can print its receipt for the resident."""
    number = case_no.strip().upper()  # typed at the window as often as followed from a link
    head = await store.case_filed_at_window(db, number, user.account_id) if "clerk" in user.roles else None
    if head is None:
        raise NotFound(N_("没有找到该办件"))
    return await _case_view(db, settings, head, named=True)


async def _case_view(
    db: asyncpg.Pool, settings: Settings, head: CaseHead, contents: CaseContents | None = None, *, named: bool = False
) -> CaseView:
    """The case as its pages show it; `contents`: its tasks and steps when read with `head`; `named`: with the
    applicant's name and masked number (a receipt printed for someone else to take home)."""
    # What the case's steps rule out is not read: consent requests without a 待授权 step, notices that must arrive
    # without a step whose notice must (most cases in progress: the page is then the session's read and the case's).
    statuses = {step.status for step in contents.timeline} if contents is not None else None
    requests: list[ConsentRow] = []
    tasks_moved = False
    if statuses is None or consent_flow.may_have_requests(statuses):
        requests, tasks_moved = await consent_flow.settled_requests_of_case(db, head.id)
    if contents is None or tasks_moved:  # a consent request that lapsed just now moved its tasks to 补正
        contents = await store.case_contents(db, head.id)
    tasks = _task_views(contents.tasks)
    followed = notifications.may_have_followed(step.status for step in contents.timeline)
    applicant = await people.get_person(db, head.applicant_person_id) if named else None
    status = derive_case_status(t.status for t in tasks)
    return CaseView(
        case_no=head.case_no,
        life_event=head.life_event_code,
        life_event_name=head.life_event_name,
        status=status,
        status_label=CASE_STATUS_LABELS[status],
        channel=head.channel,
        filed_as=head.filed_as,
        created_at=head.created_at,
        tracking_url=tracking_url(settings, head.tracking_token),
        tasks=tasks,
        timeline=contents.timeline,
        applicant_name=applicant.name if applicant else None,
        applicant_id_masked=applicant.id_number_masked if applicant else None,
        consents=await consent_flow.materials_of_case(db, requests, head.life_event_code),
        purged_at=head.purged_at,
        notices=await notifications.deliveries_of_case(db, head.id) if followed else [],
        linked_as=head.linked_as,
        for_organisation=head.subject_org_credit_code is not None,
    )


async def notice_for_resident(
    db: asyncpg.Pool, settings: Settings, user: CurrentUser, case_no: str, task_id: int
) -> SupplementNotice:
    """补正告知书 of one of the resident's own tasks waiting for a supplement, to print at home (the window prints the
    same for a resident without an account)."""
    case = await case_for_resident(db, settings, user, case_no)
    if case.linked_as is not None:  # a linked party reads the case; the notice is the applicant's to act on
        raise NotFound(N_("补正告知书由申请人查看和打印"))
    task = next((t for t in case.tasks if t.id == task_id), None)
    if task is None or task.status != "supplement_requested":
        raise NotFound(N_("该事项当前没有待补正的材料"))
    found = notices.open_request(case.timeline, task.id)  # the resident's own timeline: nothing internal
    person = await people.get_person(db, own_person_id(user))
    if found is None or person is None:
        raise NotFound(N_("没有找到该事项的补正告知内容"))
    request, more_notes = found
    facts = (await store.queue_case_facts(db, [case.case_no]))[:1]
    hall = facts[0].receiving_region if facts and facts[0].filed_as == "clerk" else None
    return await notices.supplement_notice(
        db,
        case_no=case.case_no,
        life_event_code=case.life_event,
        life_event_name=case.life_event_name,
        applicant_name=person.name,
        applicant_id_masked=person.id_number_masked,
        item_code=task.item_code,
        item_name=task.item_name,
        requested_at=request.at,
        note=request.note or "",
        more_notes=more_notes,
        issued_by=None,
        received_at_hall=hall,
    )


async def cases_for_resident(db: asyncpg.Pool, user: CurrentUser) -> list[CaseSummary]:
    if user.person_id is None:
        return []
    rows = await store.cases_of_person(db, user.person_id, user.account_id)
    summaries: list[CaseSummary] = []
    for row in rows:
        relation = _relation(user, row)
        if relation is not None:
            summaries.append(_summary(row, linked_as=row.linked_as if relation == "linked" else None))
    return summaries


def _relation(user: CurrentUser, row: CaseOfPerson) -> str | None:
    return workflow.resident_relation(
        user,
        applicant_person_id=row.applicant_person_id,
        parent_account_id=row.parent_account_id,
        linked_as=row.linked_as,
    )


def _summary(row: CaseListed, *, linked_as: str | None = None) -> CaseSummary:
    """`linked_as`: the reader's role in a case they are a party of but did not file (一事不二办)."""
    status = derive_case_status(row.task_statuses)
    return CaseSummary(
        case_no=row.case_no,
        life_event=row.life_event_code,
        life_event_name=row.life_event_name,
        status=status,
        status_label=CASE_STATUS_LABELS[status],
        created_at=row.created_at,
        task_count=len(row.task_statuses),
        linked_as=linked_as,
    )


async def track(db: asyncpg.Pool, token: str, scans: ScanCounter) -> bytes:
    """The public tracking JSON for a receipt's token (no personal data), counted as a scan."""
    return (await _tracked(db, token, scans))[1]


async def track_page(db: asyncpg.Pool, token: str, scans: ScanCounter, variant: str | None = None) -> TrackedPage:
    """What the tracking page is drawn from (the public snapshot, and how often its notices that must arrive changed
    how they reached the resident: the worker moves them on without a timeline event) and, for a display `variant`,
    the page kept for it: one read (the caller compares the kept page's tag). The notices themselves, read only to
    draw the page: `tracking_notices`."""
    found = await tracking.snapshot_and_page_for(db, token, variant)
    if found is None:
        raise NotFound(N_("没有找到该办件，请核对二维码或链接"))
    scans.add(found.case_id)
    return found


async def tracking_notices(db: asyncpg.Pool, tracked: TrackedPage) -> list[NoticeDelivery]:
    """How each notice of the tracked case that must arrive reached the resident: read only to draw its page."""
    return await notifications.deliveries_of_case(db, tracked.case_id)


async def keep_tracking_page(db: asyncpg.Pool, tracked: TrackedPage, variant: str, page: KeptPage) -> bool:
    """Keep the tracking page just drawn for anonymous visitors of one display (a cache fill: see app.cases.routes),
    once the page is sent. A refusal (the database out of reach, a statement cancelled) is logged, never raised:
    the next view draws the page again. Whether it was kept."""
    try:
        return await tracking.keep_page(db, tracked, variant, page)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
        log.warning("tracking page of case %s not kept: %s", tracked.case_id, type(error).__name__)
        return False


async def _tracked(db: DB, token: str, scans: ScanCounter) -> tuple[int, bytes]:
    found = await tracking.snapshot_for(db, token)
    if found is None:
        raise NotFound(N_("没有找到该办件，请核对二维码或链接"))
    scans.add(found[0])
    return found


async def open_cases_of(db: DB, delegations: Sequence[DelegationRow]) -> dict[int, list[str]]:
    """By delegation id: the cases its helper filed for its client within its scope that are still open (not every
    task delivered or refused: the case status derived from its tasks, the one rule), newest first. The roster and
    我的 show them; app.delegations is handed this function by the composition root, since this feature imports it."""
    pairs = sorted({(d.helper_account_id, d.client_person_id) for d in delegations})
    filed = await store.cases_filed_by_helpers(db, [h for h, _ in pairs], [c for _, c in pairs]) if pairs else []
    still_open = [f for f in filed if derive_case_status(f.task_statuses) not in FINISHED_CASE_STATUSES]
    return {
        d.id: [
            f.case_no
            for f in still_open
            if (f.helper_account_id, f.applicant_person_id) == (d.helper_account_id, d.client_person_id)
            and (d.scope is None or f.life_event_code in d.scope)
        ]
        for d in delegations
    }


async def key_existing_cases(conn: Tx, cipher: PiiCipher) -> int:
    """Migration 0032's data step: the subject key (一事不二办) of every case made before it."""
    return await duplicate_flow.key_existing_cases(conn, cipher)


async def follow_register_moves(db: DB) -> int:
    """After the population register is imported: the tasks of an online or helper case whose applicant it moved
    keep their receiving hall (workflow.receiving_hall: the applicant's region) on their row as the queue reads it."""
    return await store.follow_register_moves(db)


# --- for the back office (app.console) -------------------------------------------------------------


async def staff_case_record(db: DB, case_no: str) -> StaffCaseRecord | None:
    """A case by its number, as the back office opens it (who may see what of it is app.console's rule)."""
    return await store.staff_case_record(db, case_no)


async def open_cases_of_deceased(db: DB, *, region_prefix: str, department: str | None) -> list[DeceasedApplicantCase]:
    """已注销人员的在办件: cases still open (the one case-status rule) whose applicant has since been deregistered
    (户口注销), for the back office to close or hand to the family."""
    rows = await store.cases_of_deceased_applicants(db, region_prefix=region_prefix, department=department)
    return [r for r in rows if derive_case_status(r.task_statuses) not in FINISHED_CASE_STATUSES]


async def tasks_of_case(db: DB, case_id: int) -> list[TaskRow]:
    return await store.tasks_of_case(db, case_id)


# --- 一事不二办, for the window clerk (app.console) -----------------------------------------------------------------


async def duplicate_flags_of(db: DB, case_id: int) -> list[DuplicateFlag]:
    """Every pair a case is flagged in as perhaps one matter, either side, newest first."""
    return await duplicate_flow.flags_of_case(db, case_id)


def compared_fields(item_codes: Sequence[str]) -> list[str]:
    """The answers the duplicate rule of these items compares (a birth: the mother's number, the date, the name)."""
    rule = duplicates.rule_for(frozenset(item_codes))
    if rule is None:
        return []
    keys = [*rule.subject, rule.name_field, rule.date_field]
    return [k for k in dict.fromkeys(keys) if k is not None and k != duplicates.DISTRICT]


def withdraw_problem(withdrawn: list[TaskRow], kept: list[TaskRow]) -> str | None:
    """Why one case of a flagged pair cannot be withdrawn into the other; None when it can (the merge checks again)."""
    return duplicate_flow.withdraw_problem(withdrawn, kept)


async def merge_duplicates(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, flag_id: int, keep_case_no: str
) -> DuplicateFlag:
    """合并: keep one case of a flagged pair, withdraw the other (app.cases.duplicate_flow.merge)."""
    return await duplicate_flow.merge(db, cipher, conn, user, flag_id, keep_case_no.strip().upper())


async def keep_both_cases(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, flag_id: int, note: str | None
) -> DuplicateFlag:
    """保留两件: a flagged pair is not one matter; both go on."""
    return await duplicate_flow.keep_both(db, conn, user, flag_id, note)


def counted_tasks(tx: Tx) -> AsyncIterator[list[TaskHistory]]:
    """Every task as the public statistics count it, with its history, a batch of cases at a time (a recount)."""
    return counting.histories(tx)


async def tasks_in_queue(
    db: DB,
    *,
    statuses: list[str],
    region_prefix: str,
    department: str | None,
    received_too: bool = False,
    untaken_departments: list[str] | None = None,
    kind: str | None = None,
    due_before: date | None = None,
    due_from: date | None = None,
    due_until: date | None = None,
    after: tuple[date | None, int] | None = None,
    limit: int,
    whole_cases: bool = False,
    plan_once: bool = False,
) -> QueueRows:
    """A page of the tasks in these states routed to an office within the region or to none yet (全城通办: of
    `untaken_departments` when given), of the department when given, soonest due first, after `after` (the deadline
    and id of the last task of the page before); `received_too`: and those of cases received at a hall within the
    region. Narrowed to an item kind (即办件, 承诺件) and a deadline (before, from, until a day) when given.
    `whole_cases`: `limit` cases with all their tasks in the queue instead, each case on one page only, with what the
    queue says of each case (store.queue).
    `plan_once`: chosen by the query's generic plan, prepared once per connection (store.queue)."""
    return await store.queue(
        db,
        statuses=statuses,
        region_prefix=region_prefix,
        department=department,
        received_too=received_too,
        untaken_departments=untaken_departments,
        kind=kind,
        due_before=due_before,
        due_from=due_from,
        due_until=due_until,
        after=after or store.QUEUE_START,
        limit=limit,
        whole_cases=whole_cases,
        plan_once=plan_once,
    )


async def queue_case_facts(db: DB, case_nos: list[str]) -> dict[str, QueueCaseFacts]:
    """By case number: the applicant and where each case was received, for the back office's queue."""
    return {f.case_no: f for f in await store.queue_case_facts(db, case_nos)} if case_nos else {}


async def staff_timeline_of(db: DB, case_id: int) -> list[StaffTimelineEntry]:
    """A case's history with every note and who took each step (the back office's case page)."""
    return await store.staff_timeline_of(db, case_id)


async def task_by_id(db: DB, task_id: int) -> TaskRow | None:
    return await store.get_task(db, task_id)


async def department_tasks(
    db: DB,
    *,
    department: str,
    region_prefix: str,
    status: str | None,
    since: datetime | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[TaskRow]:
    """A page of a department's tasks within a region, in the order they last changed (the data-exchange API)."""
    return await store.department_tasks(
        db, department=department, region_prefix=region_prefix, status=status, since=since, after=after, limit=limit
    )


async def upload_chunks(db: DB, case_id: int, material_code: str, chunk_bytes: int) -> AsyncIterator[bytes]:
    """The file of a case answering a material, read from the database a chunk at a time (a file may be 10 MB)."""
    offset = 0
    while True:
        chunk = await store.upload_chunk(db, case_id, material_code, offset, chunk_bytes)
        if not chunk:
            return
        yield chunk
        offset += len(chunk)
        if len(chunk) < chunk_bytes:
            return


async def uploads_of_case(db: DB, case_id: int) -> list[StaffUpload]:
    return await store.uploads_of_case(db, case_id)


async def upload_for_account(db: DB, token: str, account_id: int) -> UploadContent | None:
    """A file this account uploaded (or attached to a case it filed), to show it again to them."""
    return await store.upload_for_account(db, token, account_id)


async def upload_of_case(db: DB, token: str) -> StoredUpload | None:
    """A file attached to a case, with its content."""
    return await store.upload_of_case(db, token)


async def filed_at_window(db: DB, clerk_account_id: int, person_id: int, since: datetime) -> list[FiledCase]:
    """The cases one clerk has filed at the window for one resident since a moment (the in-person ID check)."""
    return await store.cases_filed_at_window(db, clerk_account_id, person_id, since)


async def forget_drafts_for(db: DB, account_id: int, person_id: int) -> None:
    """Every draft one account keeps for one person (a clerk's, when the resident leaves the window)."""
    await store.delete_drafts_for_person(db, account_id, person_id)


# --- drafts ---------------------------------------------------------------------------------------


def _draft_values(data: dict[str, Any]) -> dict[str, Any]:
    """Drafts are partial and unvalidated, but only plain short values are kept."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, bool) or (isinstance(value, str) and len(value) <= 2000):
            kept[key] = value
        elif isinstance(value, int | float):
            kept[key] = str(value)
    return kept


async def get_draft(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    user: CurrentUser,
    life_event_code: str,
    person_id: int | None = None,
    org_credit_code: str | None = None,
) -> DraftView:
    """The draft kept for this person (and this organisation: a 经办人's draft for it is not their own one)."""
    person_id = person_id if person_id is not None else own_person_id(user)
    form, _ = await forms.merged_form_of(db, life_event_code)
    row = await store.get_draft(db, user.account_id, life_event_code, person_id, org_credit_code)
    if row is None:
        return DraftView(data={}, version=0, form_checksum=form.checksum)
    data = cipher.decrypt_document(row.data_enc)
    if row.form_checksum != form.checksum:
        data = forms.drop_stale_fields(form, data)  # the form changed since: keep what still exists
    return DraftView(data=data, version=row.version, form_checksum=form.checksum, items=row.items)


async def drafted_items(
    db: DB, user: CurrentUser, life_event_code: str, person_id: int, org_credit_code: str | None = None
) -> list[str] | None:
    """The items chosen in the draft of this form (按需组合), or None when there is no draft or no choice in it."""
    row = await store.get_draft(db, user.account_id, life_event_code, person_id, org_credit_code)
    return row.items if row else None


class StaleDraft(Exception):
    def __init__(self, current: DraftView) -> None:
        self.current = current


async def save_draft(
    db: asyncpg.Pool,
    cipher: PiiCipher,
    user: CurrentUser,
    life_event_code: str,
    body: DraftBody,
    person_id: int | None = None,
    org_credit_code: str | None = None,
) -> int:
    person_id = person_id if person_id is not None else own_person_id(user)
    form, _ = await forms.merged_form_of(db, life_event_code)
    data = forms.drop_stale_fields(form, _draft_values(body.data))
    if len(msgspec.json.encode(data)) > DRAFT_MAX_BYTES:
        raise FieldErrors({"data": N_("草稿内容过长")})
    # The choice of items is kept as checked: the required ones and known codes only (按需组合).
    event = await catalogue.life_event(db, life_event_code)
    items = None if body.items is None else choice.chosen_items(event, body.items, {})
    saved = await store.save_draft(
        db,
        account_id=user.account_id,
        life_event_code=life_event_code,
        person_id=person_id,
        org_credit_code=org_credit_code,
        expected_version=body.version,
        data_enc=cipher.encrypt_document(data),
        form_checksum=form.checksum,
        items=items,
    )
    if saved is None:
        raise StaleDraft(await get_draft(db, cipher, user, life_event_code, person_id, org_credit_code))
    return saved


# --- uploads --------------------------------------------------------------------------------------


def sniff_content_type(content: bytes) -> str | None:
    """The type by the file's first bytes, not its name: only PDF, JPEG and PNG are accepted."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


async def store_upload(
    db: asyncpg.Pool,
    user: CurrentUser,
    life_event_code: str,
    material_code: str,
    filename: str,
    content: bytes,
    person_id: int | None = None,
    org_credit_code: str | None = None,
) -> UploadView:
    """A material uploaded for a form, kept for the person (and organisation) it is for until a case takes it."""
    person_id = person_id if person_id is not None else own_person_id(user)
    form, _ = await forms.merged_form_of(db, life_event_code)
    # Evidence for a correction (更正) of a certificate a case of this life event issued: attached with the request.
    if material_code != workflow.CORRECTION_EVIDENCE and material_code not in {m.code for m in form.materials}:
        raise FieldErrors({"material_code": N_("该材料不属于这件事")})
    content_type, clean_name = _checked_file(filename, content)
    token = secrets.token_urlsafe(18)
    await store.insert_upload(
        db,
        token=token,
        account_id=user.account_id,
        person_id=person_id,
        org_credit_code=org_credit_code,
        life_event_code=life_event_code,
        material_code=material_code,
        filename=clean_name,
        content_type=content_type,
        content=content,
        sha256=hashlib.sha256(content).digest(),
    )
    return UploadView(
        token=token, material_code=material_code, filename=clean_name, content_type=content_type, size=len(content)
    )


def _checked_file(filename: str, content: bytes) -> tuple[str, str]:
    """(content type, safe file name) of an upload, or FieldErrors saying what is wrong with it."""
    if not content:
        raise FieldErrors({"file": N_("文件是空的，请重新选择")})
    if len(content) > UPLOAD_MAX_BYTES:
        raise FieldErrors({"file": N_("文件不能超过10MB，请压缩后重新上传")})
    content_type = sniff_content_type(content)
    if content_type is None:
        raise FieldErrors({"file": N_("只能上传 PDF、JPG 或 PNG 文件")})
    return content_type, re.sub(r"[^\w.\-\u4e00-\u9fff]", "_", filename)[-100:] or "upload"


# --- supplements (补正) --------------------------------------------------------------------------------

SUPPLEMENT_FILES_MAX = 20


def checked_supplement_files(files: list[tuple[str, bytes]]) -> list[CheckedFile]:
    """Every file of one answer to a 补正告知 (or of a correction's evidence), checked before any is stored."""
    return checked_files(files, most=SUPPLEMENT_FILES_MAX)


def checked_files(files: Sequence[tuple[str, bytes]], *, most: int) -> list[CheckedFile]:
    """Every file sent at once (name, content), each checked as an upload is (type by content, size, name), before
    any of them is stored: one bad file refuses them all, so nobody wonders which ones arrived. Under `file`."""
    if len(files) > most:
        raise FieldErrors(
            {"file": gettext("一次最多上传%(most)s个文件，请把多页材料合并成一个PDF后重新提交") % {"most": most}}
        )
    checked: list[CheckedFile] = []
    for filename, content in files:
        try:
            content_type, clean_name = _checked_file(filename, content)
        except FieldErrors as exc:
            raise FieldErrors({"file": f"“{filename}”：{exc.errors['file']}"}) from None
        checked.append(CheckedFile(filename=clean_name, content_type=content_type, content=content))
    return checked


async def open_task_counts(db: DB) -> list[TaskCount]:
    """Open tasks (with a department or the resident, before 出件) by department, district and status, with how
    many are past their promised date: the gauges of /metrics."""
    return await store.open_task_counts(db, OPEN_TASK_STATUSES)


# --- 好差评 (app/reviews asks here which case a rater reaches) -------------------------------------


async def tasks_to_rate_by_resident(db: DB, user: CurrentUser, case_no: str) -> list[TaskRow]:
    """The tasks of the resident's own case (or one they filed as a parent for a minor child); someone else's case
    looks exactly like no case."""
    head = await _readable_case(db, user, case_no, own_only=True)  # a linked party reads the case, never rates it
    if head is None:
        raise NotFound(N_("没有找到该办件"))
    return await store.tasks_of_case(db, head.id)


async def tasks_to_rate_by_helper(db: DB, user: CurrentUser, case_no: str) -> list[TaskRow]:
    """The tasks of a case this helper filed under a delegation from its applicant."""
    head = await store.case_filed_by_helper(db, case_no, user.account_id) if "helper" in user.roles else None
    if head is None or not await delegations.given_before(
        db, user.account_id, head.applicant_person_id, head.created_at
    ):
        raise NotFound(N_("没有找到该办件"))
    return await store.tasks_of_case(db, head.id)


async def tasks_at_window(db: DB, user: CurrentUser, case_no: str) -> list[TaskRow]:
    """The tasks of a case a clerk may hand the tablet for: one of a resident their hall serves."""
    record = await store.staff_case_record(db, case_no.strip().upper()) if "clerk" in user.roles else None
    if record is None or not serves(user.region_code, record.applicant_region):
        raise NotFound(N_("没有找到该办件"))
    return await store.tasks_of_case(db, record.id)


async def record_urge(tx: Tx, task: TaskRow, *, actor_account_id: int, note: str) -> int:
    """A supervisor's 督办 of a task, on the case's timeline (the resident sees the case is being chased; no push)."""
    return await record_event(
        tx,
        case_id=task.case_id,
        task_id=task.id,
        status="urged",
        title=titles.URGED % {"item_name": task.item_name},
        department_code=task.department_code,
        actor_account_id=actor_account_id,
        note=note,
        notify=False,
    )


async def record_notice_by_hand(tx: Tx, *, case_id: int, task_id: int | None, title: str, actor_account_id: int) -> int:
    """A clerk's phone call or paper notice of a notice no channel delivered, on the case's timeline and its tracking
    page (no push: it records that the resident was reached)."""
    return await record_event(
        tx,
        case_id=case_id,
        task_id=task_id,
        status="notice_by_hand",
        title=title,
        actor_account_id=actor_account_id,
        notify=False,
    )


async def record_review_step(tx: Tx, case_id: int, *, title: str, note: str, actor_account_id: int) -> int:
    """A follow-up of the resident's rating (回访, 整改 result) on the case's timeline: the resident hears of it."""
    return await record_event(
        tx, case_id=case_id, status="review_follow_up", title=title, actor_account_id=actor_account_id, note=note
    )


async def record_internal_step(
    tx: Tx, *, case_id: int, task_id: int, status: str, title: str, department_code: str, actor_account_id: int
) -> int:
    """A step of a task only staff read (a 征求意见 asked or answered): on the console's history of the task, never on
    the resident's pages, the tracking page, a push, a text or a webhook."""
    return await record_event(
        tx,
        case_id=case_id,
        task_id=task_id,
        status=status,
        title=title,
        department_code=department_code,
        actor_account_id=actor_account_id,
        visibility=INTERNAL,
    )
