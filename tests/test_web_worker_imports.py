"""A web worker's memory: it serves pages and enqueues jobs, but never runs a job nor sends a webhook, so it does not
import the job runner (pgqueuer) nor the HTTP client of the senders (aiohttp): about 15 MB of each worker's resident
memory (issue 20: peak RSS per web worker within 1.5× a bare Litestar app's). Nor does it load pydantic or attrs, nor
OpenTelemetry while tracing is off, which Litestar would load only because they are installed (app/web/absent.py):
about 12 MB more. Nor Babel's CLDR data (about 3.5 MB) while it draws pages in Chinese, nor Babel's catalogue tools
(about 0.5 MB) before it first reads a language's catalogue."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pgqueuer.adapters.persistence.qb import QueryQueueBuilder

from app.cli import WEB_APP
from db.enqueue import ENQUEUE_JOBS

ROOT = Path(__file__).resolve().parent.parent
# What only the workers (python -m app worker: push, texts, webhooks) need.
WORKER_ONLY = ("pgqueuer", "aiohttp", "pywebpush")
# What Litestar loads whenever it is installed, unless the web worker leaves it out.
LEFT_OUT = ("pydantic", "pydantic_core", "attr", "attrs", "opentelemetry")
# Imported where they are first used, on a rare page: Pillow (a helper's delegation, signed on the tablet); PyJWT (the
# data-exchange API's tokens, by a department's system).
ON_FIRST_USE = ("PIL", "jwt")


def _loaded_after_building(tmp_path: Path, factory: str, packages: tuple[str, ...], **env: str) -> tuple[set[str], str]:
    """The packages of `packages` loaded once a fresh process has built the app with `factory` ("module:function"),
    and the names of the app's plugins."""
    program = (
        # A package left out is in sys.modules as None (not installed, as far as imports go): not loaded.
        "loaded = {name.split('.')[0] for name, module in sys.modules.items() if module is not None}\n"
        f"print(' '.join(sorted(loaded & set({packages!r}))))\n"
        "print(' '.join(sorted(type(plugin).__name__ for plugin in app.plugins)))\n"
    )
    modules, plugins = [*_after_building(tmp_path, factory, program, **env).splitlines(), "", ""][:2]
    return set(modules.split()), plugins


