"""The check behind every request a helper makes for someone: a live delegation, in scope, in the
helper's own village. Decided here in the server from the database, never from what the page says."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException

from auth import store
from auth.audit import audit
from auth.models import CurrentUser
from db.pool import DB


async def require_delegation(
    db: DB,
    conn: ASGIConnection[Any, Any, Any, Any] | None,
    helper: CurrentUser,
    client_person_id: int | None,
    client_region: str | None,
    life_event_code: str | None,
) -> int:
    """The delegation id, or 403 (audited) when there is none that is live, in scope and in the village
    (`client_person_id` None: a number not in the register)."""
    reason = None
    if "helper" not in helper.roles:
        reason = "not a helper"
    elif client_person_id is None:
        reason = "not in the population register"
    elif not helper.region_code or client_region != helper.region_code:
        reason = "client outside the helper's village"
    else:
        row = await store.live_delegation(db, helper.account_id, client_person_id, life_event_code)
        if row is not None:
            return row["id"]
        reason = "no live delegation in scope"
    await audit(
        db,
        conn,
        "delegation.check",
        "forbidden",
        subject=f"person:{client_person_id or '-'}",
        reason=reason,
        life_event=life_event_code,
    )
    raise PermissionDeniedException("没有有效的代办授权（未授权、已过期、已撤销或超出授权范围）")
