"""一事不二办 against the database: before a case is made, the open and recent cases about the same subject (by the
keyed hash of it, app/cases/duplicates.py for the rules); after, the window clerk's decision on a flagged pair.

**Who is told.** An exact duplicate is refused (409, `duplicate: true`) only to someone who may know of the earlier
case anyway: its own applicant; a party it names (the other parent typed in the birth form, the deceased's relative
by the register or their own library, the spouse its 结婚证 names) — who is then linked to it and reads it in 我的办件.
A company name taken in the district is told to anyone, beside the name (400: it is public, as 企业名称自主申报
shows, and the fix is another name). Whoever else files the same matter gets the same 201 as any filing: their case
is made and flagged to the clerk as an exact duplicate from a non-party. So filing a birth with a stranger's number
and a guessed date tells nobody whether she gave birth; and who is a party is decided by the earlier case's answers
and by documents the government issued into the filer's own library, never by what the new form says.

**Near** matches (a birth date two days off, a similar or different name, some items already being handled) are never
told to the filer: they are flagged to the clerk, who merges the two (one withdrawn, its materials moved to the other,
its applicant linked to the kept one when a party of it) or keeps both. Either is on both timelines and in the audit
log; what the residents read names no other person's case unless they may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import msgspec

from app.cases import consent_flow, duplicates, store, workflow
from app.cases import duplicates_store as flags_store
from app.cases.duplicates import Facts, Match, SubjectRule
from app.cases.models import DuplicateFlag, SubjectCase, TaskRow
from app.cases.states import OPEN_TASK_STATUSES
from app.cases.timeline import record_event
from app.cases.transitions import SYSTEM, WITHDRAW, transition
from app.errors import Conflict, DuplicateCase, FieldErrors, Forbidden, NotFound
from app.forms import parties
from app.forms import service as forms
from app.forms.models import MergedForm
from app.people import service as people
from app.people.identity import id_number_problem, normalize_id_number
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.pii import PiiCipher
from db.pool import DB, Tx
from i18n import N_, gettext

# A task in one of these no longer claims its item: the same item may be filed again.
_ENDED = frozenset({"rejected", "denied", "withdrawn"})
# A case with a task decided this far cannot be withdrawn into another (its result may already be issued).
_DECIDED = frozenset({"approved", "completed", "delivered"})
NOTE_MAX = 500
KEY_BATCH = 500


class Screening(msgspec.Struct, frozen=True, kw_only=True):
    """What the search before a new case found: the key to store on it, the earlier cases to flag it against
    ((earlier case id, exact | near, reason)), or the refusal to answer instead of making it."""

    subject_key: bytes | None = None
    flags: list[tuple[int, str, str]] = msgspec.field(default_factory=list[tuple[int, str, str]])
    refusal: DuplicateCase | None = None


def _alive(case: SubjectCase) -> frozenset[str]:
    return frozenset(
        code for code, status in zip(case.item_codes, case.task_statuses, strict=True) if status not in _ENDED
    )


def _district(person_region: str | None) -> str | None:
    return person_region[:6] if person_region else None


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """What a new case is about for 一事不二办: the rule that covers it and the keyed hash of its subject."""

    rule: SubjectRule
    key: bytes


def subject_of(
    cipher: PiiCipher, *, items: frozenset[str], answers: Mapping[str, Any], applicant: parties.Applicant
) -> Subject | None:
    """The subject of a new case (None: no rule covers it, or the answers name none), worked out before its
    transaction's locks: the submission takes the subject's lock with its own (app.cases.store.lock_submission)."""
    rule = duplicates.rule_for(items)
    text = duplicates.subject_text(rule, answers, _district(applicant.person.region_code)) if rule else None
    if rule is None or text is None:
        return None
    return Subject(rule=rule, key=cipher.subject_key(text))


async def screen(
    tx: Tx,
    cipher: PiiCipher,
    conn: Connection | None,
    *,
    subject: Subject | None,
    form: MergedForm,
    items: frozenset[str],
    answers: Mapping[str, Any],
    applicant: parties.Applicant,
    for_someone: bool,
) -> Screening:
    """The search before a new case is made, in the submission's transaction, which holds the subject's lock (so two
    filings at once are one case and one refusal). `applicant`: the person the case is for; `for_someone`: filed by
    a helper, a window clerk or a parent, not by that person (the refusal says TA, not 您)."""
    if subject is None:
        return Screening()
    rule, key = subject.rule, subject.key
    earlier = await store.cases_about(tx, key, recent_days=rule.recent_days, open_statuses=OPEN_TASK_STATUSES)
    new = Facts(answers=answers, items=items)
    matches: list[tuple[SubjectCase, Mapping[str, Any], Match]] = []
    for case in earlier:
        their_answers = cipher.decrypt_document(case.data_enc)
        found = duplicates.classify(rule, new, Facts(answers=their_answers, items=_alive(case)))
        if found is not None:
            matches.append((case, their_answers, found))
    exact = next(((case, their) for case, their, m in matches if m.exact), None)
    if exact is not None:
        refusal = await _refusal(tx, cipher, conn, rule, form, exact[0], exact[1], applicant, for_someone)
        if refusal is not None:
            return Screening(subject_key=key, refusal=refusal)
    return Screening(
        subject_key=key, flags=[(case.id, "exact" if m.exact else "near", m.reason) for case, _, m in matches]
    )


async def _refusal(
    tx: Tx,
    cipher: PiiCipher,
    conn: Connection | None,
    rule: SubjectRule,
    form: MergedForm,
    earlier: SubjectCase,
    earlier_answers: Mapping[str, Any],
    applicant: parties.Applicant,
    for_someone: bool,
) -> DuplicateCase | None:
    """The refusal of an exact duplicate for its filer, linking a party to the earlier case; None for someone who is no
    party of it (their case is made and flagged: they learn nothing)."""
    you, yours = ("TA", N_("TA的")) if for_someone else (N_("您"), N_("您的"))
    then = (
        N_("TA本人登录后可在“我的办件”中查看进度，也可凭办件编号到政务服务窗口查询。")
        if for_someone
        else N_("请在“我的办件”中查看进度。")
    )
    if earlier.applicant_person_id == applicant.person.id:
        await audit(tx, conn, "case.duplicate", "refused", subject=f"case:{earlier.case_no}", party="applicant")
        return DuplicateCase(
            gettext("%(you)s已为此事提交过申请（办件编号 %(case_no)s），正在办理中，无需重复提交。%(then)s")
            % {"you": you, "case_no": earlier.case_no, "then": then},
            earlier.case_no,
        )
    role = await party_role(tx, cipher, form, earlier_answers, applicant)
    if role is not None:
        await store.link_party(tx, earlier.id, applicant.person.id, role)
        await audit(tx, conn, "case.duplicate", "refused", subject=f"case:{earlier.case_no}", party=role, linked=True)
        seen = N_("TA本人登录后可查看进度。") if for_someone else N_("可在那里查看进度。")
        return DuplicateCase(
            gettext(
                "已有人为此事提交申请（办件编号 %(case_no)s），正在办理中，无需重复提交。"
                "%(you)s是该申请中的%(role)s，已把它加入%(yours)s“我的办件”，%(seen)s"
            )
            % {"case_no": earlier.case_no, "you": you, "role": role, "yours": yours, "seen": seen},
            earlier.case_no,
        )
    if rule.taken_field is not None:
        # A public fact (a company name taken in the district): the filer changes the answer, as for any field.
        raise FieldErrors({rule.taken_field: rule.taken})
    return None


def _named(answers: Mapping[str, Any]) -> dict[str, str]:
    """The people a case's answers name by number: {party: number} (mother, father, deceased, applicant …)."""
    named: dict[str, str] = {}
    for key, value in answers.items():
        if key.endswith(".id_number") and isinstance(value, str) and not id_number_problem(value):
            named[key.removesuffix(".id_number")] = normalize_id_number(value)
    return named