def _after_building(tmp_path: Path, factory: str, program: str, **env: str) -> str:
    """What `program` prints in a fresh process once it has built the app (`app`) with `factory`
    ("module:function")."""
    module, function = factory.split(":")
    program = f"import sys, importlib\napp = getattr(importlib.import_module({module!r}), {function!r})()\n{program}"
    found = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env={
            **{key: value for key, value in os.environ.items() if not key.startswith("OTEL_")},
            "DATABASE_URL": "postgresql://127.0.0.1:9/none",
            "SECRET_KEY": "s" * 40,
            "DATA_DIR": str(tmp_path),
            **env,
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return found.stdout


def _loaded_in_a_web_worker(tmp_path: Path, packages: tuple[str, ...], **env: str) -> tuple[set[str], str]:
    """As `python -m app serve` builds the app in each worker (the factory WEB_APP names)."""
    return _loaded_after_building(tmp_path, WEB_APP, packages, **env)


def test_a_web_worker_loads_neither_pydantic_attrs_nor_opentelemetry(tmp_path: Path) -> None:
    loaded, plugins = _loaded_in_a_web_worker(tmp_path, (*LEFT_OUT, *WORKER_ONLY, *ON_FIRST_USE))
    assert loaded == set()
    assert "Pydantic" not in plugins and "AttrsSchemaPlugin" not in plugins
    assert "MsgspecDIPlugin" in plugins  # the app is built, with Litestar's own plugins


def test_a_web_worker_tracing_still_loads_opentelemetry(tmp_path: Path) -> None:
    loaded, plugins = _loaded_in_a_web_worker(tmp_path, LEFT_OUT, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert loaded == {"opentelemetry"}
    assert "OpenTelemetryPlugin" in plugins


def test_a_web_worker_compiles_every_page_in_chinese_without_babels_locale_data(tmp_path: Path) -> None:
    # Every page's layout folds the language's plural rule for the scripts (i18n.plural_indices) when it is compiled:
    # Chinese has one form, which needs no CLDR rule, so Babel's locale and global data (its caches) stay unloaded.
    program = (
        "from app.shell.service import TEMPLATES_DIR\n"
        "import babel.core, babel.localedata\n"
        "chinese = app.template_engine.environment_for('zh')\n"
        "names = [p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob('*.html')]\n"
        "for name in names:\n"
        "    chinese.get_template(name)\n"
        "print(len(names), sorted(babel.localedata._cache), babel.core._global_data is not None)\n"
    )
    compiled, locales, global_data = _after_building(tmp_path, WEB_APP, program).split(maxsplit=2)
    assert int(compiled) > 50  # the layout and the pages, not nothing
    assert (locales, global_data.strip()) == ("[]", "False")


def test_a_web_worker_reads_babels_catalogues_only_when_it_first_translates(tmp_path: Path) -> None:
    # babel.messages (the .po reader, the .mo writer, the scripts' text extractor: i18n/translate.py,
    # app/shell/service.py) is imported by the first text drawn in another language than Chinese, which it translates.
    program = (
        "import i18n\n"
        "def tools():\n"
        "    return sorted(name for name in sys.modules if name.startswith('babel.messages'))\n"
        "print(tools() == [], i18n.gettext_in('en', '首页'), 'babel.messages.pofile' in tools())\n"
    )
    assert _after_building(tmp_path, WEB_APP, program).split() == ["True", "Home", "True"]


# Every template compiled in each language; how many Jinja compiled rather than read back from the compiled copies.
_COMPILE_EVERY_PAGE = (
    "from app.shell.service import TEMPLATES_DIR\n"
    "from jinja2 import Environment\n"
    "from i18n import LANGUAGES\n"
    "compiled = []\n"
    "compile_source = Environment.compile\n"
    "Environment.compile = lambda self, *a, **k: compiled.append(a) or compile_source(self, *a, **k)\n"
    "for language in LANGUAGES:\n"
    "    environment = app.template_engine.environment_for(language)\n"
    "    for path in TEMPLATES_DIR.rglob('*.html'):\n"
    "        environment.get_template(path.relative_to(TEMPLATES_DIR).as_posix())\n"
    "print(len(compiled), app.state.release)\n"
)


def test_a_web_worker_reads_back_the_templates_another_compiled_for_its_release(tmp_path: Path) -> None:
    # Compiling a template takes several times the memory it keeps once compiled (about 7 MB for all of them, against
    # 1.5 MB read back): each is compiled once per release and language, in DATA_DIR, for every worker.
    first, release = _after_building(tmp_path, WEB_APP, _COMPILE_EVERY_PAGE).split()
    again, _ = _after_building(tmp_path, WEB_APP, _COMPILE_EVERY_PAGE).split()
    assert int(first) > 100  # the layout and the pages, in Chinese and in English
    assert int(again) == 0
    kept = tmp_path / "compiled-templates"
    assert [p.name for p in kept.iterdir()] == [release]
    assert sorted(p.name for p in (kept / release).iterdir()) == ["en", "zh"]


def test_a_page_is_drawn_when_its_compiled_copy_cannot_be_kept(tmp_path: Path) -> None:
    # A newer release's start removes this release's folder while its workers still serve (a restart on the same
    # host), or the disk is full: the template is compiled all the same, only not kept.
    program = (
        "import shutil\n"
        "environment = app.template_engine.environment_for('zh')\n"
        "shutil.rmtree(app.state.settings.data_dir / 'compiled-templates')\n"
        "print(environment.get_template('scan.html').name)\n"
    )
    assert _after_building(tmp_path, WEB_APP, program).strip() == "scan.html"


def test_serve_compiles_every_template_before_the_workers_start(tmp_path: Path) -> None:
    # `python -m app serve` runs it first (app/cli.py), in a process that then ends; an earlier release's go.
    earlier = tmp_path / "compiled-templates" / "0123456789abcdef" / "zh"
    earlier.mkdir(parents=True)
    env = {**os.environ, "DATABASE_URL": "postgresql://127.0.0.1:9/none", "SECRET_KEY": "s" * 40}
    command = [sys.executable, "-m", "app", "compile-templates"]
    subprocess.run(command, cwd=ROOT, env={**env, "DATA_DIR": str(tmp_path)}, check=True, capture_output=True)
    compiled, release = _after_building(tmp_path, WEB_APP, _COMPILE_EVERY_PAGE).split()
    assert compiled == "0"
    assert [p.name for p in (tmp_path / "compiled-templates").iterdir()] == [release]


def test_the_web_app_is_built_without_the_workers_libraries(tmp_path: Path) -> None:
    loaded, _ = _loaded_after_building(tmp_path, "app.main:create_app", WORKER_ONLY)
    assert loaded == set()


def test_the_enqueue_statement_is_still_pgqueuers() -> None:
    # Written out in db/enqueue.py so that web workers need not import pgqueuer; an upgrade that changes it fails here.
    def words(sql: str) -> list[str]:
        return sql.split()

    assert words(ENQUEUE_JOBS) == words(QueryQueueBuilder().build_enqueue_query("raise"))
