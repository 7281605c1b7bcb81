"""Text messages to residents' phones (短信), the app's side: which case steps are texted to whom, at which number,
and the resident's choice on 我的.

The gateways, the queue and the sending are sms/ (the worker process runs it without app/): a case step is queued in
the step's transaction (sms.outbox.enqueue) and sent by the worker with retries; a sign-up code (app.accounts) goes
out at once from the web process through the same backend and the same per-number daily cap (sms.outbox.send_now).
SMS_BACKEND=log (the default, `make run`) writes each text as one line of the server log, the number masked.

Who is texted about a case step (`text_step`): the case's number (the 申请人手机号码 on its form, else the register's
phone) when the applicant has no account or no device receiving push, or chose 每一步都发短信 on 我的; and always for
补正告知 and 办结, which nobody should miss. Besides, a notice that must arrive (app.notifications.service.must_arrive)
is texted once every push to the applicant has failed, whatever their choice: its text (`step_text`) is prepared with
the step and queued by the worker (push.arrival). The text names the case number and the step, and links to the
tracking page: no name, no ID number, nothing a lock screen or a shared phone should not show.
"""

from __future__ import annotations

from app.accounts import service as accounts
from app.notifications.models import CaseAudience
from app.people import service as people
from app.sms import store
from db.pool import DB, Tx
from i18n import N_, _, use_language
from push import subscriptions
from sms import outbox
from sms.models import CaseText

PREFERENCES = {"fallback": N_("仅在无法推送时发短信"), "always": N_("每一步都发短信")}
# Steps texted whatever the preference: the resident must act (补正告知), or the matter is done (办结).
ALWAYS_TEXTED = frozenset({"supplement_requested", "completed"})
# The step as a text names it: short, so that the case number, the step and the link fit in two parts.
STEP_WORDS = {
    "submitted": N_("已提交"),
    "awaiting_consent": N_("待他人授权"),
    "accepted": N_("已受理"),
    "rejected": N_("不予受理"),
    "supplement_requested": N_("需补正材料，请尽快补正"),
    "resubmitted": N_("补正材料已提交"),
    "in_review": N_("正在审核"),
    "approved": N_("已批准"),
    "denied": N_("未予批准"),
    "completed": N_("已办结"),
    "delivered": N_("已出件"),
    "note": N_("有新的办理说明"),
    "withdrawn": N_("已撤回"),
}
OTHER_STEP = N_("有新进度")


# --- case steps -------------------------------------------------------------------------------------------------


async def remember_case_phone(tx: Tx, case_id: int, phone: str | None) -> None:
    """The number the form gave for the applicant (申请人手机号码): the case's steps are texted there."""
    if phone:
        await store.set_case_phone(tx, case_id, phone)


async def forget_case_phones(tx: Tx, case_ids: list[int]) -> set[int]:
    """The numbers cases past their retention were texted at (`python -m app purge`); the cases that had one. The
    texts themselves go with sms/' own retention."""
    return set(await store.delete_case_phones(tx, case_ids))


async def text_step(
    tx: Tx,
    audience: CaseAudience,
    *,
    applicant_person_id: int,
    tracking_token: str,
    event_id: int,
    task_id: int | None,
    status: str,
    case_phone: str | None = None,
) -> int | None:
    """Queue the text of one step, in its transaction, if the applicant is to be texted (the rules above); the id of
    the text queued, or None. `case_phone`: as step_text."""
    if not await _texted(tx, audience, status):
        return None
    text = await step_text(
        tx,
        audience,
        applicant_person_id=applicant_person_id,
        tracking_token=tracking_token,
        event_id=event_id,
        task_id=task_id,
        status=status,
        case_phone=case_phone,
    )
    return await outbox.enqueue(tx, text, urgent=status == "supplement_requested") if text is not None else None


async def step_text(
    tx: Tx,
    audience: CaseAudience,
    *,
    applicant_person_id: int,
    tracking_token: str,
    event_id: int,
    task_id: int | None,
    status: str,
    case_phone: str | None = None,
) -> CaseText | None:
    """The text of one step, to the case's number (None: the case has no number to text). text_step queues it at
    once; a notice that must arrive keeps it, to be queued if every push fails (push.arrival). `case_phone`: the
    case's number as the caller has just remembered it (a new case's first step), not read back."""
    phone = case_phone or await store.case_phone(tx, audience.case_id) or await people.phone_of(tx, applicant_person_id)
    if phone is None:
        return None
    return CaseText(
        phone=phone,
        case_id=audience.case_id,
        event_id=event_id,
        case_no=audience.case_no,
        step=STEP_WORDS.get(status, OTHER_STEP),
        step_en=_step_in(audience.language_of(audience.applicant_account_id), status),
        tracking_path=f"/t/{tracking_token}",
        once_key=f"{audience.case_id}:{task_id or 0}:{status}",
    )


def _step_in(language: str | None, status: str) -> str | None:
    """The step in the language the applicant's account reads, for a text in it (sms/texts.py's kinds); None:
    Chinese, the text of record."""
    if language != "en":
        return None
    with use_language(language):
        return _(STEP_WORDS.get(status, OTHER_STEP))


async def _texted(db: DB, audience: CaseAudience, status: str) -> bool:
    """The applicant's choice came with the audience (app.cases.timeline): only whether a device of theirs receives
    push is read here."""
    account_id = audience.applicant_account_id
    if status in ALWAYS_TEXTED or account_id is None:
        return True
    if audience.applicant_sms_preference == "always":
        return True
    return not await subscriptions.has_device(db, account_id)


async def set_preference(account_id: int, preference: str, *, db: DB) -> None:
    """An unknown value (a forged form) keeps the default: texts only when push cannot reach the resident."""
    await accounts.set_sms_preference(db, account_id, preference if preference in PREFERENCES else "fallback")
