"""未送达: notices that must arrive (app.notifications.service.must_arrive) which neither push nor a text delivered, on
the console of the clerks who serve the resident's region (for a resident the register places nowhere, the receiving
hall's or the handling office's: app.cases.offices.follow_up_region). A clerk phones the resident or posts (or hands
over) a paper notice and records it here: on the case's timeline and so its tracking page, in the audit log, and on the
notice, which then counts as delivered (电话 / 纸质通知) and leaves the list."""

from __future__ import annotations

import asyncpg

from app.cases import service as cases
from app.errors import Conflict, FieldErrors, Forbidden, NotFound
from app.notifications import service as notifications
from app.notifications import titles
from app.notifications.models import StaffNotice
from app.web.types import Connection
from auth.audit import audit
from auth.models import CurrentUser
from auth.scope import region_prefix, serves
from i18n import N_, _

# What the timeline says a clerk did, by channel.
BY_HAND_STEPS = {"phone": titles.TOLD_BY_PHONE, "paper": titles.TOLD_ON_PAPER}


class _OutOfScope(Exception):
    pass


async def undelivered_for(db: asyncpg.Pool, user: CurrentUser) -> list[StaffNotice]:
    """The notices a window clerk is to follow up: those whose follow-up region is within the hall's; nobody else's."""
    if "clerk" not in user.roles or not user.region_code:
        return []
    return await notifications.undelivered_notices(db, region_prefix(user.region_code))


def _checked(channel: str, note: str | None) -> str | None:
    if channel not in BY_HAND_STEPS:
        raise FieldErrors({"channel": N_("请选择告知方式：电话或纸质通知")})
    note = (note or "").strip() or None
    if note and len(note) > notifications.BY_HAND_NOTE_MAX:
        raise FieldErrors({"note": _("说明不能超过%(n)s个字") % {"n": notifications.BY_HAND_NOTE_MAX}})
    return note


async def record_by_hand(
    db: asyncpg.Pool, conn: Connection, user: CurrentUser, notice_id: int, channel: str, note: str | None
) -> StaffNotice:
    """A clerk of the resident's region reached them by phone or with a paper notice: recorded on the notice, the case's
    timeline and the audit log in one transaction. Another region's notice is Forbidden (audited); one recorded
    already is a Conflict."""
    note = _checked(channel, note)
    try:
        async with db.acquire() as tx, tx.transaction():
            notice = await notifications.notice_to_record(tx, notice_id)
            if notice is None:
                raise NotFound(N_("没有找到该通知"))
            if not serves(user.region_code, notice.region_code):
                raise _OutOfScope
            recorded = await notifications.record_by_hand(
                tx, notice_id, channel=channel, account_id=user.account_id, note=note
            )
            if recorded is None:
                raise Conflict(N_("这条通知已记录过电话或书面告知"))
            await cases.record_notice_by_hand(
                tx,
                case_id=notice.case_id,
                task_id=notice.task_id,
                title=BY_HAND_STEPS[channel] % {"notice": notice.title},
                actor_account_id=user.account_id,
            )
            await audit(
                tx, conn, "notice.by_hand", "ok", subject=f"case:{notice.case_no}", notice=notice_id, channel=channel
            )
            return recorded
    except _OutOfScope:
        # Audited outside the rolled-back transaction, so the record of the attempt survives.
        await audit(db, conn, "notice.by_hand", "forbidden", subject=f"notice:{notice_id}")
        raise Forbidden(N_("该通知的申请人不在您的服务范围内")) from None
