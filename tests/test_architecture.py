"""The layers of docs/architecture.md, enforced: every import in app/, auth/, push/, hooks/, sms/, db/ and config/ is
read from the source (imports inside functions too), and a change that breaks a layer, reaches into another package's
store or closes an import cycle fails here, naming the file and the import.

Units are the top-level packages auth, push, hooks, sms, db and config, each feature package of app/ (app.cases,
app.people …) and each module directly in app/ (app.main, app.cli, app.errors …). The rules:

- config/ imports nothing of ours; db/ only config/; auth/, push/, hooks/ and sms/ only themselves, db/ and config/
  (never app/, nor each other), but for the worker process in push/ running hooks/' deliveries and sms/' texts;
- a store module (`store.py`, `*_store.py`: a table's SQL) is imported only from its own unit;
- no import cycle between units.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("app", "auth", "push", "hooks", "sms", "i18n", "db", "config")
# What each lower layer may import of ours (app/'s units may import any of these, and each other without cycles).
ALLOWED = {
    "config": {"config"},
    "db": {"db", "config"},
    # Texts in the reader's language: below everything that writes one (errors, notices, texts).
    "i18n": {"i18n", "config"},
    "auth": {"auth", "i18n", "db", "config"},
    # The worker process (push/worker.py) also runs the webhook deliveries' and the texts' entrypoints.
    "push": {"push", "hooks", "sms", "i18n", "db", "config"},
    "hooks": {"hooks", "db", "config"},
    "sms": {"sms", "i18n", "db", "config"},
}


def _modules(root: Path) -> dict[str, Path]:
    """Every module and package of ours below `root`, by dotted name."""
    found: dict[str, Path] = {}
    for top in ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(name: str, path: Path, known: set[str]) -> Iterator[tuple[int, str]]:
    """(line, module of ours) for every import in the file, wherever it stands. `from a.b import c` is a.b.c when
    that is a module (`from app.cases import store`), else a.b."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in ROOTS:
                yield node.lineno, target


def _unit(module: str) -> str:
    parts = module.split(".")
    return f"app.{parts[1]}" if parts[0] == "app" and len(parts) > 1 else parts[0]


def _is_store(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "store" or last.endswith("_store")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each group of units that import each other (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for other in sorted(edges.get(unit, ())):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == unit:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for unit in sorted(edges):
        if unit not in index:
            visit(unit)
    return [_cycle_in(group, edges) for group in groups]


def _cycle_in(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A path from the group's first unit back to it, inside the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        unit = frontier.pop(0)
        for other in sorted(edges.get(unit, set()) & members):
            if other == start:
                return [*paths[unit], start]
            if other not in paths:
                paths[other] = [*paths[unit], other]
                frontier.append(other)
    return group


def violations(root: Path) -> list[str]:
    """Every broken rule in the tree below `root`, one line each (empty: the layers hold)."""
    modules = _modules(root)
    known = set(modules)
    found: list[str] = []
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        unit, where = _unit(name), path.relative_to(root)
        for line, target in _imports(name, path, known):
            to = _unit(target)
            if unit in ALLOWED and to not in ALLOWED[unit]:
                found.append(f"{where}:{line} imports {target}: {unit}/ may import only {sorted(ALLOWED[unit])}")
            if _is_store(target) and to != unit:
                found.append(f"{where}:{line} imports {target}: another unit's store (ask its service)")
            if to != unit:
                edges.setdefault(unit, set()).add(to)
    found += ["import cycle: " + " → ".join(cycle) for cycle in _cycles(edges)]
    return found


# --- the tree as it is --------------------------------------------------------------------------------------------


def test_the_code_keeps_its_layers_its_stores_and_no_import_cycle() -> None:
    assert len(_modules(REPO)) > 100  # the walk found the code
    assert violations(REPO) == []


# --- each rule fails when broken (a small tree of our packages in tmp_path) ---------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for top in ROOTS:
        (root / top).mkdir(parents=True, exist_ok=True)
        (root / top / "__init__.py").touch()
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source, encoding="utf-8")
    return root


FINE = {
    "config/settings.py": "import os\n",
    "db/pool.py": "from config.settings import Settings\n",
    "auth/passkeys.py": "from db.pool import DB\n",
    "auth/credentials_store.py": "from db.pool import DB\n",
    "auth/ceremonies.py": "from auth import credentials_store\n",
    "push/store.py": "from db.pool import DB\n",
    "push/outbox.py": "from push import store\n",
    "app/errors.py": "",
    "app/people/store.py": "from db.pool import DB\n",
    "app/people/service.py": "from app.people import store\nfrom app.errors import NotFound\n",
    "app/cases/service.py": "from app.people import service\nfrom auth import ceremonies\nfrom push import outbox\n",
    "app/main.py": "from app.cases import service\n",
}


def test_a_tree_that_keeps_the_rules_passes(tmp_path: Path) -> None:
    assert violations(_tree(tmp_path, FINE)) == []


@pytest.mark.parametrize(
    ("file", "source", "broken"),
    [
        ("config/settings.py", "from db.pool import DB\n", "config/settings.py:1 imports db.pool: config/ may import"),
        ("db/pool.py", "from auth.passkeys import x\n", "db/pool.py:1 imports auth.passkeys: db/ may import"),
        ("auth/passkeys.py", "import app.errors\n", "auth/passkeys.py:1 imports app.errors: auth/ may import"),
        (
            "push/outbox.py",
            "def later():\n    from app.people import service\n",
            "push/outbox.py:2 imports app.people.service: push/ may import",
        ),
        (
            "push/outbox.py",
            "from auth import ceremonies\n",
            "push/outbox.py:1 imports auth.ceremonies: push/ may import",
        ),
        (
            "app/cases/service.py",
            "from app.people import store\n",
            "app/cases/service.py:1 imports app.people.store: another unit's store",
        ),
        (
            "app/cases/service.py",
            "from auth.credentials_store import find\n",
            "app/cases/service.py:1 imports auth.credentials_store: another unit's store",
        ),
        ("app/main.py", "import push.store\n", "app/main.py:1 imports push.store: another unit's store"),
        (
            "app/people/service.py",
            "from app.people import store\n\n\ndef f():\n    from app.cases import service\n",
            "import cycle: app.cases → app.people → app.cases",
        ),
        ("config/settings.py", "from . import other\n", None),
    ],
    ids=[
        "config-imports-db",
        "db-imports-auth",
        "auth-imports-app",
        "push-imports-app-in-a-function",
        "push-imports-auth",
        "feature-imports-another-features-store",
        "app-imports-auths-store",
        "composition-root-imports-a-store",
        "cycle-between-features",
        "relative-import-within-config",
    ],
)
def test_each_broken_rule_is_named(tmp_path: Path, file: str, source: str, broken: str | None) -> None:
    files = {**FINE, file: source}
    if broken is None:  # a relative import stays inside its package: allowed
        files["config/other.py"] = ""
        assert violations(_tree(tmp_path, files)) == []
        return
    found = violations(_tree(tmp_path, files))
    # A lower layer importing a higher one also closes a cycle (db → auth → db): that line comes as well.
    assert [v for v in found if v.startswith(broken)] == found[:1], found