async def party_role(
    db: DB, cipher: PiiCipher, form: MergedForm, answers: Mapping[str, Any], person: parties.Applicant
) -> str | None:
    """How `person` is a party of a case with these answers, as they read it (父亲, 配偶, 逝者的亲属（同一户口簿）);
    None if they are not: named in it by number; the spouse of someone named in it, by a 结婚证 in their own
    library; or a relative of the deceased it is about, by the register or their own library (the rule that lets a
    relative use a deceased's documents: app.forms.parties.kinship)."""
    named = _named(answers)
    for about, number in sorted(named.items()):
        if number == person.id_number and about != parties.APPLICANT:
            return parties.label_of(form, about)
    spouses = {str(c.data.get("spouse_id_number", "")) for c in person.certificates if c.kind == "marriage" and c.data}
    if spouses & set(named.values()):
        return N_("配偶")
    deceased_number = named.get(parties.DECEASED)
    if deceased_number is not None:
        deceased = await people.person_by_number(db, cipher, deceased_number)
        link = parties.kinship(person, deceased, deceased_number) if deceased is not None else None
        if link is not None:
            return gettext("%(label_of)s的亲属（%(link)s）") % {
                "label_of": parties.label_of(form, parties.DECEASED),
                "link": link,
            }
    return None


async def flag(tx: Tx, case_id: int, flags: list[tuple[int, str, str]]) -> None:
    """The new case flagged to the clerk against each earlier one it resembles."""
    if flags:
        await flags_store.insert_flags(tx, case_id, flags)


