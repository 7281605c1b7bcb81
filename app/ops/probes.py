"""Health probes for load balancers and orchestrators (`/healthz` itself stays as it was, app/health.py).

- `/healthz/live`: the process answers. Nothing else is looked at: restarting a process because PostgreSQL is away
  would not bring PostgreSQL back.
- `/healthz/ready`: this process can serve — the database answers, every migration this code knows of is applied
  with its data step finished, and the push key (DATA_DIR/vapid_private_key.pem) is in place. 503 otherwise, so a
  load balancer sends residents elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import msgspec
from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.ops import store
from app.web.params import AppSettings, Db
from auth.access import public
from db.migrate import discover
from db.pool import DB, database_unavailable
from push.keys import KEY_FILE

# What this code expects of the schema: read once, the files do not change under a running process.
_MIGRATIONS = discover()
EXPECTED_VERSIONS = frozenset(m.version for m in _MIGRATIONS)
EXPECTED_DATA_STEPS = frozenset(m.version for m in _MIGRATIONS if m.data_step is not None)


class Live(msgspec.Struct, frozen=True):
    status: str


class Readiness(msgspec.Struct, frozen=True):
    status: str  # ready | not_ready
    database: str  # ok | unavailable
    migrations: str  # ok | pending | unknown (the database did not answer)
    push_key: str  # ok | missing

    @property
    def ready(self) -> bool:
        return self.status == "ready"


async def _migrations(db: DB) -> str:
    try:
        applied = await store.applied_migrations(db)
        steps = await store.finished_data_steps(db)
    except asyncpg.UndefinedTableError:  # a database never migrated
        return "pending"
    return "ok" if applied >= EXPECTED_VERSIONS and steps >= EXPECTED_DATA_STEPS else "pending"


async def readiness(db: DB, data_dir: Path) -> Readiness:
    push_key = "ok" if (data_dir / KEY_FILE).is_file() else "missing"
    try:
        migrations, database = await _migrations(db), "ok"
    except Exception as exc:
        if database_unavailable(exc) is None:
            raise
        migrations, database = "unknown", "unavailable"
    ready = database == "ok" and migrations == "ok" and push_key == "ok"
    return Readiness(
        status="ready" if ready else "not_ready", database=database, migrations=migrations, push_key=push_key
    )


@get("/healthz/live", opt=public(), tags=["ops"], summary="Liveness: the process answers")
async def live() -> Live:
    return Live(status="ok")


@get("/healthz/ready", opt=public(), tags=["ops"], summary="Readiness: database, migrations and push key")
async def ready(db: Db, settings: AppSettings) -> Response[Readiness]:
    """200 when this process can serve residents, else 503 naming what is missing."""
    found = await readiness(db, settings.data_dir)
    return Response(found, status_code=HTTP_200_OK if found.ready else HTTP_503_SERVICE_UNAVAILABLE)
