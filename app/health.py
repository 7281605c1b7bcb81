from __future__ import annotations

import msgspec
from litestar import get
from litestar.exceptions import ServiceUnavailableException

from app.web.params import Db
from auth.access import public


class Health(msgspec.Struct, frozen=True):
    status: str
    db: str


@get("/healthz", opt=public(), tags=["ops"], summary="Liveness and database check")
async def healthz(db: Db) -> Health:
    try:
        await db.fetchval("SELECT 1")
    except Exception as exc:  # any database failure means "not healthy", whatever its type
        raise ServiceUnavailableException("数据库不可用") from exc
    return Health(status="ok", db="ok")