# --- the clerk's decision ------------------------------------------------------------------------------------------


async def flags_of_case(db: DB, case_id: int) -> list[DuplicateFlag]:
    return await flags_store.flags_of_case(db, case_id)


def withdraw_problem(gone: list[TaskRow], kept: list[TaskRow]) -> str | None:
    """Why this case cannot be withdrawn into the other (said to the clerk); None when it can: none of its tasks is
    decided yet (批准, 办结 or 出件), and every item it still asks for is alive in the other (none is left undone)."""
    if not gone:
        return N_("没有找到该办件的事项")
    case_no = gone[0].case_no
    if any(t.status in _DECIDED for t in gone):
        return gettext("办件 %(case_no)s 已有事项批准或办结，不能撤回：请撤回另一件，或保留两件") % {"case_no": case_no}
    alive = {t.item_code for t in kept if t.status not in _ENDED}
    missing = [t.item_name for t in gone if t.status not in _ENDED and t.item_code not in alive]
    if missing:
        return gettext("办件 %(case_no)s 中的“%(join)s”另一件没有，合并会漏办：请保留两件") % {
            "case_no": case_no,
            "join": "、".join(missing),
        }
    if all(t.status in _ENDED for t in gone):
        return gettext("办件 %(case_no)s 的事项均已结束，无需撤回") % {"case_no": case_no}
    return None


async def _tasks_locked(tx: Tx, case_id: int) -> list[TaskRow]:
    locked: list[TaskRow] = []
    for task in await store.tasks_of_case(tx, case_id):
        row = await store.lock_task(tx, task.id)
        assert row is not None  # a task of a case that exists; cases are never deleted here
        locked.append(row)
    return locked


class _OutOfScope(Exception):
    pass


async def _open_flag(tx: Tx, user: CurrentUser, flag_id: int) -> tuple[DuplicateFlag, list[TaskRow], list[TaskRow]]:
    """The flag locked, still open, with both cases' tasks locked — for a window clerk who works on both cases."""
    found = await flags_store.lock_flag(tx, flag_id)
    if found is None:
        raise NotFound(N_("没有找到该疑似重复记录"))
    later, earlier = await _tasks_locked(tx, found.case_id), await _tasks_locked(tx, found.earlier_case_id)
    if "clerk" not in user.roles or not (
        any(workflow.in_scope(user, t) for t in later) and any(workflow.in_scope(user, t) for t in earlier)
    ):
        raise _OutOfScope
    if found.state != "open":
        decided = {
            "merged": gettext("已合并（保留 %(kept_case_no)s）") % {"kept_case_no": found.kept_case_no},
            "kept": N_("已保留两件"),
        }[found.state]
        raise Conflict(gettext("该疑似重复已处理：%(decided)s") % {"decided": decided}, state=found.state)
    return found, later, earlier


async def merge(
    db: asyncpg.Pool, cipher: PiiCipher, conn: Connection, user: CurrentUser, flag_id: int, keep_case_no: str
) -> DuplicateFlag:
    """合并: the window clerk keeps one case of a flagged pair and withdraws the other (its undecided tasks 已撤回, its
    materials moved to the kept case, its applicant linked to the kept case when a party of it), recorded on both
    timelines and in the audit log."""
    try:
        async with db.acquire() as tx, tx.transaction():
            found, later, earlier = await _open_flag(tx, user, flag_id)
            if keep_case_no not in (found.case_no, found.earlier_case_no):
                raise FieldErrors({"keep": N_("请选择保留哪一件办件")})
            kept, gone = (later, earlier) if keep_case_no == found.case_no else (earlier, later)
            if problem := withdraw_problem(gone, kept):
                raise Conflict(problem)
            kept_case, gone_case = kept[0], gone[0]
            for task in gone:
                step = transition(task.status, WITHDRAW, SYSTEM)
                if step is not None:
                    await store.set_task_status(tx, task.id, step.to, task.due_on, task.due_provisional)
            await consent_flow.release(tx, gone_case.case_id)  # nobody is asked for a withdrawn case's documents
            moved = await store.move_uploads(tx, gone_case.case_id, kept_case.case_id)
            linked_as = await _link_if_party(tx, cipher, kept_case, gone_case.applicant_person_id)
            see = (
                gettext("已并入办件 %(case_no)s 办理，您可在“我的办件”中查看该办件。") % {"case_no": kept_case.case_no}
                if linked_as
                else N_("已有同一事项的申请在办理。如有疑问，请联系综合窗口。")
            )
            await record_event(
                tx,
                case_id=gone_case.case_id,
                status="withdrawn",
                title=N_("经综合窗口核查为重复申请，本件已撤回"),
                actor_account_id=user.account_id,
                note=N_("%(see)s已上传的材料已转入该办件，无需重新提交。") % {"see": see} if moved else see,
            )
            await record_event(
                tx,
                case_id=kept_case.case_id,
                status="duplicate_merged",
                title=N_("综合窗口已核查：同一事项的重复申请已并入本件"),
                actor_account_id=user.account_id,
                note=N_("并入本件的材料 %(moved)s 份") % {"moved": moved} if moved else None,
                notify=False,
            )
            await flags_store.decide(
                tx, found.id, state="merged", kept_case_id=kept_case.case_id, decided_by=user.account_id, note=None
            )
            await audit(
                tx,
                conn,
                "case.duplicate_merge",
                "ok",
                subject=f"case:{gone_case.case_no}",
                kept=kept_case.case_no,
                flag=found.id,
                uploads_moved=moved,
                linked=linked_as is not None,
            )
            decided = await flags_store.lock_flag(tx, found.id)
            assert decided is not None
            return decided
    except _OutOfScope:
        await audit(db, conn, "case.duplicate_merge", "forbidden", subject=f"duplicate:{flag_id}")
        raise Forbidden(N_("这两件办件不都在您的办理范围内，请由受理它们的综合窗口核查")) from None


