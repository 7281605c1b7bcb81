"""Rules of the app shell: what the service worker precaches and under which version, the manifest, 长辈版.

The service worker's version is a hash of everything it precaches (each static file's content hash, the
offline page's templates, the manifest) and of its own code, so any change to the shell makes the browser
install a new worker, which the pages then offer as "有新版本，点击更新".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

import msgspec
from jinja2 import Environment, FileSystemLoader, meta

import i18n
from app.shell.models import Display, Manifest, ManifestIcon, ManifestShortcut
from app.web.assets import StaticAssets
from auth.models import CurrentUser
from i18n import N_

PWA_DIR = Path(__file__).resolve().parents[2] / "pwa"
SERVICE_WORKER_SOURCE = PWA_DIR / "sw.js"
TEMPLATES_DIR = PWA_DIR / "templates"
OFFLINE_TEMPLATE = "offline.html"

# The app shell: every page's layout, styles and scripts, htmx and the icons. The QR decoder is not among them:
# it is loaded by /scan alone (and cached when it is).
PRECACHED_STATIC = ("*.css", "js/*.js", "vendor/htmx-*.js", "icons/*")
# Loaded by the worker itself (importScripts), not by pages.
WORKER_ONLY = frozenset({"js/sw-push.js"})
_MODULE_IMPORT = re.compile(r"""(?:from\s+|import\s*\(\s*)["']\./([\w.-]+\.js)["']""")

ELDER_COOKIE = "ywtb_elder"
TEXT_COOKIE = "ywtb_text"
TEXT_STEPS = 5  # 长辈版 text: 24, 28, 32, 36, 40 CSS px (18 to 30 pt)
PREFERENCE_MAX_AGE = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie

# A response header: this page may be kept by the service worker for reading offline (a resident's own case,
# receipt and form). Cleared from the device at sign-out.
OFFLINE_COPY_HEADER = "Ywtb-Offline"
OFFLINE_COPY = {OFFLINE_COPY_HEADER: "keep"}


def display_of(user: CurrentUser | None, cookies: Mapping[str, str]) -> Display:
    """The account's choice where it made one, else this device's (a cookie, so the first paint is right)."""
    chosen = user.elder_mode if user is not None else None
    elder = chosen if chosen is not None else cookies.get(ELDER_COOKIE) == "1"
    return Display(elder=elder, text_step=text_step_of(cookies.get(TEXT_COOKIE)), language=i18n.current_language())


def text_step_of(raw: str | int | None) -> int:
    try:
        step = int(raw or 0)
    except (TypeError, ValueError):
        return 0
    return min(max(step, 0), TEXT_STEPS - 1)


def manifest(assets: StaticAssets) -> Manifest:
    return Manifest(
        id="/",
        name=N_("常州一网通办"),
        short_name=N_("一网通办"),
        description=N_("一件事一次办：一张表申请，多个部门同时办理，进度随时查"),
        lang="zh-CN",
        dir="ltr",
        start_url="/",
        scope="/",
        display="standalone",
        orientation="any",
        theme_color="#0b57a4",
        background_color="#f5f7fa",
        categories=["government", "utilities"],
        icons=[
            ManifestIcon(src=assets.url("icons/icon-192.png"), sizes="192x192", type="image/png"),
            ManifestIcon(src=assets.url("icons/icon-512.png"), sizes="512x512", type="image/png"),
            ManifestIcon(
                src=assets.url("icons/icon-maskable-512.png"), sizes="512x512", type="image/png", purpose="maskable"
            ),
            ManifestIcon(src=assets.url("icons/icon.svg"), sizes="any", type="image/svg+xml"),
        ],
        shortcuts=[
            ManifestShortcut(name=N_("扫码查进度"), url="/scan"),
            ManifestShortcut(name=N_("我的办件"), url="/cases"),
        ],
    )


def _templates_of(env: Environment, name: str, seen: set[str]) -> set[str]:
    """A template and every template it extends, includes or imports, by name."""
    if name in seen:
        return seen
    seen.add(name)
    assert env.loader is not None
    source, _filename, _uptodate = env.loader.get_source(env, name)
    for child in meta.find_referenced_templates(env.parse(source)):
        if child is not None:
            _templates_of(env, child, seen)
    return seen


class ServiceWorker:
    """/sw.js: pwa/sw.js after a first line that names this version and what it precaches. Built once per process."""

    def __init__(self, assets: StaticAssets, templates_dir: Path = TEMPLATES_DIR) -> None:
        self._assets = assets
        self._templates_dir = templates_dir
        self._script: bytes | None = None
        self.version = ""

    def precache(self) -> list[str]:
        names = sorted({n for pattern in PRECACHED_STATIC for n in self._assets.names(pattern)} - WORKER_ONLY)
        urls = ["/offline", "/manifest.webmanifest", *(self._assets.url(n) for n in names)]
        # Modules imported by other modules are asked for without ?v=: keep them under that name too.
        imported = {m for n in names if n.endswith(".js") for m in _MODULE_IMPORT.findall(self._assets.read_text(n))}
        urls += [f"/static/js/{m}" for m in sorted(imported)]
        return urls

    def script(self) -> bytes:
        if self._script is None:
            self._script = self._build()
        return self._script

    def _build(self) -> bytes:
        source = SERVICE_WORKER_SOURCE.read_bytes()
        precache = self.precache()
        env = Environment(loader=FileSystemLoader(self._templates_dir), autoescape=True)
        templates = sorted(_templates_of(env, OFFLINE_TEMPLATE, set()))
        imports = [self._assets.url("js/sw-push.js"), self._assets.url("js/local-data.js")]
        digest = hashlib.sha256(source)
        for url in imports + precache:
            digest.update(url.encode())
            if url.startswith("/static/") and "?v=" not in url:
                digest.update(self._assets.version(url.removeprefix("/static/")).encode())
        for name in templates:
            digest.update(name.encode() + (self._templates_dir / name).read_bytes())
        digest.update(msgspec.json.encode(manifest(self._assets)))
        self.version = digest.hexdigest()[:12]
        shell = {
            "version": self.version,
            "precache": precache,
            "imports": imports,
        }
        head = f"const SHELL = {json.dumps(shell, ensure_ascii=False)};\n"
        return head.encode() + source
