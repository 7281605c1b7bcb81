"""Rules of the app shell: what the service worker precaches and under which version, the manifest, 长辈版.

The service worker's version is a hash of everything it precaches (each static file's content hash, the
offline page's templates, the manifest) and of its own code, so any change to the shell makes the browser
install a new worker, which the pages then offer as "有新版本，点击更新".
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import msgspec
from jinja2 import Environment, FileSystemLoader, meta

import i18n
from app.shell.models import Display, Manifest, ManifestIcon, ManifestShortcut
from app.web.assets import StaticAssets, content_version
from auth.models import CurrentUser
from i18n import _

PWA_DIR = Path(__file__).resolve().parents[2] / "pwa"
SERVICE_WORKER_SOURCE = PWA_DIR / "sw.js"
TEMPLATES_DIR = PWA_DIR / "templates"
OFFLINE_TEMPLATE = "offline.html"
OFFLINE_PAGE = "/offline"

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
    """The manifest in the language of the request (an installed app keeps the names it was installed with)."""
    return Manifest(
        id="/",
        name=_("常州一网通办"),
        short_name=_("一网通办"),
        description=_("一件事一次办：一张表申请，多个部门同时办理，进度随时查"),
        lang=i18n.html_lang(),
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
            ManifestShortcut(name=_("扫码查进度"), url="/scan"),
            ManifestShortcut(name=_("我的办件"), url="/cases"),
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


def offline_url(language: str) -> str:
    """The offline page in one language: the worker keeps one per language and shows the one this device reads."""
    return f"{OFFLINE_PAGE}?lang={language}"


SCRIPT_MESSAGES_PATH = "/i18n/"


class ScriptMessages:
    """Our scripts' own texts, `t("中文")` in pwa/static/js and pwa/sw.js, in each language (i18n).

    Each language's table is a small script, /i18n/<language>.js?v=<its content hash>, that every page links before
    its own scripts (base.html: `<script id="i18n" src=… defer>`, run in order before our modules), so a browser
    fetches it once per release rather than with every page (issue 20: 25 KB of every English page), kept as
    immutable as a static file. The service worker precaches it with the shell (pages work offline) and imports every
    language's for its own texts. The texts are found as `make messages` finds them, once per process; a language's
    table holds only the texts it translates (the Chinese is the fallback)."""

    def __init__(self, assets: StaticAssets, worker_source: Path = SERVICE_WORKER_SOURCE) -> None:
        self._assets = assets
        self._worker_source = worker_source
        self._texts: tuple[str, ...] | None = None
        self._counted: frozenset[str] = frozenset()
        self._scripts: dict[str, bytes] = {}
        self._versions: dict[str, str] = {}

    def texts(self) -> tuple[str, ...]:
        """Every text, by its Chinese: a `t("…")`'s, and a `tn("…", "…", n)`'s singular (its message id)."""
        if self._texts is None:
            from babel.messages.extract import extract  # on first use: see i18n/translate.py

            sources = [self._assets.read_text(n) for n in self._assets.names("js/*.js")]
            sources.append(self._worker_source.read_text(encoding="utf-8"))
            found: set[str] = set()
            counted: set[str] = set()
            for source in sources:
                for _line, message, _comments, _context in extract(
                    "javascript", io.BytesIO(source.encode()), keywords={"t": None, "tn": (1, 2)}
                ):
                    text = message if isinstance(message, str) else message[0]
                    found.add(text)
                    if not isinstance(message, str):
                        counted.add(text)
            self._texts = tuple(sorted(found))
            self._counted = frozenset(counted)
        return self._texts

    def counted(self) -> frozenset[str]:
        """The texts that show a count (`tn`): their table entry is every form, in the catalogue's order."""
        self.texts()
        return self._counted

    def table(self, language: str) -> dict[str, str | list[str]]:
        """What `language` translates: a text's translation, or a count's text's forms (1 second, 2 seconds)."""
        table: dict[str, str | list[str]] = {}
        with i18n.use_language(language):
            for text in self.texts():
                if text in self.counted():
                    if (forms := i18n.plural_forms(language, text)) is not None:
                        table[text] = list(forms)
                elif (drawn := i18n.gettext(text)) != text:
                    table[text] = drawn
        return table

    def script(self, language: str) -> bytes:
        """/i18n/<language>.js: the table under its language in `self.ywtbScriptTexts` (the page's window, or the
        worker, which imports every language's), for pwa/static/js/i18n.js and pwa/sw.js. JSON is a script's
        literal; the language is one of ours (a code of letters)."""
        if language not in self._scripts:
            table = msgspec.json.encode(self.table(language))
            self._scripts[language] = b"(self.ywtbScriptTexts ??= {})." + language.encode() + b" = " + table + b";\n"
        return self._scripts[language]

    def version(self, language: str) -> str:
        """The script's content hash, as a static file's."""
        if language not in self._versions:
            self._versions[language] = content_version(self.script(language))
        return self._versions[language]

    def url(self, language: str | None = None) -> str:
        """The script's address in this release, `/i18n/en.js?v=…`: the request's language unless one is named."""
        chosen = language or i18n.current_language()
        return f"{SCRIPT_MESSAGES_PATH}{chosen}.js?v={self.version(chosen)}"

    @staticmethod
    def plural_rule(language: str | None = None) -> str:
        """Which form of a count's text each Intl.PluralRules category takes in the language (i18n.plural_indices),
        as JSON for the page's `data-plural` (an attribute: Jinja escapes it)."""
        return json.dumps(i18n.plural_indices(language or i18n.current_language()), sort_keys=True)