async def _link_if_party(tx: Tx, cipher: PiiCipher, kept: TaskRow, person_id: int) -> str | None:
    """The withdrawn case's applicant linked to the kept case when they are a party of it (as at a refusal)."""
    if person_id == kept.applicant_person_id:
        return N_("申请人")
    record = await store.staff_case_record(tx, kept.case_no)
    person = await parties.applicant_of(tx, cipher, person_id)
    if record is None or person is None or record.data_enc is None:  # purged past retention: no parties to read
        return None
    form, _ = await forms.merged_form_of(tx, record.life_event_code)  # the kept case's form names its parties (母亲)
    role = await party_role(tx, cipher, form, cipher.decrypt_document(record.data_enc), person)
    if role is not None:
        await store.link_party(tx, kept.case_id, person_id, role)
    return role


async def keep_both(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, flag_id: int, note: str | None
) -> DuplicateFlag:
    """保留两件: not one matter (twins, a sibling, two companies); both go on, recorded on both timelines (in words
    that name no other case: the residents read them) and in the audit log with the clerk's note."""
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise FieldErrors({"note": gettext("核查说明不能超过%(note_max)s个字") % {"note_max": NOTE_MAX}})
    try:
        async with db.acquire() as tx, tx.transaction():
            found, _later, _earlier = await _open_flag(tx, user, flag_id)
            for case_id in (found.case_id, found.earlier_case_id):
                await record_event(
                    tx,
                    case_id=case_id,
                    status="duplicate_kept",
                    title=N_("综合窗口已核查申请信息，继续办理"),
                    actor_account_id=user.account_id,
                    notify=False,
                )
            await flags_store.decide(
                tx, found.id, state="kept", kept_case_id=None, decided_by=user.account_id, note=note
            )
            await audit(
                tx,
                conn,
                "case.duplicate_keep",
                "ok",
                subject=f"case:{found.case_no}",
                earlier=found.earlier_case_no,
                flag=found.id,
            )
            decided = await flags_store.lock_flag(tx, found.id)
            assert decided is not None
            return decided
    except _OutOfScope:
        await audit(db, conn, "case.duplicate_keep", "forbidden", subject=f"duplicate:{flag_id}")
        raise Forbidden(N_("这两件办件不都在您的办理范围内，请由受理它们的综合窗口核查")) from None


# --- migration 0032's data step ---------------------------------------------------------------------------------


async def key_existing_cases(conn: Tx, cipher: PiiCipher, *, batch_size: int = KEY_BATCH) -> int:
    """Every case made before subject keys gets its own (a batch per transaction, in id order; a case no rule applies
    to stays without). Safe to run again: it carries on with the cases still without a key. How many were keyed."""
    keyed, after = 0, 0
    while True:
        async with conn.transaction():
            rows = await store.cases_to_key(conn, after, batch_size)
            keys: list[tuple[int, bytes]] = []
            for row in rows:
                rule = duplicates.rule_for(frozenset(row.item_codes))
                answers = cipher.decrypt_document(row.data_enc) if rule else {}
                text = duplicates.subject_text(rule, answers, _district(row.applicant_region)) if rule else None
                if text is not None:
                    keys.append((row.id, cipher.subject_key(text)))
            if keys:
                await store.set_subject_keys(conn, keys)
        if not rows:
            return keyed
        keyed += len(keys)
        after = rows[-1].id
