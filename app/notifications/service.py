"""What a timeline event (or a notice about the account) tells the resident, their inbox, and the devices they
allowed to be notified."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg
import msgspec

from app.errors import Conflict, FieldErrors, Forbidden
from app.notifications import titles
from app.notifications.models import CaseAudience, Inbox, NoticeDelivery, Reached, StaffNotice, Subscribed
from app.web.types import Connection
from auth import ratelimit
from auth.audit import audit, client_ip
from auth.models import CurrentUser
from config.settings import Settings
from db.pool import DB, Tx
from i18n import N_, _, use_language
from push import arrival, inbox, outbox, subscriptions
from push.models import Arrival, Device, Message, Notice, NoticeToFollow, ReplaceSubscriptionBody, SubscriptionBody
from push.subscriptions import endpoint_problem, keys_problem, same_auth_secret

# Steps where the resident has to do something: pushed with Urgency: high and marked in the inbox.
NEEDS_ACTION = frozenset({"supplement_requested"})
# Notices that must arrive (必达通知): followed until they are known to have reached the resident — push, else a text,
# else a clerk's phone call or paper notice (push/arrival.py). The resident must act (补正告知), or was refused and may
# fix and file again or contest it within its time (不予受理, 不予批准); 办结 too when a result waits at the window.
MUST_ARRIVE = frozenset({"supplement_requested", "rejected", "denied"})
USER_AGENT_MAX = 300
INBOX_LIMIT = 100
NOT_PROVEN = N_("无法确认这台设备原来的提醒订阅，请打开“我的”页面重新开启办理进度提醒")
OTHER_ACCOUNT = N_("这台设备的提醒目前发给另一个账号，点“开启办理进度提醒”可改为提醒您")
NOT_THIS_DEVICE = N_(
    "这个推送地址已登记在另一个账号下，且无法确认是同一台设备，未能改为提醒您。"
    "请在浏览器的网站设置里关闭本站通知，再重新允许并点“开启办理进度提醒”"
)
CHANGED_MEANWHILE = N_("这台设备的提醒刚被另一个账号开启，请刷新页面后再试")

# A notification's status (DESIGN: Notification) as the resident reads it.
DELIVERY_WORDS = {
    "created": N_("等待推送"),
    "sending": N_("正在推送"),
    "delivered": N_("已推送"),
    "temporary-failure": N_("推送未成功，稍后重试"),
    "permanent-failure": N_("设备已失效"),
    "technical-failure": N_("推送失败"),
}
# Names people know the push services by, for the device list on 我的.
PUSH_SERVICE_NAMES = {
    "fcm.googleapis.com": N_("Chrome / 安卓"),
    "updates.push.services.mozilla.com": "Firefox",
    "web.push.apple.com": "Safari / iPhone",
}


def message_for(
    *,
    case_id: int,
    case_no: str,
    life_event_name: str,
    event_id: int,
    status: str,
    title: str,
    title_params: Mapping[str, object] | None = None,
    linked: bool = False,
) -> Message:
    """The words of one event, for the lock screen and the inbox, in the current language (notify_event draws each
    recipient's in theirs). Only the public step title goes out, never the staff's note: a lock screen is seen by
    others, and the note is one tap away. `linked`: to a party linked to the case (一事不二办), who reads it but is
    never asked to act on it."""
    needs_action = status in NEEDS_ACTION and not linked
    names = {"name": _(life_event_name), "title": step_title(title, title_params), "case_no": case_no}
    if needs_action:
        heading = _("请补正材料：%(name)s") % names
        body = _("%(title)s。请打开办件查看需要补正的内容并重新提交（办件编号 %(case_no)s）") % names
    else:
        heading = _("办件进度：%(name)s") % names
        body = _("%(title)s（办件编号 %(case_no)s）") % names
    return Message(
        case_id=case_id,
        case_no=case_no,
        event_id=event_id,
        title=heading,
        body=body,
        url=f"/cases/{case_no}",
        needs_action=needs_action,
    )


def step_title(title: str, params: Mapping[str, object] | None = None) -> str:
    """A timeline step's title in the current language, the one way every page and notice draws one. With `params`,
    `title` is a marked text to fill in (app.cases.timeline.record_event, as a step is recorded); without, a title as
    stored, in Chinese, read back through its template (app.notifications.titles). The filled-in parts are drawn in
    the current language where they are catalogue names or marked texts; a name stays as written."""
    if params is not None:
        return _(title) % {name: titles.part(value) for name, value in params.items()}
    return titles.read(title)


def must_arrive(status: str, *, result_to_collect: bool = False) -> bool:
    """Whether the notice of this step must reach the resident (the one rule: app.cases.timeline follows it).
    `result_to_collect`: a 办结 whose result waits for the resident at the window (app.cases.workflow says)."""
    return status in MUST_ARRIVE or (status == "completed" and result_to_collect)


def may_have_followed(statuses: Iterable[str]) -> bool:
    """Whether a case whose steps have these statuses may have a notice that must arrive: one of them is a step whose
    notice must arrive (must_arrive, whatever its result). app.cases.timeline follows a notice only in the transaction
    of its own step, so a case with no such step has none, and its page reads none (deliveries_of_case)."""
    return any(must_arrive(status, result_to_collect=True) for status in statuses)


async def notify_event(
    tx: Tx,
    audience: CaseAudience,
    *,
    event_id: int,
    status: str,
    title: str,
    title_params: Mapping[str, object] | None = None,
) -> None:
    """Called by app.cases.timeline.record_event for every event, inside its transaction. Each recipient reads it in
    the language their account chose (the audience carries it): the inbox keeps the words as drawn, as they went to
    the lock screen."""

    def words(linked: bool, language: str | None) -> Message:
        with use_language(language):
            return message_for(
                case_id=audience.case_id,
                case_no=audience.case_no,
                life_event_name=audience.life_event_name,
                event_id=event_id,
                status=status,
                title=title,
                title_params=title_params,
                linked=linked,
            )

    applicant = [audience.applicant_account_id] if audience.applicant_account_id is not None else []
    members = [a for a in audience.organisation_account_ids if a not in applicant]
    for language, accounts in _by_language(audience, applicant + members).items():
        await outbox.enqueue(tx, words(False, language), accounts)
    # The parties linked to the case (一事不二办) read it: told of its steps in words that never ask them to act.
    told = {*applicant, *members, audience.helper_account_id}
    linked = [a for a in dict.fromkeys(audience.linked_account_ids) if a not in told]
    for language, accounts in _by_language(audience, linked).items():
        await outbox.enqueue(tx, words(True, language), accounts)
    if audience.helper_account_id is not None:
        # The helper follows the client's case too; their page for it is the printable receipt.
        message = words(False, audience.language_of(audience.helper_account_id))
        helper_message = msgspec.structs.replace(message, url=f"/helper/cases/{audience.case_no}/receipt")
        await outbox.enqueue(tx, helper_message, [audience.helper_account_id])


def _by_language(audience: CaseAudience, account_ids: list[int]) -> dict[str | None, list[int]]:
    """Recipients grouped by the language they read, in their order: one message drawn per language."""
    groups: dict[str | None, list[int]] = {}
    for account_id in account_ids:
        groups.setdefault(audience.language_of(account_id), []).append(account_id)
    return groups


async def notify_account(tx: Tx, account_id: int, *, title: str, body: str, url: str) -> None:
    """Tell the owner of an account about something that happened to the account itself rather than to a case:
    an inbox entry, and a push to each of their devices. Call it inside the transaction of what it reports, so
    that a notice is never sent for something rolled back, nor lost for something committed.

    The words go to a lock screen too: name the account's own events, staff and halls, never the holder's ID
    number, address or anything a case step would not show."""
    await outbox.enqueue_notice(tx, Notice(title=title, body=body, url=url), account_id)


# --- notices that must arrive -------------------------------------------------------------------------------------

ARRIVAL_STATES = {"sending": N_("正在送达"), "delivered": N_("已送达"), "undelivered": N_("未送达")}
# How each channel is named where a notice says how it reached the resident.
ARRIVAL_CHANNELS = {
    "push": N_("推送"),
    "sms": N_("短信"),
    "phone": N_("电话"),
    "paper": N_("纸质通知"),
    "inbox": N_("站内信"),
}
BY_HAND = {"phone": N_("已电话告知"), "paper": N_("已送达纸质通知")}
BY_HAND_NOTE_MAX = 200


async def follow_notice(tx: Tx, notice: NoticeToFollow) -> None:
    """Follow a notice that must arrive until it has (push.arrival), in its timeline event's transaction."""
    await arrival.follow(tx, notice)


def _delivery(row: Arrival) -> NoticeDelivery:
    reached = [
        Reached(channel=channel, label=_(ARRIVAL_CHANNELS[channel]), at=at)
        for channel, at in (("push", row.pushed_at), ("sms", row.texted_at), (row.by_hand, row.by_hand_at))
        if channel is not None and at is not None
    ]
    reached.sort(key=lambda r: r.at)
    if row.in_inbox:  # in 消息 from the moment it went out, whatever the other channels did
        reached.append(Reached(channel="inbox", label=_(ARRIVAL_CHANNELS["inbox"]), at=row.issued_at))
    return NoticeDelivery(
        title=step_title(row.title),  # kept in Chinese, shown in the reader's language
        issued_at=row.issued_at,
        state=row.state,
        state_label=_(ARRIVAL_STATES[row.state]),
        reached=reached,
    )


def _staff_notice(row: Arrival) -> StaffNotice:
    return StaffNotice(
        id=row.id,
        case_no=row.case_no,
        task_id=row.task_id,
        delivery=_delivery(row),
        failure=arrival.failure_text(row.failure) if row.failure else None,
        undelivered_at=row.undelivered_at,
        by_hand_note=row.by_hand_note,
    )


async def deliveries_of_case(db: DB, case_id: int) -> list[NoticeDelivery]:
    """How each notice of a case that must arrive reached the resident: for their case page and the tracking page."""
    return [_delivery(row) for row in await arrival.of_case(db, case_id)]


async def staff_notices_of_case(db: DB, case_id: int) -> list[StaffNotice]:
    return [_staff_notice(row) for row in await arrival.of_case(db, case_id)]


async def undelivered_notices(db: DB, region_prefix: str) -> list[StaffNotice]:
    """未送达: notices no channel could deliver to residents of a region, for its clerks to phone or post."""
    return [_staff_notice(row) for row in await arrival.undelivered(db, region_prefix)]


async def notice_to_record(tx: Tx, notice_id: int) -> Arrival | None:
    """A notice, locked for a clerk's record of a phone call or paper notice."""
    return await arrival.lock(tx, notice_id)


async def record_by_hand(
    tx: Tx, notice_id: int, *, channel: str, account_id: int, note: str | None
) -> StaffNotice | None:
    """The clerk's phone call or paper notice (the caller checked who and where); None: one was recorded already."""
    row = await arrival.record_by_hand(tx, notice_id, channel=channel, account_id=account_id, note=note)
    return _staff_notice(row) if row is not None else None


async def notify_reminder(tx: Tx, account_id: int, *, title: str, body: str, url: str) -> None:
    """A reminder now (预约提醒 in 消息: an appointment booked, moved or cancelled for the resident by someone else), in
    the transaction of what it reports. The same care for the lock screen as notify_account."""
    await outbox.enqueue_notice(tx, Notice(title=title, body=body, url=url), account_id, "reminder")


async def schedule_reminder(
    tx: Tx, account_id: int, *, key: str, due_at: datetime, title: str, body: str, url: str
) -> None:
    """A reminder at `due_at` (an appointment's, the day before), kept under `key` with what it reminds of, in the same
    transaction: a worker sends it then, once, into the inbox and to the devices (push.scheduled). Scheduling under the
    same key and account again replaces it."""
    await outbox.schedule_notice(tx, Notice(title=title, body=body, url=url), account_id, key=key, due_at=due_at)


async def cancel_reminders(tx: Tx, key: str) -> None:
    """The reminders still pending under `key` are not sent (what they remind of was cancelled or moved)."""
    await outbox.cancel_scheduled(tx, key)


async def inbox_of(db: DB, user: CurrentUser, limit: int = INBOX_LIMIT) -> Inbox:
    items = await inbox.entries_of(db, user.account_id, limit)
    return Inbox(unread=await inbox.unread_count(db, user.account_id), items=items)


async def unread_count(db: DB, user: CurrentUser) -> int:
    return await inbox.unread_count(db, user.account_id)


async def mark_read(db: DB, user: CurrentUser, ids: list[int] | None) -> int:
    return await inbox.mark_read(db, user.account_id, ids)


async def open_entry(db: DB, user: CurrentUser, entry_id: int) -> str | None:
    return await inbox.open_entry(db, user.account_id, entry_id)


# --- devices ----------------------------------------------------------------------------------------


def _subscription_problems(body: SubscriptionBody, settings: Settings, prefix: str = "") -> dict[str, str]:
    """Per-field reasons (in Chinese) to refuse a subscription: its keys, and an endpoint we may POST to."""
    problems = keys_problem(body.keys)
    if problem := endpoint_problem(body.endpoint, settings.push_allowed_hosts):
        problems["endpoint"] = problem
    return {prefix + name: text for name, text in problems.items()}


def _listed(problems: dict[str, str]) -> str:
    """The fields' reasons in one sentence, in the reader's language."""
    return _("；").join(_(text) for text in problems.values())


def _push_service(endpoint: str) -> str:
    """The endpoint's host, which names the push service on the device list."""
    return (urlsplit(endpoint).hostname or "").lower()


def _refuse_if_unusable(body: SubscriptionBody, settings: Settings) -> None:
    if problems := _subscription_problems(body, settings):
        raise FieldErrors(problems, detail=_("无法开启提醒：%(problems)s") % {"problems": _listed(problems)})


async def _save(
    db: DB, user: CurrentUser, body: SubscriptionBody, user_agent: str, *, take_over: bool = False
) -> Subscribed:
    subscription_id = await subscriptions.save(
        db,
        account_id=user.account_id,
        endpoint=body.endpoint,
        push_service=_push_service(body.endpoint),
        p256dh=body.keys.p256dh,
        auth=body.keys.auth,
        user_agent=user_agent[:USER_AGENT_MAX],
        take_over=take_over,
    )
    if subscription_id is None:  # another account stored this endpoint between our look and our write
        raise Conflict(CHANGED_MEANWHILE)
    return Subscribed(id=subscription_id)


async def subscribe(
    db: asyncpg.Pool, settings: Settings, conn: Connection, user: CurrentUser, body: SubscriptionBody, user_agent: str
) -> Subscribed:
    """The resident turned reminders on for this device (a click): stored, re-keyed, or taken over from another
    account that subscribed the same browser before (a shared phone).

    Taking a device over needs its auth secret, as /replace does: only the browser that holds the subscription
    knows it, whereas an endpoint URL may leak (a log, a proxy), and knowing one must not redirect someone's
    notifications. A wrong secret is refused, audited and counted with /replace's failed proofs (per address;
    only takeovers are held back once the limit is reached, so a shared address never stops anyone turning on
    a device of their own)."""
    _refuse_if_unusable(body, settings)
    limit = ratelimit.push_replace_subject(client_ip(conn))
    async with db.acquire() as tx, tx.transaction():
        held = await subscriptions.held_at(tx, body.endpoint)
        if held is None or held.account_id == user.account_id:
            return await _save(tx, user, body, user_agent)
        await ratelimit.refuse_if_limited(tx, [limit])
        if same_auth_secret(held.auth, body.keys.auth):
            moved = await _save(tx, user, body, user_agent, take_over=True)
            await audit(
                tx,
                conn,
                "push.subscribe",
                "ok",
                subject=f"push_subscription:{held.id}",
                reason="taken over with its auth secret",
                previous_account=held.account_id,
            )
            return moved
    await ratelimit.record_failure(db, [limit])
    await audit(
        db, conn, "push.subscribe", "forbidden", subject=f"push_subscription:{held.id}", reason="auth secret differs"
    )
    raise Forbidden(NOT_THIS_DEVICE)


async def resync(
    db: asyncpg.Pool, settings: Settings, user: CurrentUser, body: SubscriptionBody, user_agent: str
) -> Subscribed:
    """A page confirming, without a click, the subscription its browser holds: this account's device as it is
    (nothing written, so its failure count stays), refreshed, or stored again if we lost it (removed after a
    410, cleared from another device, a restored database). A device of another account, signed in on the same
    browser before, is left alone (Conflict): taking it over needs the resident's click on 开启办理进度提醒."""
    _refuse_if_unusable(body, settings)
    async with db.acquire() as tx, tx.transaction():
        held = await subscriptions.held_at(tx, body.endpoint)
        if held is not None and held.account_id != user.account_id:
            raise Conflict(OTHER_ACCOUNT)
        if held is not None and same_auth_secret(held.auth, body.keys.auth):
            return Subscribed(id=held.id)
        return await _save(tx, user, body, user_agent)


async def replace_subscription(
    db: asyncpg.Pool, settings: Settings, body: ReplaceSubscriptionBody, address: str | None
) -> Subscribed:
    """The browser replaced a device's subscription (the service worker's `pushsubscriptionchange`): move
    that device, for the same account, to the new subscription.

    The caller is whoever presents the old endpoint with its auth secret, which only the device and we
    know; no session is needed. The new subscription passes the same checks as on subscribing. Failed
    proofs are counted per address and refused for a while past auth.ratelimit's limit."""
    subject = ratelimit.push_replace_subject(address)
    await ratelimit.refuse_if_limited(db, [subject])
    if problems := _subscription_problems(body.subscription, settings, prefix="subscription."):
        raise FieldErrors(problems, detail=_("无法更新提醒：%(problems)s") % {"problems": _listed(problems)})
    try:
        return await _move_device(db, body)
    except Forbidden:
        await ratelimit.record_failure(db, [subject])
        raise


async def _move_device(db: asyncpg.Pool, body: ReplaceSubscriptionBody) -> Subscribed:
    new = body.subscription
    async with db.acquire() as tx, tx.transaction():
        old = await subscriptions.held_at(tx, body.old_endpoint)
        if old is None or not same_auth_secret(old.auth, body.old_auth):
            # The same report sent again after its answer was lost: the device already holds the new
            # subscription's secret, which proves it just as well; nothing changes.
            current = await subscriptions.held_at(tx, new.endpoint)
            if current is not None and same_auth_secret(current.auth, new.keys.auth):
                return Subscribed(id=current.id)
            # One answer for an unknown endpoint and a wrong secret: nothing tells which endpoints exist.
            raise Forbidden(NOT_PROVEN)
        if new.endpoint != body.old_endpoint:
            taken = await subscriptions.held_at(tx, new.endpoint)
            if taken is not None and taken.account_id != old.account_id:
                # Proving the old subscription says nothing about someone else's device.
                raise Conflict(N_("这个推送地址已登记在其他账号下，请在页面上重新开启提醒"))
            if taken is not None:
                # A page of the same account saved the new subscription first: that device row stays.
                await subscriptions.forget(tx, old.id)
                return Subscribed(id=taken.id)
        await subscriptions.move(
            tx,
            old.id,
            endpoint=new.endpoint,
            push_service=_push_service(new.endpoint),
            p256dh=new.keys.p256dh,
            auth=new.keys.auth,
        )
        return Subscribed(id=old.id)


async def unsubscribe(db: DB, user: CurrentUser, endpoint: str) -> bool:
    return await subscriptions.forget_endpoint(db, user.account_id, endpoint)


async def remove_device(db: DB, user: CurrentUser, device_id: int) -> bool:
    return await subscriptions.forget_device(db, user.account_id, device_id)


async def devices_of(db: DB, user: CurrentUser) -> list[Device]:
    return await subscriptions.devices_of(db, user.account_id)


def push_service_name(host: str) -> str:
    """The browser family behind a push service, e.g. 「Chrome / 安卓」."""
    if host.endswith(".notify.windows.com"):
        return "Edge / Windows"
    return _(PUSH_SERVICE_NAMES[host]) if host in PUSH_SERVICE_NAMES else host


def _platform(user_agent: str) -> str | None:
    for marker, name in (
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", N_("安卓手机")),
        ("Windows", N_("Windows 电脑")),
        ("Macintosh", N_("Mac 电脑")),
        ("Linux", N_("Linux 电脑")),
    ):
        if marker in user_agent:
            return _(name)
    return None


def device_name(device: Device) -> str:
    """How the owner recognises a device in the list on 我的: 「安卓手机 · Chrome / 安卓」."""
    service = push_service_name(device.push_service)
    platform = _platform(device.user_agent)
    return f"{_(platform)} · {service}" if platform else service
