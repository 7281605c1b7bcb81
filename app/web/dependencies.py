"""How a route's dependencies (`db`, `settings`, `cipher`… : app/main.py) are resolved on every request.

Litestar resolves two or more dependencies of one route in an anyio task group, an asyncio task each: about 380
Python calls a request (issue 20: a tenth of the signed-in case page), to run side by side what cannot overlap. Ours
are plain functions that return what the app already holds, at once: nothing in them ever waits. So a batch of such
dependencies is resolved one after another, each by Litestar's own `resolve_dependency` (the same values, the same
clean-up of generators); a batch with a dependency that may wait (an async function or generator, a sync one sent to
a thread) is still resolved side by side by Litestar. The internals touched are Litestar 2's (pyproject pins < 3);
tests/test_dependencies_http.py fails when a release moves them. Upstream knows the cost: litestar-org/litestar#4563
("Optimize dependency resolution overhead (TaskGroup bottleneck)"); drop this once a release resolves them so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, cast

# Litestar has no public hook for how a route's dependencies are resolved: these are its own internals.
from litestar._kwargs import dependencies as litestar_dependencies
from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import DependencyContainer
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.connection import ASGIConnection
from litestar.di import Provide

Connection: TypeAlias = ASGIConnection[Any, Any, Any, Any]
# Their connections are annotated without type arguments.
_side_by_side = cast(
    "Callable[[KwargsModel, Connection, dict[str, Any]], Awaitable[DependencyCleanupGroup]]",
    KwargsModel.resolve_dependencies,  # pyright: ignore[reportUnknownMemberType]
)
_resolve_one = cast(
    "Callable[[DependencyContainer, Connection, dict[str, Any], DependencyCleanupGroup], Awaitable[None]]",
    litestar_dependencies.resolve_dependency,  # pyright: ignore[reportUnknownMemberType]
)


def resolve_plain_dependencies_in_turn() -> None:
    """From now on in this process, every route's batches of dependencies that return at once are resolved in turn,
    without a task group (create_app calls it; calling it again changes nothing)."""
    KwargsModel.resolve_dependencies = _resolve_in_turn  # type: ignore[method-assign]


async def _resolve_in_turn(self: KwargsModel, connection: Connection, kwargs: dict[str, Any]) -> DependencyCleanupGroup:
    batches: list[set[DependencyContainer]] = self.dependency_batches
    for batch in batches:
        for dependency in batch:
            if not _returns_at_once(dependency.provide):
                return await _side_by_side(self, connection, kwargs)
    cleanup_group = DependencyCleanupGroup()
    for batch in batches:  # in order: a batch may use what the one before it gave
        for dependency in batch:
            await _resolve_one(dependency, connection, kwargs, cleanup_group)
    return cleanup_group


def _returns_at_once(provide: Provide) -> bool:
    """A plain function called in the request's own task (not sent to a thread), its answer (or a sync generator's
    first value) there at once: nothing to wait for, so nothing to run beside it."""
    return provide.has_sync_callable and not provide.has_async_generator_dependency
