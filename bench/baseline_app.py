"""The baseline: the least a Litestar + asyncpg app can do for a status check — one indexed row as JSON.

Served by the same granian, with the same worker count, against the same database, so the ratio
between it and the real status check shows what our layers cost."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException


class Row(msgspec.Struct):
    case_no: str
    life_event_code: str


@asynccontextmanager
async def _pool(app: Litestar) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=10)
    try:
        yield
    finally:
        await app.state.pool.close()


@get("/row/{token:str}")
async def row(state: State, token: str) -> Row:
    record = await state.pool.fetchrow("SELECT case_no, life_event_code FROM cases WHERE tracking_token = $1", token)
    if record is None:
        raise NotFoundException()
    return Row(record["case_no"], record["life_event_code"])


def create_app() -> Litestar:
    return Litestar(route_handlers=[row], lifespan=[_pool])
