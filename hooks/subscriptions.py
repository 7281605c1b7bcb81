"""A client's webhook subscriptions, as the data-exchange API (app/exchange) manages them: made with a signing secret
shown once, listed, deleted (its delivery log stays readable), and all ended when the client is revoked."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from db.pool import DB, Tx
from hooks import store
from hooks.models import EVENTS, Delivery, NewSubscription, Recovered, Subscription
from hooks.targets import url_problem

MAX_PER_CLIENT = 10
# Failed deliveries queued again by one recover call: a day's events of a busy office; the answer says how many wait.
RECOVER_MAX = 1000


async def problems(db: DB, client_id: str, url: str, events: list[str], allowed: tuple[str, ...]) -> dict[str, str]:
    """What is wrong with a subscription a client asks for, per field, in Chinese (empty: nothing)."""
    found: dict[str, str] = {}
    if problem := url_problem(url, allowed):
        found["url"] = problem
    unknown = [e for e in events if e not in EVENTS]
    if not events or unknown:
        found["events"] = f"请从以下事件中选择：{', '.join(EVENTS)}" + (
            f"（不支持：{', '.join(unknown)}）" if unknown else ""
        )
    if await store.count_live(db, client_id) >= MAX_PER_CLIENT:
        found["url"] = f"每个客户端最多{MAX_PER_CLIENT}个订阅，请先删除不用的订阅"
    return found


async def subscribe(
    db: DB, *, client_id: str, department_code: str, region_prefix: str, url: str, events: list[str]
) -> NewSubscription:
    """A subscription already checked (problems); its secret (whsec_…, Standard Webhooks' form) is in the answer."""
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    made = await store.insert_subscription(
        db,
        client_id=client_id,
        department_code=department_code,
        region_prefix=region_prefix,
        url=url,
        events=sorted(set(events)),
        secret=secret,
    )
    return NewSubscription(id=made.id, url=made.url, events=made.events, created_at=made.created_at, secret=secret)


async def subscriptions_of(db: DB, client_id: str) -> list[Subscription]:
    return await store.subscriptions_of(db, client_id)


async def unsubscribe(db: DB, client_id: str, subscription_id: int) -> bool:
    """Stop sending to it (deliveries still queued are dropped when their turn comes); False: no such subscription."""
    return await store.disable(db, client_id, subscription_id)


async def end_all_of(db: DB, client_id: str) -> int:
    """A revoked client hears of nothing more."""
    return await store.disable_all_of(db, client_id)


async def deliveries(
    db: DB, client_id: str, subscription_id: int, after_id: int | None, limit: int
) -> list[Delivery] | None:
    """A page of the subscription's delivery log, oldest first; None when it is not the client's."""
    if not await store.owns(db, client_id, subscription_id):
        return None
    return await store.deliveries_of(db, subscription_id, after_id, limit)


async def recover(tx: Tx, client_id: str, subscription_id: int, since: datetime) -> Recovered | None:
    """The subscription's failed deliveries made since `since`, sent again from their first try (in the caller's
    transaction, their jobs with them); None when the client has no such live subscription."""
    if not await store.is_live(tx, client_id, subscription_id):
        return None
    ids = await store.recover_failed(tx, subscription_id, since, RECOVER_MAX)
    await store.enqueue_deliveries(tx, ids)
    return Recovered(queued=len(ids), remaining=await store.failed_count(tx, subscription_id, since))
