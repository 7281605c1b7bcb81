from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.web.params import Db
from auth.access import public


class Health(msgspec.Struct, frozen=True):
    status: str
    db: str


@get("/healthz", opt=public(), tags=["ops"], summary="Liveness and database check")
async def healthz(db: Db) -> Response[Health]:
    """JSON either way, for load balancers and orchestrators: 200 `ok`, or 503 while the database is away."""
    try:
        await db.fetchval("SELECT 1")
    except Exception:  # any database failure means "not healthy", whatever its type
        return Response(Health(status="unavailable", db="unavailable"), status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(Health(status="ok", db="ok"), status_code=HTTP_200_OK)
