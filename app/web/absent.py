"""Packages a web worker leaves unloaded although they are installed (issue 20: peak RSS per web worker within 1.5× a
bare Litestar app's).

Litestar 2 adds its pydantic plugin whenever `import pydantic` succeeds, its attrs plugin whenever `import attrs`
does, and looks for its OpenTelemetry plugin whenever `opentelemetry` imports; it has no setting to leave any out, and
treats a package that does not import as not installed (MissingDependencyException, an ImportError). pydantic is in the
environment only for the job runner (pgqueuer, in `python -m app worker`), attrs only for the webhook sender's HTTP
client (aiohttp, the same worker), and OpenTelemetry for tracing, which is on only when OTEL_EXPORTER_OTLP_ENDPOINT is
set (app/ops/tracing.py). A web worker validates with msgspec, has no attrs classes, and never needs any of them, so
its process answers "not installed" for them: about 12 MB of each worker's resident memory
(tests/test_web_worker_imports.py builds the app as a worker does).
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import cast

# pydantic_core is pydantic's compiled half: nothing of ours or Litestar's imports it alone. attrs installs two
# packages, `attr` and `attrs` (which imports `attr`).
NEVER_IN_A_WEB_WORKER = ("pydantic", "pydantic_core", "attr", "attrs")
# Tracing's packages, left out unless tracing is on.
TRACING = ("opentelemetry",)


def unused_by_web_workers(*, tracing_on: bool) -> tuple[str, ...]:
    return NEVER_IN_A_WEB_WORKER if tracing_on else (*NEVER_IN_A_WEB_WORKER, *TRACING)


def leave_out(packages: tuple[str, ...]) -> None:
    """From now on, this process answers as if `packages` were not installed: `import` raises ModuleNotFoundError (for
    their modules too) and `importlib.util.find_spec` returns None. That is Python's own mark for it, None in the
    module cache (the import system's reference, "The module cache"). Called in a web worker before the app is
    built; a package something has imported already (an instrumenting launcher) stays."""
    modules = cast("dict[str, ModuleType | None]", sys.modules)
    for name in packages:
        modules.setdefault(name, None)
