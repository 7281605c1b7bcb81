"""Packages a web worker leaves unloaded although they are installed (issue 20: peak RSS per web worker within 1.5× a
bare Litestar app's).

Litestar 2 adds its pydantic plugin whenever `import pydantic` succeeds, and looks for its OpenTelemetry plugin
whenever `opentelemetry` imports; it has no setting to leave either out, and treats a package that does not import as
not installed (MissingDependencyException, an ImportError). pydantic is in the environment only for the job runner
(pgqueuer, in `python -m app worker`), and OpenTelemetry for tracing, which is on only when OTEL_EXPORTER_OTLP_ENDPOINT
is set (app/ops/tracing.py). A web worker validates with msgspec and never needs either, so its process answers
"not installed" for them: about 11 MB of each worker's resident memory. Anything that did import one there would
fail at once, naming this module (tests/test_web_worker_imports.py builds the app as a worker does).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

# pydantic_core is pydantic's compiled half: nothing of ours or Litestar's imports it alone.
NEVER_IN_A_WEB_WORKER = ("pydantic", "pydantic_core")
# Tracing's packages, left out unless tracing is on.
TRACING = ("opentelemetry",)


def unused_by_web_workers(*, tracing_on: bool) -> tuple[str, ...]:
    return NEVER_IN_A_WEB_WORKER if tracing_on else (*NEVER_IN_A_WEB_WORKER, *TRACING)


class _LeftOut(MetaPathFinder):
    """Asked first for every import: refuses the packages left out (and their modules), passes on everything else."""

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self.packages:
            raise ModuleNotFoundError(f"{fullname} is left out of web workers (app/web/absent.py)", name=fullname)
        return None


def leave_out(packages: tuple[str, ...]) -> None:
    """From now on, importing any of `packages` in this process fails as if it were not installed. Called in a web
    worker before the app is built; a package something has imported already (an instrumenting launcher) stays."""
    absent = tuple(name for name in packages if name not in sys.modules)
    if absent and not any(isinstance(finder, _LeftOut) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LeftOut(absent))