class ServiceWorker:
    """/sw.js: pwa/sw.js after a first line that names this version and what it precaches. Built once per process."""

    def __init__(
        self, assets: StaticAssets, templates_dir: Path = TEMPLATES_DIR, messages: ScriptMessages | None = None
    ) -> None:
        self._assets = assets
        self._templates_dir = templates_dir
        self._messages = messages or ScriptMessages(assets)
        self._script: bytes | None = None
        self.version = ""

    def precache(self) -> list[str]:
        names = sorted({n for pattern in PRECACHED_STATIC for n in self._assets.names(pattern)} - WORKER_ONLY)
        # The offline page and the worker's own texts in every language: a person who switches language offline
        # (or whose browser asks for English) meets the shell in theirs.
        per_language = [url for lang in i18n.LANGUAGES for url in (offline_url(lang), self._messages.url(lang))]
        urls = [*per_language, "/manifest.webmanifest", *(self._assets.url(n) for n in names)]
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
        # The worker's own texts: every language's script (the device's language is asked when a text is shown).
        texts = [self._messages.url(language) for language in i18n.LANGUAGES]
        imports = [self._assets.url("js/sw-push.js"), self._assets.url("js/local-data.js"), *texts]
        digest = hashlib.sha256(source)
        for url in imports + precache:
            digest.update(url.encode())
            if url.startswith("/static/") and "?v=" not in url:
                digest.update(self._assets.version(url.removeprefix("/static/")).encode())
        for name in templates:
            digest.update(name.encode() + (self._templates_dir / name).read_bytes())
        # A changed translation changes the offline page and the worker's texts: a new version too.
        for language in i18n.LANGUAGES:
            digest.update(language.encode() + self._messages.script(language) + i18n.catalogue_fingerprint(language))
        digest.update(msgspec.json.encode(manifest(self._assets)))
        self.version = digest.hexdigest()[:12]
        shell = {
            "version": self.version,
            "precache": precache,
            "imports": imports,
            # Per language: the offline page and the tag a notification is marked with.
            "offline": {language: offline_url(language) for language in i18n.LANGUAGES},
            "tags": {language: i18n.html_lang(language) for language in i18n.LANGUAGES},
            "default_language": i18n.DEFAULT_LANGUAGE,
        }
        head = f"const SHELL = {json.dumps(shell, ensure_ascii=False)};\n"
        return head.encode() + source
