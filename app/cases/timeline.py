"""Every timeline event of a case is written here, and only here, inside the caller's transaction —
so whatever must happen with an event (the notifications to the resident's devices, the webhooks of the departments'
systems, the text to the case's phone, following a notice that must arrive) happens once, atomically with it. Who hears
of it is decided here too (_audience, _webhook_events; texts: app.sms.service.text_step; which notices must arrive:
app.notifications.service.must_arrive)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.accounts import service as accounts
from app.cases import offices, store, tracking
from app.cases.models import CaseParties, TaskRow
from app.cases.states import RESIDENT
from app.delegations import service as delegations
from app.notifications.models import CaseAudience
from app.notifications.service import follow_notice, must_arrive, notify_event
from app.organisations import service as organisations
from app.sms import service as sms
from db.pool import Tx
from hooks import outbox as hooks
from hooks.models import Event
from push.models import NoticeToFollow


async def record_event(
    tx: Tx,
    *,
    case_id: int,
    status: str,
    title: str,
    title_params: Mapping[str, object] | None = None,
    task_id: int | None = None,
    department_code: str | None = None,
    actor_account_id: int | None = None,
    note: str | None = None,
    notify: bool = True,
    result_to_collect: bool = False,
    visibility: str = RESIDENT,
    new_tasks: Sequence[TaskRow] | None = None,
    parties: CaseParties | None = None,
) -> int:
    """`notify`: False for a step that is the back office's own business (a 督办): on the case's timeline and its
    tracking page, but no push to the resident and no webhook. `result_to_collect`: a 办结 whose result waits for the
    resident at the window (app.cases.workflow), which must reach them as a 补正告知 must. `visibility`: INTERNAL for a
    step only staff read (an internal note, a 征求意见): it reaches no resident-facing page, tracking snapshot, inbox,
    push, text or webhook. `title_params`: `title` is a marked text with %(name)s in it (i18n): the timeline keeps it
    filled in Chinese, each recipient's notice fills it in their language. `new_tasks`: a new case's tasks as just made
    in this transaction (its first step: the departments' systems hear of each, and its tracking snapshot is drawn from
    them), so they are not read again; `parties` likewise, whose the new case is (and the number it is texted at)."""
    shown = title % title_params if title_params is not None else title
    if new_tasks and task_id is None and department_code is None and visibility == RESIDENT:
        # A new case's first step: its tracking snapshot is drawn from its tasks as just made, not read back, and
        # saved with the step.
        snapshot = tracking.first_snapshot(case_id, new_tasks, title=shown, status=status, has_note=note is not None)
        event_id = await store.append_first_event(
            tx,
            case_id=case_id,
            status=status,
            title=shown,
            actor_account_id=actor_account_id,
            note=note,
            at=new_tasks[0].submitted_at,
            tracking_json=snapshot,
        )
    else:
        event_id = await store.append_event(
            tx,
            case_id=case_id,
            status=status,
            title=shown,
            task_id=task_id,
            department_code=department_code,
            actor_account_id=actor_account_id,
            note=note,
            visibility=visibility,
        )
        if visibility != RESIDENT:
            return event_id
        # The public tracking snapshot now shows this step too.
        await tracking.refresh(tx, case_id)
    if not notify:
        return event_id
    # The inbox entries and one push job per recipient device, committed (or not) with the event.
    case = parties if parties is not None else await store.case_parties(tx, case_id)
    audience = await _audience(tx, case_id, case)
    await notify_event(tx, audience, event_id=event_id, status=status, title=title, title_params=title_params)
    # A text to the case's phone when the applicant would not hear otherwise (app.sms decides), queued likewise.
    text_id = await sms.text_step(
        tx,
        audience,
        applicant_person_id=case.applicant_person_id,
        tracking_token=case.tracking_token,
        event_id=event_id,
        task_id=task_id,
        status=status,
        case_phone=case.phone,
    )
    if must_arrive(status, result_to_collect=result_to_collect):
        # Followed until it has reached them; a text is prepared now, for the worker to queue if every push fails.
        fallback = None
        if text_id is None:
            fallback = await sms.step_text(
                tx,
                audience,
                applicant_person_id=case.applicant_person_id,
                tracking_token=case.tracking_token,
                event_id=event_id,
                task_id=task_id,
                status=status,
                case_phone=case.phone,
            )
        notice = NoticeToFollow(
            event_id=event_id,
            case_id=case_id,
            case_no=case.case_no,
            task_id=task_id,
            region_code=await _follow_up_region(tx, case, task_id),
            title=shown,
            account_id=audience.applicant_account_id,
            text_id=text_id,
            fallback=fallback,
        )
        await follow_notice(tx, notice)
    # The departments' systems that subscribed hear of their tasks' steps (hooks/: queued in this transaction).
    await hooks.emit(tx, await _webhook_events(tx, case_id, task_id, status, event_id, new_tasks))
    return event_id


async def _follow_up_region(tx: Tx, case: CaseParties, task_id: int | None) -> str:
    """Whose clerks follow the notice up if it does not arrive (app.cases.offices.follow_up_region); the task is read
    only for a resident the register places nowhere, whose case came in online."""
    if case.applicant_region or case.received_region or task_id is None:
        return offices.follow_up_region(case.applicant_region, case.received_region, None)
    task = await store.get_task(tx, task_id)
    return offices.follow_up_region(case.applicant_region, None, task.office_region if task else None)


async def _webhook_events(
    tx: Tx, case_id: int, task_id: int | None, status: str, event_id: int, new_tasks: Sequence[TaskRow] | None
) -> list[Event]:
    """A new case: task.created for each of its tasks, to its department; a task opened on a case already there (a
    correction, 更正) likewise; a case withdrawn as a duplicate (一事不二办): task.updated for each task withdrawn. A
    task's step: task.resubmitted when the resident answered a 补正告知, else task.updated. No personal data: the
    system reads the task with its token."""
    if task_id is None:
        if status == "submitted":
            tasks = new_tasks if new_tasks is not None else await store.tasks_of_case(tx, case_id)
            return [_webhook_event("task.created", t, event_id) for t in tasks]
        if status == "withdrawn":
            tasks = await store.tasks_of_case(tx, case_id)
            return [_webhook_event("task.updated", t, event_id) for t in tasks if t.status == "withdrawn"]
        return []
    task = await store.get_task(tx, task_id)
    if task is None:
        return []
    if status == "submitted" and task.corrects_certificate_id is not None:
        return [_webhook_event("task.created", task, event_id)]  # (a task granted consent is 申办 again: updated)
    return [_webhook_event("task.resubmitted" if status == "resubmitted" else "task.updated", task, event_id)]


def _webhook_event(kind: str, task: TaskRow, event_id: int) -> Event:
    return Event(
        type=kind,
        department_code=task.department_code,
        office_region=task.office_region,
        data={
            "task_id": task.id,
            "case_no": task.case_no,
            "item_code": task.item_code,
            "status": task.status,
            "timeline_event_id": event_id,
        },
    )


async def _audience(tx: Tx, case_id: int, case: CaseParties) -> CaseAudience:
    """The applicant's own account (if they have signed up; for a minor child without one, the parent who filed), and
    the village helper who filed the case while the applicant's delegation to them is still live (in whatever scope:
    they follow what they filed); for an organisation's case, its legal representative and 经办人 in scope; and the
    parties linked to it (一事不二办: refused as a duplicate, or merged into it), who read it."""
    languages: dict[int, str | None] = {}
    member_ids: list[int] = []
    if case.subject_org_credit_code is not None:
        member_ids = await organisations.members(tx, case.subject_org_credit_code, case.life_event_code)
    # Everyone's account in one read, however many members and linked parties the case has.
    signed_up = await accounts.resident_accounts_of(
        tx, [case.applicant_person_id, *member_ids, *case.linked_person_ids]
    )
    account = signed_up.get(case.applicant_person_id)
    sms_preference = "fallback"
    if account is None and case.filed_as == "parent":  # a minor child without an account: the parent who filed
        applicant_account_id: int | None = case.filed_by_account_id
    else:
        applicant_account_id = account.id if account else None
        if account is not None:
            languages[account.id] = account.language
            sms_preference = account.sms_preference
    helper = case.filed_by_account_id if case.filed_as == "helper" else None
    if helper is not None and not await delegations.is_live(tx, helper, case.applicant_person_id):
        helper = None
    members: list[int] = []
    for person_id in member_ids:
        if (member := signed_up.get(person_id)) is not None:
            members.append(member.id)
            languages[member.id] = member.language
    linked: list[int] = []
    for person_id in case.linked_person_ids:
        if (party := signed_up.get(person_id)) is not None:
            linked.append(party.id)
            languages[party.id] = party.language
    # The parent or helper who filed: their language (and the parent's 短信提醒) in one query (the others' came with
    # their accounts).
    filers = [a for a in (applicant_account_id, helper) if a is not None and a not in languages]
    for account_id, chosen in (await accounts.notice_choices_of(tx, filers)).items():
        languages[account_id] = chosen.language
        if account_id == applicant_account_id:
            sms_preference = chosen.sms_preference
    return CaseAudience(
        case_id=case_id,
        case_no=case.case_no,
        life_event_name=case.life_event_name,
        applicant_account_id=applicant_account_id,
        helper_account_id=helper,
        organisation_account_ids=members,
        linked_account_ids=linked,
        languages=languages,
        applicant_sms_preference=sms_preference,
    )
