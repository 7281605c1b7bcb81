"""The per-process cache (app/web/cache.py): one load per key however many ask at once, a bounded number of entries,
a failed or abandoned load never kept."""

from __future__ import annotations

import asyncio

import pytest

from app.web.cache import TtlCache

pytestmark = pytest.mark.anyio


async def test_callers_asking_at_once_share_one_load() -> None:
    cache: TtlCache[int] = TtlCache(60)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return 42

    assert await asyncio.gather(*(cache.get("k", load) for _ in range(10))) == [42] * 10
    assert loads == 1
    assert await cache.get("k", load) == 42 and loads == 1


async def test_past_its_bound_the_oldest_entry_goes() -> None:
    cache: TtlCache[str] = TtlCache(60, max_entries=2)
    loaded: list[str] = []

    def loader(key: str):
        async def load() -> str:
            loaded.append(key)
            return key

        return load

    for key in ("a", "b", "c", "a"):
        await cache.get(key, loader(key))
    assert loaded == ["a", "b", "c", "a"]  # a went when c came


async def test_a_failed_load_reaches_its_waiters_and_is_not_kept() -> None:
    cache: TtlCache[int] = TtlCache(60)

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise RuntimeError("database away")

    answers = await asyncio.gather(cache.get("k", failing), cache.get("k", failing), return_exceptions=True)
    assert all(isinstance(a, RuntimeError) for a in answers)

    async def working() -> int:
        return 7

    assert await cache.get("k", working) == 7


async def test_a_waiter_loads_it_itself_when_the_loader_goes_away() -> None:
    cache: TtlCache[int] = TtlCache(60)
    started = asyncio.Event()

    async def slow() -> int:
        started.set()
        await asyncio.sleep(10)
        return 1

    async def quick() -> int:
        return 2

    first = asyncio.create_task(cache.get("k", slow))
    await started.wait()
    second = asyncio.create_task(cache.get("k", quick))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == 2
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_with_stale_for_an_expired_entry_is_answered_at_once_while_one_load_replaces_it() -> None:
    cache: TtlCache[int] = TtlCache(0.05, stale_for=60)
    loads = 0
    release = asyncio.Event()

    async def load() -> int:
        nonlocal loads
        loads += 1
        if loads > 1:
            await release.wait()  # the reload takes its time
        return loads

    assert await cache.get("k", load) == 1
    await asyncio.sleep(0.06)  # past its time
    answers = await asyncio.gather(*(cache.get("k", load) for _ in range(5)))
    assert answers == [1] * 5 and loads == 2  # nobody waited; one reload began
    release.set()
    await asyncio.sleep(0.01)
    assert await cache.get("k", load) == 2 and loads == 2


async def test_a_failed_background_reload_keeps_the_stale_entry() -> None:
    cache: TtlCache[int] = TtlCache(0.01, stale_for=60)

    async def first() -> int:
        return 1

    async def failing() -> int:
        raise RuntimeError("database away")

    await cache.get("k", first)
    await asyncio.sleep(0.02)
    assert await cache.get("k", failing) == 1
    await asyncio.sleep(0.01)  # the reload failed (logged)
    assert await cache.get("k", failing) == 1
